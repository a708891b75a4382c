"""register_model and prelabel on the command line: run here, queue, and clear errors."""
from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from annotations.models import Annotation, Job, ModelVersion

from ..model_support import shapes_project

pytestmark = pytest.mark.django_db


def test_register_then_prelabel_here(owner, unet_checkpoint):
    project, _ = shapes_project(owner=owner, n=2)
    out = io.StringIO()
    call_command("register_model", str(project.pk), str(unet_checkpoint), "--name", "unet-cli", stdout=out)
    assert "3 class(es) mapped" in out.getvalue()
    call_command("prelabel", project.name, "--model", "unet-cli", "--images", "all", stdout=out)
    job = Job.objects.get(kind="prelabel")
    assert job.status == "succeeded" and "proposal(s) on 2 image(s)" in out.getvalue()
    assert Annotation.objects.filter(model_version__name="unet-cli", is_proposal=True).exists()


def test_prelabel_can_queue_instead(owner, unet_checkpoint):
    from workers.model_versions import model_version_register

    project, _ = shapes_project(owner=owner, n=1)
    version = model_version_register(project=project, checkpoint_path=unet_checkpoint, name="q")
    out = io.StringIO()
    call_command("prelabel", str(project.pk), "--model", str(version.pk), "--queue", stdout=out)
    job = Job.objects.get(kind="prelabel")
    assert out.getvalue().strip() == f"queued job {job.pk}" and job.status == "queued"  # on_commit never ran here


def test_unknown_versions_and_bad_image_lists_are_refused(owner, unet_checkpoint):
    project, _ = shapes_project(owner=owner, n=1)
    with pytest.raises(CommandError, match="no model version 'nope'"):
        call_command("prelabel", str(project.pk), "--model", "nope")
    call_command("register_model", str(project.pk), str(unet_checkpoint), "--name", "m", stdout=io.StringIO())
    with pytest.raises(CommandError, match="comma-separated"):
        call_command("prelabel", str(project.pk), "--model", "m", "--images", "1,x")
    assert not Job.objects.filter(kind="prelabel").exists()


def test_register_model_refuses_a_missing_file(owner, tmp_path):
    project, _ = shapes_project(owner=owner, n=1)
    with pytest.raises(CommandError, match="no such checkpoint file"):
        call_command("register_model", str(project.pk), str(tmp_path / "absent.pt"), "--name", "x")
    assert not ModelVersion.objects.exists()

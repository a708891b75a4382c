"""Train / evaluate / compare / next-image endpoints and the models page: who may, bad input changes nothing."""
from __future__ import annotations

import pytest

from annotations import services
from annotations.models import Image, Job, ModelVersion

from .support import approved_shapes

pytestmark = pytest.mark.django_db


@pytest.fixture
def shapes(owner, teammate):
    project, truths = approved_shapes(owner=owner, n=6, approve=4)
    services.membership_set(project=project, user=teammate, role="annotator")
    return project, truths


def _train(api, project, **body):
    return api.post(f"/api/projects/{project.pk}/train/", body, format="json")


def test_only_owners_start_training_and_outsiders_see_nothing(shapes, teammate_api, outsider_api):
    project, _ = shapes
    assert _train(teammate_api, project, arch="unet", epochs=1).status_code == 403
    assert _train(outsider_api, project, arch="unet", epochs=1).status_code == 404
    assert outsider_api.get(f"/api/projects/{project.pk}/models/compare/").status_code == 404
    assert outsider_api.get(f"/api/projects/{project.pk}/next-image/").status_code == 404
    assert not Job.objects.exists()


@pytest.mark.parametrize("body, words", [
    ({"arch": "unet"}, "budget"),
    ({"arch": "resnet", "epochs": 1}, "arch"),
    ({"epochs": 1}, "arch"),
    ({"arch": "unet", "epochs": 0}, "epochs"),
    ({"arch": "unet", "minutes": -1}, "minutes"),
    ({"arch": "unet", "epochs": 1, "image_size": 3}, "image_size"),
    ({"arch": "unet", "epochs": 1, "from_version": 999}, "not in project"),
    ({"arch": "unet", "epochs": 1, "val_fraction": 1.5}, "val_fraction"),
])
def test_bad_training_requests_are_refused_and_change_nothing(owner_api, shapes, body, words):
    project, _ = shapes
    response = _train(owner_api, project, **body)
    assert response.status_code in (400, 404), response.json()
    assert words in str(response.json())
    assert not Job.objects.exists() and not ModelVersion.objects.exists()


def test_training_needs_approved_images_and_a_free_name(owner, owner_api, shapes):
    project, _ = shapes
    ModelVersion.objects.create(project=project, name="taken", architecture="unet", class_mapping=[None, 1])
    assert "already has" in _train(owner_api, project, arch="unet", epochs=1, name="taken").json()["message"]
    Image.objects.filter(project=project).update(status="new")
    response = _train(owner_api, project, arch="unet", epochs=1)
    assert response.status_code == 400 and "approved" in response.json()["message"]
    assert not Job.objects.exists()


def test_mask_rcnn_needs_instance_classes(owner_api, shapes):
    project, _ = shapes  # semantic shapes only
    response = _train(owner_api, project, arch="maskrcnn", epochs=1)
    assert response.status_code == 400 and "instance" in response.json()["message"]


def test_fine_tuning_a_version_as_another_arch_is_refused(owner_api, shapes):
    project, _ = shapes
    version = ModelVersion.objects.create(project=project, name="u", architecture="unet", class_mapping=[None, 1])
    response = _train(owner_api, project, arch="segnet", epochs=1, from_version=version.pk)
    assert response.status_code == 400 and "fine-tuned" in response.json()["message"]


def test_evaluating_a_version_of_another_project_is_404(owner, owner_api, shapes):
    project, _ = shapes
    other, _ = approved_shapes(owner=owner, n=1, seed=8)
    foreign = ModelVersion.objects.create(project=other, name="x", architecture="unet", class_mapping=[None, 1])
    response = owner_api.post(f"/api/projects/{project.pk}/models/{foreign.pk}/evaluate/")
    assert response.status_code == 404 and not Job.objects.exists()


def test_a_training_start_is_a_queued_job(owner_api, shapes, settings):
    project, _ = shapes
    settings.LABELER_TASK_RUNNER = "tests.task_runner.QueueOnly"
    response = _train(owner_api, project, arch="unet", epochs=3, image_size=64)
    assert response.status_code == 202
    job = Job.objects.get()
    assert (job.kind, job.status, job.total) == ("train", "queued", 3)
    assert job.params == {"arch": "unet", "epochs": 3, "image_size": 64, "val_fraction": 0.2, "seed": 0}


def test_the_models_page_lists_versions_side_by_side(client, owner, shapes):
    project, _ = shapes
    ModelVersion.objects.create(project=project, name="alpha", architecture="unet", class_mapping=[None, 1],
                                metrics={"miou": 0.81234, "pixel_accuracy": 0.97, "metric_name": "mIoU", "per_class_iou": {"circle": 0.7}})
    ModelVersion.objects.create(project=project, name="beta", architecture="maskrcnn", class_mapping=[None, 1], metrics={"ap": 0.5})
    client.force_login(owner)
    page = client.get(f"/projects/{project.pk}/models/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "alpha" in html and "beta" in html and "0.812" in html and "IoU circle" in html


def test_next_image_refuses_an_after_that_only_looks_like_a_number(owner_api, shapes):
    project, _ = shapes
    response = owner_api.get(f"/api/projects/{project.pk}/next-image/", {"after": "²"})
    assert response.status_code == 400 and "after must be an image id" in response.json()["message"]


def test_a_seed_past_32_bits_is_refused_before_a_job_exists(owner_api, shapes):
    project, _ = shapes
    response = _train(owner_api, project, arch="unet", epochs=1, seed=2**64)
    assert response.status_code == 400 and response.json()["message"].startswith("seed:")
    assert not Job.objects.exists()

"""manage.py export_dataset / import_dataset: the same export and import as the Jobs, from a shell."""
from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.management import CommandError, call_command

from annotations import services
from annotations.models import Image

from .conftest import truth

pytestmark = pytest.mark.django_db


def test_export_and_import_commands_round_trip_void_crowd_and_stored_splits(lossless_project, owner, tmp_path):
    out = tmp_path / "set.zip"
    call_command("export_dataset", str(lossless_project.pk), "--format", "coco", "--out", str(out), "--with-images",
                 "--void-as-ignore", "--split", "stored", stdout=io.StringIO())
    with zipfile.ZipFile(out) as z:
        assert {n for n in z.namelist() if n.endswith(".json")} == {"annotations/instances_train.json", "annotations/instances_val.json"}
        assert any(c.get("void") for c in json.loads(z.read("annotations/instances_val.json"))["categories"])
    copy = services.project_create(name="copy", owner=owner)
    said = io.StringIO()
    call_command("import_dataset", str(copy.pk), str(out), "--format", "coco", "--no-thumbnails", stdout=said)
    assert "on 5 new and 0 existing image(s)" in said.getvalue()
    assert truth(copy) == truth(lossless_project)


def test_import_command_names_the_file_and_problem_of_a_bad_archive(project, tmp_path):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("annotations/instances_x.json", "{\"images\": [oops")
    with pytest.raises(CommandError, match="annotations/instances_x.json: not valid JSON"):
        call_command("import_dataset", str(project.pk), str(bad), "--format", "coco")
    assert not Image.objects.filter(project=project).exists()

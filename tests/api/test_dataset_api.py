"""Dataset export and import through the API: Jobs answered with 202, downloads for members only."""
from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from annotations import masks, services
from annotations.models import Annotation, Image, Job

from ..conftest import png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """POST, let the queued job run (in-process) as it would after commit, and return the job as the API shows it."""

    def post(client, url, data, fmt):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url, data, format=fmt)
        assert response.status_code == 202, response.json()
        return client.get(f"/api/jobs/{response.json()['id']}/").json()

    return post


@pytest.fixture
def labelled(project, owner, car, make_image):
    image = make_image(name="a.png")
    mask = masks.encode(np.pad(np.ones((4, 4), np.uint8), ((0, 44), (0, 60))))
    services.annotation_document_save(image=image, user=owner, version=0, annotations=[{"label_class": car.pk, "mask": mask}])
    return image


def test_a_member_starts_an_export_and_downloads_the_zip(teammate_api, project, labelled, run):
    job = run(teammate_api, f"/api/projects/{project.pk}/exports/", {"format": "coco", "split": "train=1"}, "json")
    assert job["kind"] == "export" and job["status"] == "succeeded" and job["progress"] == 1.0
    assert job["params"]["format"] == "coco" and job["download_url"] == f"/api/jobs/{job['id']}/download/"
    assert Job.objects.get(pk=job["id"]).result_file.name.startswith(f"exports/{project.pk}/")
    download = teammate_api.get(job["download_url"])
    assert download.status_code == 200
    with zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))) as z:
        document = json.loads(z.read("annotations/instances_train.json"))
    assert len(document["annotations"]) == 1


def test_outsiders_can_neither_export_nor_download(outsider_api, owner_api, project, labelled, run):
    assert outsider_api.post(f"/api/projects/{project.pk}/exports/", {"format": "voc"}, format="json").status_code == 404
    job = run(owner_api, f"/api/projects/{project.pk}/exports/", {"format": "voc"}, "json")
    assert job["status"] == "succeeded"
    assert outsider_api.get(f"/api/jobs/{job['id']}/download/").status_code == 404


def test_export_files_are_not_served_under_media(client, teammate, owner_api, project, labelled, run):
    job = Job.objects.get(pk=run(owner_api, f"/api/projects/{project.pk}/exports/", {"format": "coco"}, "json")["id"])
    assert job.result_file.name
    client.force_login(teammate)
    assert client.get(f"/media/{job.result_file.name}").status_code == 404


def test_bad_export_options_get_a_400_naming_them(owner_api, project, labelled):
    response = owner_api.post(f"/api/projects/{project.pk}/exports/", {"format": "coco", "split": "train=0.9"}, format="json")
    assert response.status_code == 400 and "add up to 1" in response.json()["message"]
    response = owner_api.post(f"/api/projects/{project.pk}/exports/", {"format": "yolo"}, format="json")
    assert response.status_code == 400 and response.json()["message"].startswith("format:")


def _coco_zip(annotations) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("images/b.png", png_bytes(64, 48, seed=9))
        z.writestr("annotations/instances_default.json", json.dumps({
            "images": [{"id": 1, "file_name": "b.png", "width": 64, "height": 48}],
            "categories": [{"id": 1, "name": "car"}], "annotations": annotations,
        }))
    buffer.seek(0)
    buffer.name = "dataset.zip"
    return buffer


def test_the_owner_imports_a_coco_zip_as_a_job(owner_api, project, car, run):
    archive = _coco_zip([{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[0, 0, 10, 0, 10, 10, 0, 10]]}])
    job = run(owner_api, f"/api/projects/{project.pk}/imports/", {"archive": archive, "format": "coco"}, "multipart")
    assert job["kind"] == "import_dataset" and job["status"] == "succeeded", job["message"]
    assert job["result"]["images_created"] == 1 and job["result"]["annotations"] == 1
    assert Annotation.objects.filter(image__project=project).count() == 1


def test_a_refused_import_fails_the_job_with_the_reason_and_changes_nothing(owner_api, project, car, run):
    archive = _coco_zip([{"id": 4, "image_id": 1, "category_id": 2, "segmentation": [[0, 0, 10, 0, 10, 10]]}])
    job = run(owner_api, f"/api/projects/{project.pk}/imports/", {"archive": archive, "format": "coco"}, "multipart")
    assert job["status"] == "failed" and "annotation 4 on image b.png: unknown category id 2" in job["message"]
    assert Image.objects.filter(project=project).count() == 0


def test_annotators_cannot_import(teammate_api, project, car):
    archive = _coco_zip([])
    response = teammate_api.post(f"/api/projects/{project.pk}/imports/", {"archive": archive, "format": "coco"}, format="multipart")
    assert response.status_code == 403

"""Media through Django's storage API on a real S3-compatible server (moto on loopback): uploads,
thumbnails, the member-only media view, export zips, dataset imports and model checkpoints live in
the bucket and nothing durable lands in the local media folder; a store that does not answer fails
the job with a message naming it and leaves nothing visible."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from annotations import masks, media, services
from annotations.exports import export_options, export_start
from annotations.models import Annotation, Image, Job
from labeler.redis_server import free_port
from labeler.settings import s3_media_backend

from .conftest import png_bytes
from .s3_support import bucket_keys, s3_env

pytestmark = pytest.mark.django_db


def _durable_local_files(settings) -> list[str]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.parts[len(root.parts)] in
                  {"images", "thumbnails", "exports", "models", "superpixels", "uploads"})


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def post(client, url, data, fmt):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url, data, format=fmt)
        assert response.status_code == 202, response.json()
        return Job.objects.get(pk=response.json()["id"])

    return post


def test_uploads_and_thumbnails_go_to_the_bucket_and_members_read_them_through_the_media_view(
    s3_media, settings, project, owner, outsider, owner_api, client, django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_api.post(f"/api/projects/{project.pk}/images/",
                                  {"files": [io.BytesIO(png_bytes(40, 30, seed=3))]}, format="multipart")
    assert response.status_code in (200, 201), response.json()
    image = Image.objects.get(project=project)
    keys = bucket_keys(s3_media["MEDIA_S3_ENDPOINT_URL"], s3_media["MEDIA_S3_BUCKET"])
    assert image.file.name in keys and image.thumbnail.name in keys, keys
    assert _durable_local_files(settings) == []
    body = owner_api.get(f"/api/images/{image.pk}/").json()
    assert body["url"] == f"/media/{image.file.name}"  # our view, never the bucket's address
    client.force_login(owner)
    served = client.get(body["url"])
    assert served.status_code == 200 and b"".join(served.streaming_content) == media.read_bytes(image.file.name)
    client.force_login(outsider)
    assert client.get(body["url"]).status_code == 404


def test_an_export_zip_is_stored_in_the_bucket_and_downloads_through_the_api(s3_media, settings, project, owner, car, make_image, owner_api, run):
    image = make_image(name="a.png")
    services.annotation_document_save(image=image, user=owner, version=0, annotations=[
        {"label_class": car.pk, "mask": masks.encode(np.pad(np.ones((4, 4), np.uint8), ((0, 44), (0, 60))))}])
    job = run(owner_api, f"/api/projects/{project.pk}/exports/", {"format": "coco", "with_images": True}, "json")
    assert job.status == "succeeded", job.message
    assert job.result_file.name in bucket_keys(s3_media["MEDIA_S3_ENDPOINT_URL"], s3_media["MEDIA_S3_BUCKET"], "exports/")
    response = owner_api.get(f"/api/jobs/{job.pk}/download/")
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as z:
        assert z.read("images/a.png") == media.read_bytes(image.file.name)
    assert _durable_local_files(settings) == []


def test_a_dataset_import_reads_its_upload_from_the_bucket_and_removes_it(s3_media, settings, project, car, owner_api, run):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("images/b.png", png_bytes(64, 48, seed=9))
        z.writestr("annotations/instances_default.json", json.dumps({
            "images": [{"id": 1, "file_name": "b.png", "width": 64, "height": 48}], "categories": [{"id": 1, "name": "car"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[0, 0, 10, 0, 10, 10, 0, 10]]}]}))
    buffer.seek(0)
    buffer.name = "dataset.zip"
    job = run(owner_api, f"/api/projects/{project.pk}/imports/", {"archive": buffer, "format": "coco"}, "multipart")
    assert job.status == "succeeded", job.message
    keys = bucket_keys(s3_media["MEDIA_S3_ENDPOINT_URL"], s3_media["MEDIA_S3_BUCKET"])
    image = Image.objects.get(project=project)
    assert image.file.name in keys and not [k for k in keys if k.startswith("tmp/")], keys  # the upload is gone
    assert Annotation.objects.filter(image=image).count() == 1 and _durable_local_files(settings) == []


def test_a_registered_checkpoint_is_stored_in_the_bucket_and_loads_from_it(s3_media, settings, project, unet_checkpoint):
    from workers.model_versions import load_model_version, model_version_register

    for i, name in enumerate(["circle", "rectangle", "triangle"]):
        services.label_class_create(project=project, name=name, kind="semantic", color=f"#ff000{i}")
    version = model_version_register(project=project, checkpoint_path=unet_checkpoint, name="unet-s3")
    assert version.checkpoint.name in bucket_keys(s3_media["MEDIA_S3_ENDPOINT_URL"], s3_media["MEDIA_S3_BUCKET"], "models/")
    model, spec = load_model_version(version)
    assert spec.arch == "unet" and _durable_local_files(settings) == []


def test_an_unreachable_store_fails_the_export_naming_the_store_and_leaves_no_zip(
    s3_media, settings, project, owner, car, make_image, django_capture_on_commit_callbacks,
):
    make_image(name="a.png")
    bucket = s3_media["MEDIA_S3_BUCKET"]
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings.STORAGES = {**settings.STORAGES, "default": s3_media_backend(s3_env(dead, bucket))}
    with django_capture_on_commit_callbacks(execute=True):
        job = export_start(project=project, user=owner, options=export_options(format="coco", with_images=True))
    job.refresh_from_db()
    assert job.status == "failed" and f"media store s3://{bucket} at {dead}" in job.message, job.message
    assert "a.png" in job.message or "images/" in job.message, job.message  # the file it was reading
    assert not job.result_file
    assert bucket_keys(s3_media["MEDIA_S3_ENDPOINT_URL"], bucket, "exports/") == []


def test_a_worker_refuses_to_start_with_credentials_the_store_refuses(s3_media, settings, tmp_path):
    """Wrong keys (a bucket these keys cannot see) stop the worker at start with the store's name."""
    import subprocess
    import sys

    env = {k: v for k, v in __import__("os").environ.items()}
    env.update(s3_env(s3_media["MEDIA_S3_ENDPOINT_URL"], "no-such-bucket-for-these-keys"), MEDIA_ROOT=str(tmp_path),
               DJANGO_SETTINGS_MODULE="labeler.settings", REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    done = subprocess.run([sys.executable, "-c", "import django; django.setup(); from workers.startup import _check_media_storage; "
                           "_check_media_storage()"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "cannot use the media storage" in done.stderr and "s3://no-such-bucket-for-these-keys" in done.stderr


def test_the_workers_local_cache_of_remote_files_stays_within_its_bound(s3_media, settings):
    settings.LABELER_MEDIA_CACHE_BYTES = 3 * 1000
    names = [media.save(f"images/cache/{i}.bin", bytes([i]) * 1000) for i in range(6)]
    for name in names:
        path = media.local_path(name)
        assert path.read_bytes() == media.read_bytes(name)
    cached = list((Path(settings.MEDIA_ROOT) / "cache").glob("*"))
    assert sum(p.stat().st_size for p in cached) <= 3 * 1000 and len(cached) == 3
    assert media.local_path(names[-1]).is_file()  # the most recent stay

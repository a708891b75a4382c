"""A pre-label job split into chunks (tasks run in-process, the chord applied here): the same
proposals as one chunk, done summed from the chunks, and a chunk that fails ends the Job failed
naming the image and the store."""
from __future__ import annotations

import pytest

from annotations.jobs import job_start
from annotations.models import Annotation, Job, JobChunk
from labeler.redis_server import free_port
from labeler.settings import s3_media_backend
from workers.model_versions import model_version_register

from ..model_support import shapes_project
from ..s3_support import s3_env

pytestmark = pytest.mark.django_db


def _run(project, version, capture) -> Job:
    with capture(execute=True):
        job = job_start(project=project, user=None, kind=Job.Kind.PRELABEL,
                        params={"model_version": version.pk, "images": "all", "score_threshold": 0.5})
    job.refresh_from_db()
    return job


def proposals_of(project) -> dict[tuple[int, int], list[str]]:
    out: dict[tuple[int, int], list[str]] = {}
    for image_id, class_id, rle in Annotation.objects.filter(image__project=project, source="model").values_list(
            "image_id", "label_class_id", "rle_counts"):
        out.setdefault((image_id, class_id), []).append(rle)
    return {k: sorted(v) for k, v in out.items()}


def test_a_job_in_chunks_writes_the_same_proposals_as_one_chunk_and_sums_its_progress(
    settings, owner, unet_checkpoint, django_capture_on_commit_callbacks,
):
    project, _ = shapes_project(owner=owner, n=8)
    version = model_version_register(project=project, checkpoint_path=unet_checkpoint, name="unet-c")
    settings.LABELER_PRELABEL_CHUNK = 256
    whole = _run(project, version, django_capture_on_commit_callbacks)
    assert whole.status == "succeeded" and whole.result["chunks"] == 1, whole.message
    expected = proposals_of(project)
    assert expected

    settings.LABELER_PRELABEL_CHUNK = 3
    chunked = _run(project, version, django_capture_on_commit_callbacks)
    assert chunked.status == "succeeded", chunked.message
    assert (chunked.done, chunked.total) == (8, 8) and chunked.result["images"] == 8 and chunked.result["chunks"] == 3
    assert list(JobChunk.objects.filter(job=chunked).values_list("total", "done", "status")) == [
        (3, 3, "succeeded"), (3, 3, "succeeded"), (2, 2, "succeeded")]
    assert chunked.result["proposals"] == whole.result["proposals"]
    assert proposals_of(project) == expected  # replaced, not duplicated


def test_a_chunk_whose_store_stops_answering_fails_the_job_naming_the_image_and_the_store(
    settings, s3_media, owner, unet_checkpoint, django_capture_on_commit_callbacks,
):
    project, _ = shapes_project(owner=owner, n=5)
    version = model_version_register(project=project, checkpoint_path=unet_checkpoint, name="unet-dead")
    version.refresh_from_db()
    from workers.model_versions import load_model_version

    load_model_version(version)  # the worker holds the model already; only the images are unreachable
    dead = f"http://127.0.0.1:{free_port()}"
    settings.STORAGES = {**settings.STORAGES, "default": s3_media_backend(s3_env(dead, s3_media["MEDIA_S3_BUCKET"]))}
    settings.LABELER_PRELABEL_CHUNK = 2
    job = _run(project, version, django_capture_on_commit_callbacks)
    assert job.status == "failed", job.message
    first = min(project.images.values_list("pk", flat=True))
    assert job.message.startswith(f"image {first} (images/"), job.message
    assert f"media store s3://{s3_media['MEDIA_S3_BUCKET']} at {dead}" in job.message, job.message
    assert Annotation.objects.filter(image__project=project).count() == 0
    assert JobChunk.objects.get(job=job, index=0).status == "failed"

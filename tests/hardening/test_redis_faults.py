"""The web tier with a broker that does not answer (Redis paused with SIGSTOP) or is gone (killed):
requests that need it answer 503 "the job queue is not answering" within seconds and fail the Job
they could not send; pages, saves and uploads go on; the embedded Redis keeps its data (AOF)."""
from __future__ import annotations

import time

import pytest

from annotations import masks
from annotations.models import Job, ModelVersion
from labeler.redis_server import free_port, start_redis
from tests.conftest import png_bytes

from .conftest import celery_broker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BOUND_S = 15  # socket timeouts of 2 s, one retry: well under this


@pytest.fixture
def broker(private_redis, settings):
    settings.LABELER_TASK_RUNNER = "annotations.jobs.CeleryRunner"
    with celery_broker(private_redis.url):
        yield private_redis


def _timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


@pytest.mark.parametrize("fault", ["pause", "kill"])
def test_a_job_start_answers_503_within_seconds_and_its_job_says_why(broker, fault, owner_api, project, car, image):
    getattr(broker, fault)()
    response, took = _timed(lambda: owner_api.post(f"/api/projects/{project.pk}/exports/", {"format": "coco"}, format="json"))
    assert response.status_code == 503 and took < BOUND_S, (response.status_code, took)
    assert response.json()["message"] == "the job queue is not answering"
    job = Job.objects.get(project=project, kind=Job.Kind.EXPORT)
    assert job.status == "failed" and job.message.startswith("the job queue is not answering")


def test_the_assist_answers_503_when_the_broker_is_paused(broker, owner_api, project, image):
    ModelVersion.objects.create(project=project, name="v1", architecture="unet", class_mapping=[None])
    broker.pause()
    response, took = _timed(lambda: owner_api.post(f"/api/images/{image.pk}/assist/", {"box": [2, 2, 20, 20]}, format="json"))
    assert response.status_code == 503 and took < BOUND_S, (response.status_code, took)
    assert response.json()["message"] == "the job queue is not answering"


def test_a_cancel_holds_when_the_broker_is_paused(broker, owner_api, project):
    job = Job.objects.create(project=project, kind=Job.Kind.EXPORT, celery_task_id="some-task")
    broker.pause()
    response, took = _timed(lambda: owner_api.post(f"/api/jobs/{job.pk}/cancel/"))
    assert response.status_code == 200 and took < BOUND_S
    job.refresh_from_db()
    assert job.status == "cancelled" and "the job queue is not answering" in job.message


def test_pages_saves_and_uploads_work_without_redis(broker, owner, owner_api, client, project, car, image):
    broker.kill()
    bitmap = __import__("numpy").zeros((48, 64), "uint8")
    bitmap[4:20, 4:30] = 1
    response, took = _timed(lambda: owner_api.put(f"/api/images/{image.pk}/annotations/", {
        "version": 0, "annotations": [{"label_class": car.pk, "mask": masks.encode(bitmap)}]}, format="json"))
    assert response.status_code == 200 and took < BOUND_S
    client.force_login(owner)
    for url in ("/", f"/projects/{project.pk}/", f"/projects/{project.pk}/images/{image.pk}/edit/", f"/projects/{project.pk}/models/"):
        assert client.get(url).status_code == 200, url
    upload = __import__("io").BytesIO(png_bytes(seed=99))
    upload.name = "new.png"
    response, took = _timed(lambda: owner_api.post(f"/api/projects/{project.pk}/images/", {"files": [upload]}, format="multipart"))
    assert response.status_code == 201 and took < BOUND_S, response.content
    thumbnails = Job.objects.get(pk=response.json()["thumbnail_job"])
    # Not what the request asked for: it waits, unsent, for a worker to start and send it again.
    assert (thumbnails.status, thumbnails.celery_task_id) == ("queued", "unsent")


def test_the_embedded_redis_keeps_queued_messages_when_it_is_killed(tmp_path):
    import redis

    port, directory = free_port(), tmp_path / "redis"
    process = start_redis(port=port, directory=directory, persist=True)
    client = redis.Redis(port=port)
    client.lpush("default", b'{"headers": {"id": "job-1"}}')
    time.sleep(1.5)  # appendfsync everysec
    process.kill()
    process.wait(timeout=10)
    process = start_redis(port=port, directory=directory, persist=True)
    try:
        assert redis.Redis(port=port).lrange("default", 0, -1) == [b'{"headers": {"id": "job-1"}}']
    finally:
        process.kill()
        process.wait(timeout=10)

"""Faults on the worker side, with a real redis-server and Celery worker: a task that kills its
worker is bounded, a killed export leaves no files, a message from another deployment or for a Job
of another kind is refused, a worker will not share another deployment's broker, and Jobs whose
message was lost are sent again when a worker starts."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest
from django.conf import settings

from annotations import masks, services
from annotations.exports import export_options
from annotations.jobs import CeleryRunner, deployment_id, job_start
from annotations.models import Job
from tests.integration.conftest import ROOT, Worker, wait_for_job
from workers.startup import DEPLOYMENT_KEY

from .conftest import celery_broker, worker_env
from .killer_tasks import KILLED_EXPORT_TASK, SELF_KILL_TASK

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture
def start_worker(private_redis, media, tmp_path, settings):
    """start_worker(**env) -> a worker on the test's own Redis; stopped after the test."""
    from django.db import connection

    started = []
    with celery_broker(private_redis.url, visibility_timeout=5):
        settings.LABELER_TASK_RUNNER = "annotations.jobs.CeleryRunner"

        def start(**extra: str) -> Worker:
            env = worker_env(connection.settings_dict, private_redis.url, media, **extra)
            worker = Worker(env, tmp_path / f"worker-{len(started)}.log", app_module="tests.hardening.worker_app")
            worker.start()
            started.append(worker)
            return worker

        yield start
        for worker in started:
            worker.stop()


def _wait(predicate, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} not reached within {timeout} s")


def test_a_task_that_kills_its_worker_fails_its_job_after_three_deaths_and_its_files_go(start_worker, project, owner, media):
    worker = start_worker(LABELER_STALE_TEMP_S="0")
    (media / "tmp" / "imports").mkdir(parents=True)
    (media / "tmp" / "imports" / "upload.zip").write_bytes(b"PK crafted")
    job = Job.objects.create(project=project, kind=Job.Kind.IMPORT_DATASET, created_by=owner,
                             params={"upload": "tmp/imports/upload.zip", "format": "coco"})
    Job.objects.filter(pk=job.pk).update(celery_task_id=CeleryRunner().send(SELF_KILL_TASK, job.pk))
    job = wait_for_job(job.pk, timeout=90)
    assert (job.status, job.message) == ("failed", "the worker died 3 times while running this job")
    assert "deliveries" not in job.result
    log = worker.log_path.read_text()
    assert log.count("WorkerLostError") + log.count("signal 9") >= 3
    assert not (media / "tmp" / "imports" / "upload.zip").exists()
    assert [p.name for p in (media / "tmp").iterdir()] == ["imports"]  # the three dead stagings are gone
    time.sleep(2)  # acknowledged: nothing comes back
    assert worker.process.poll() is None and "giving up" in worker.log_path.read_text()
    assert Job.objects.get(pk=job.pk).status == "failed"


def test_a_killed_export_leaves_no_part_file(start_worker, project, owner, car, make_image, media):
    start_worker(LABELER_STALE_TEMP_S="0")
    for _ in range(3):
        image = make_image()
        bitmap = masks.decode(masks.encode(__import__("numpy").ones((48, 64), "uint8")))
        services.annotation_document_save(image=image, user=owner, version=0,
                                          annotations=[{"label_class": car.pk, "mask": masks.encode(bitmap)}])
    job = Job.objects.create(project=project, kind=Job.Kind.EXPORT, created_by=owner,
                             params=export_options(format="coco", with_images=True).as_params())
    CeleryRunner().send(KILLED_EXPORT_TASK, job.pk)
    job = wait_for_job(job.pk, timeout=90)
    assert job.status == "failed" and "died 3 times" in job.message
    assert list((media / "exports").rglob("*")) in ([], [media / "exports" / str(project.pk)])


def test_a_message_from_another_deployment_is_refused(start_worker, project, private_redis):
    start_worker()
    job = Job.objects.create(project=project, kind=Job.Kind.THUMBNAILS, params={"image_ids": []})
    from labeler.celery import app

    app.send_task("workers.default.thumbnails", args=[job.pk], kwargs={"deployment": "someone-else"})
    time.sleep(3)
    job.refresh_from_db()
    assert (job.status, job.started_at) == ("queued", None)
    ours = job_start(project=project, user=None, kind=Job.Kind.THUMBNAILS, params={"image_ids": []})
    assert wait_for_job(ours.pk).status == "succeeded"


def test_a_worker_will_not_share_the_broker_of_another_deployment(private_redis, media, tmp_path):
    from django.db import connection

    import redis

    redis.Redis.from_url(private_redis.url).set(DEPLOYMENT_KEY, "another-checkout")
    env = worker_env(connection.settings_dict, private_redis.url, media)
    done = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "labeler", "worker", "-Q", "default", "-c", "1", "--without-gossip",
         "--without-mingle"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode != 0
    assert "is used by another labeler deployment (another-checkout" in done.stdout + done.stderr


def test_a_queued_job_whose_message_was_lost_is_sent_again_when_a_worker_starts(start_worker, project, private_redis):
    import redis

    lost = Job.objects.create(project=project, kind=Job.Kind.THUMBNAILS, params={"image_ids": []}, celery_task_id="gone-with-redis")
    unsent = Job.objects.create(project=project, kind=Job.Kind.THUMBNAILS, params={"image_ids": []}, celery_task_id="unsent")
    here = Job.objects.create(project=project, kind=Job.Kind.THUMBNAILS, params={"image_ids": []})  # a command runs it
    assert redis.Redis.from_url(private_redis.url).llen("default") == 0
    start_worker()
    assert wait_for_job(lost.pk).status == "succeeded"
    assert wait_for_job(unsent.pk).status == "succeeded"
    assert Job.objects.get(pk=here.pk).status == "queued"
    assert deployment_id() == redis.Redis.from_url(private_redis.url).get(DEPLOYMENT_KEY).decode()
    assert settings.LABELER_MAX_DELIVERIES == 3

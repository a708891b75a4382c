"""Job tasks (workers/tasks.py): what is retried, what is not, and which jobs a task refuses.

Each task here is declared with the same `job_task` decorator as the real ones and run through
Celery's own `apply`, so the retry path is Celery's, not a stand-in.
"""
from __future__ import annotations

import pytest
from django.db import OperationalError

from annotations.errors import ValidationFailed
from annotations.jobs import JobReporter, job_body
from annotations.models import Job
from workers.tasks import job_task
from workers.thumbnail_job import run_thumbnails

pytestmark = pytest.mark.django_db

attempts: list[int] = []
failures_left = [0]


@job_body(Job.Kind.THUMBNAILS)
def _flaky_body(job: Job, reporter: JobReporter) -> None:
    attempts.append(job.pk)
    if failures_left[0] > 0:
        failures_left[0] -= 1
        raise OperationalError("database is locked")
    reporter.succeed(result={"attempts": len(attempts)})


@job_body(Job.Kind.THUMBNAILS)
def _refusing_body(job: Job, reporter: JobReporter) -> None:
    attempts.append(job.pk)
    raise ValidationFailed("image 7 is not in this project")


@job_task("tests.default.flaky")
def flaky():
    return _flaky_body


@job_task("tests.default.refusing")
def refusing():
    return _refusing_body


@pytest.fixture
def thumbnail_job(project) -> Job:
    attempts.clear()
    return Job.objects.create(project=project, kind=Job.Kind.THUMBNAILS, params={"image_ids": []})


def test_a_task_that_fails_twice_transiently_then_succeeds_ends_succeeded(thumbnail_job):
    failures_left[0] = 2
    flaky.apply(args=[thumbnail_job.pk])
    thumbnail_job.refresh_from_db()
    assert len(attempts) == 3
    assert thumbnail_job.status == Job.Status.SUCCEEDED and thumbnail_job.result == {"attempts": 3}


def test_a_task_that_always_fails_transiently_ends_failed_after_the_limit(thumbnail_job):
    failures_left[0] = 1_000
    flaky.apply(args=[thumbnail_job.pk])
    thumbnail_job.refresh_from_db()
    assert len(attempts) == flaky.max_retries + 1 == 4  # bounded: no loop
    assert thumbnail_job.status == Job.Status.FAILED
    assert thumbnail_job.message == "gave up after 4 attempts; last error: OperationalError: database is locked"


def test_a_refusal_is_not_retried_and_its_message_reaches_the_job(thumbnail_job):
    refusing.apply(args=[thumbnail_job.pk])
    thumbnail_job.refresh_from_db()
    assert attempts == [thumbnail_job.pk]
    assert (thumbnail_job.status, thumbnail_job.message) == (Job.Status.FAILED, "image 7 is not in this project")


def test_a_task_leaves_a_job_of_another_kind_alone(project):
    train = Job.objects.create(project=project, kind=Job.Kind.TRAIN, params={"arch": "unet", "epochs": 1})
    run_thumbnails(train.pk)
    train.refresh_from_db()
    assert (train.status, train.message, train.result, train.started_at) == (Job.Status.QUEUED, "", {}, None)


def test_a_task_sent_an_unknown_job_id_does_nothing(project):
    run_thumbnails(987_654)
    assert not Job.objects.exists()


def test_every_job_kind_has_a_registered_task_on_its_queue():
    from annotations.jobs import TASKS
    from labeler.celery import app

    import workers.tasks  # noqa: F401

    assert set(TASKS) == set(Job.Kind.values) - {Job.Kind.IMPORT_IMAGES}  # images upload in the request
    for kind, name in TASKS.items():
        task = app.tasks[name]
        assert task.acks_late and task.max_retries == 3, kind
        assert app.amqp.router.route({}, name)["queue"].name == name.split(".")[1]


@pytest.mark.parametrize("error,kept", [(None, False), (ValidationFailed("bad zip"), False), (OperationalError("locked"), True)])
def test_an_upload_is_removed_after_its_job_ran_unless_the_task_runs_again(project, settings, tmp_path, error, kept):
    from workers.temp_files import upload_used

    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "tmp" / "imports").mkdir(parents=True)
    upload = tmp_path / "tmp" / "imports" / "a.zip"
    upload.write_bytes(b"zip")
    job = Job.objects.create(project=project, kind=Job.Kind.IMPORT_DATASET, params={"upload": "tmp/imports/a.zip"})
    try:
        with upload_used(job) as path:
            assert path == upload
            if error is not None:
                raise error
    except type(error) if error is not None else ():
        pass
    assert upload.exists() is kept


def test_a_waiting_task_that_nobody_answers_names_its_queue(monkeypatch):
    from celery.exceptions import TimeoutError as CeleryTimeout

    from annotations.errors import DomainError
    from annotations.jobs import CeleryRunner
    from labeler.celery import app

    class Unanswered:
        def get(self, timeout):
            raise CeleryTimeout("no answer")

        def forget(self):
            pass

    monkeypatch.setattr(app, "send_task", lambda *args, **kwargs: Unanswered())
    with pytest.raises(DomainError, match=r"^no default worker answered within 2 s"):
        CeleryRunner().call("workers.default.grabcut", [1], timeout_s=2)
    with pytest.raises(DomainError, match=r"^no gpu worker answered within 2 s"):
        CeleryRunner().call("workers.gpu.assist", [1], timeout_s=2)

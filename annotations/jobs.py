"""Jobs: long work (thumbnails, import, export, pre-label, train) as Celery tasks tracked in a row.

The web side creates the row and enqueues the task by name after the transaction commits (the
worker must see the row), so it never imports the worker code. The worker side reports through
`JobReporter`: running, progress, cancellation checks, success or failure.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from .errors import Conflict, DomainError
from .models import Job, Project

log = logging.getLogger(__name__)


def _enqueue(job_id: int, task: str) -> None:
    from labeler.celery import app

    if settings.CELERY_TASK_ALWAYS_EAGER:
        # Eager mode (unit tests, no broker): run in-process, the way a worker would.
        import workers.tasks  # noqa: F401  registers the tasks

        app.tasks[task].apply(args=[job_id])
        return
    try:
        result = app.send_task(
            task, args=[job_id], ignore_result=True, retry_policy={"max_retries": 2, "interval_start": 0.2},
        )
    except Exception as exc:  # broker down: the job must say so instead of waiting forever
        log.exception("could not queue job %s", job_id)
        Job.objects.filter(pk=job_id).update(
            status=Job.Status.FAILED, finished_at=timezone.now(),
            message=f"could not reach the task queue at {settings.CELERY_BROKER_URL}: {exc}",
        )
        return
    Job.objects.filter(pk=job_id).update(celery_task_id=result.id)


@transaction.atomic
def job_start(
    *, project: Project, user: AbstractBaseUser | None, kind: str, task: str, params: dict[str, Any] | None = None,
    total: int = 0,
) -> Job:
    job = Job.objects.create(project=project, kind=kind, params=params or {}, total=total, created_by=user)
    transaction.on_commit(lambda: _enqueue(job.pk, task))
    return job


@transaction.atomic
def job_cancel(*, job: Job) -> Job:
    job = Job.objects.select_for_update().get(pk=job.pk)
    if job.is_finished:
        raise Conflict(f"job {job.pk} already ended ({job.status})", status=job.status)
    job.status = Job.Status.CANCELLED
    job.finished_at = timezone.now()
    job.message = "cancelled"
    job.save(update_fields=["status", "finished_at", "message"])
    if job.celery_task_id:
        from labeler.celery import app

        # A queued task is dropped; a running one sees the status at its next progress report.
        app.control.revoke(job.celery_task_id)
    return job


class JobCancelled(Exception):
    """Raised inside a task when its job was cancelled; the task stops cleanly."""


class JobReporter:
    """What a task uses to report on its Job row. Progress writes are cheap single-row updates."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id

    @property
    def job(self) -> Job:
        return Job.objects.get(pk=self.job_id)

    def start(self, *, total: int | None = None) -> Job | None:
        """Mark running; returns None when the job is already finished or cancelled (nothing to do)."""
        job = self.job
        if job.is_finished:
            return None
        fields: dict[str, Any] = {"status": Job.Status.RUNNING, "started_at": timezone.now(), "message": ""}
        if total is not None:
            fields["total"] = total
            fields["done"] = 0
        Job.objects.filter(pk=self.job_id).exclude(status=Job.Status.CANCELLED).update(**fields)
        return self.job

    def progress(self, *, done: int, total: int | None = None, message: str | None = None) -> None:
        """Record progress; raise JobCancelled when someone cancelled the job."""
        fields: dict[str, Any] = {"done": done}
        if total is not None:
            fields["total"] = total
        if message is not None:
            fields["message"] = message
        updated = Job.objects.filter(pk=self.job_id).exclude(status=Job.Status.CANCELLED).update(**fields)
        if not updated:
            raise JobCancelled(self.job_id)

    def check_cancelled(self) -> None:
        if Job.objects.filter(pk=self.job_id, status=Job.Status.CANCELLED).exists():
            raise JobCancelled(self.job_id)

    def succeed(self, *, result: dict[str, Any] | None = None, result_file: str = "", message: str = "") -> None:
        fields: dict[str, Any] = {"status": Job.Status.SUCCEEDED, "finished_at": timezone.now(), "message": message}
        if result is not None:
            fields["result"] = result
        if result_file:
            fields["result_file"] = result_file
        Job.objects.filter(pk=self.job_id).exclude(status=Job.Status.CANCELLED).update(**fields)

    @contextmanager
    def outcome(self, *, on_cancel: Callable[[], None] | None = None) -> Iterator[None]:
        """Wrap a task body so the Job row always says how it ended.

        A cancel ends the body quietly; a refusal (DomainError) fails the job with its message; any
        other exception is logged and fails it with its type and text. Nothing is re-raised: with
        acks_late the task is then acknowledged, and the Job row is where people look.
        """
        try:
            yield
        except JobCancelled:
            log.info("job %s cancelled", self.job_id)
            if on_cancel is not None:
                on_cancel()
        except DomainError as exc:
            self.fail(message=exc.message)
        except Exception as exc:
            log.exception("job %s failed", self.job_id)
            self.fail(message=f"{type(exc).__name__}: {exc}")

    def fail(self, *, message: str) -> None:
        Job.objects.filter(pk=self.job_id).exclude(status=Job.Status.CANCELLED).update(
            status=Job.Status.FAILED, finished_at=timezone.now(), message=message[:10_000],
        )

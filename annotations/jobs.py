"""Jobs: long work (thumbnails, import, export, pre-label, train) as Celery tasks tracked in a row.

Owns three things:
- **Which task runs a kind of Job** (`TASKS`), so a caller starts a Job by its kind alone.
- **How a task is sent** (`TaskRunner`): the web side creates the row and hands the task's name to
  the runner after the transaction commits (the worker must see the row). The runner is chosen by
  `settings.LABELER_TASK_RUNNER`: Celery in production; tests point it at an in-process runner
  kept under `tests/`, and the ML commands pass one that runs the body here. This module never
  imports the worker code, so the web process stays free of torch.
- **How a task body reports** (`JobReporter`, `job_body`): running, progress, cancellation checks,
  success or failure, each a cheap single-row update.
"""
from __future__ import annotations

import functools
import logging
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Protocol

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from .errors import Conflict, DomainError
from .models import Job, Project

log = logging.getLogger(__name__)

# The task that runs each kind of Job. The name's middle part is its queue (labeler/celery.py
# routes by that prefix, the one routing rule): gpu work never lands on a CPU-only worker.
TASKS: dict[str, str] = {
    Job.Kind.THUMBNAILS: "workers.default.thumbnails",
    Job.Kind.EXPORT: "workers.default.export_dataset",
    Job.Kind.IMPORT_DATASET: "workers.default.import_dataset",
    Job.Kind.PRELABEL: "workers.gpu.prelabel",
    Job.Kind.TRAIN: "workers.gpu.train",
    Job.Kind.EVALUATE: "workers.gpu.evaluate",
    Job.Kind.REGISTER_MODEL: "workers.gpu.register_model",
}
ASSIST_TASK = "workers.gpu.assist"

# Errors that say "not now" rather than "never": the database went away or was locked for longer
# than its timeout. A task body that meets one is retried (workers/tasks.py); any other error ends
# the Job with its message at once, since running it again would fail the same way.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)


class TaskRunner(Protocol):
    def send(self, task: str, job_id: int) -> str | None:
        """Queue `task` for the Job; returns the broker's task id, if there is one."""

    def call(self, task: str, args: list[Any], *, timeout_s: float) -> Any:
        """Run `task` and wait for its answer (the assist, which a request waits on)."""


class CeleryRunner:
    """Sends tasks by name through the Celery app (labeler/celery.py) without importing them."""

    def send(self, task: str, job_id: int) -> str | None:
        from labeler.celery import app

        result = app.send_task(task, args=[job_id], ignore_result=True, retry_policy={"max_retries": 2, "interval_start": 0.2})
        return result.id

    def call(self, task: str, args: list[Any], *, timeout_s: float) -> Any:
        from labeler.celery import app

        result = app.send_task(task, args=args)
        try:
            return result.get(timeout=timeout_s)
        except Exception as exc:
            result.forget()
            raise DomainError(f"no gpu worker answered within {timeout_s:g} s ({type(exc).__name__})") from None


def task_runner() -> TaskRunner:
    return import_string(settings.LABELER_TASK_RUNNER)()


def _send(job_id: int, task: str, runner: TaskRunner) -> None:
    try:
        task_id = runner.send(task, job_id)
    except Exception as exc:  # broker down: the job must say so instead of waiting forever
        log.exception("could not queue job %s", job_id)
        Job.objects.filter(pk=job_id).update(
            status=Job.Status.FAILED, finished_at=timezone.now(),
            message=f"could not reach the task queue at {settings.CELERY_BROKER_URL}: {exc}",
        )
        return
    if task_id:
        Job.objects.filter(pk=job_id).update(celery_task_id=task_id)


@transaction.atomic
def job_start(
    *, project: Project, user: AbstractBaseUser | None, kind: str, params: dict[str, Any] | None = None,
    total: int = 0, runner: TaskRunner | None = None,
) -> Job:
    """Create the Job row and send its kind's task once the row is committed."""
    if kind not in TASKS:
        raise ValueError(f"no task runs jobs of kind {kind!r}")
    job = Job.objects.create(project=project, kind=kind, params=params or {}, total=total, created_by=user)
    chosen = runner or task_runner()
    transaction.on_commit(lambda: _send(job.pk, TASKS[kind], chosen))
    return job


def task_call(task: str, args: list[Any], *, timeout_s: float) -> Any:
    """Run a task that a request waits on (no Job row) and return its answer."""
    return task_runner().call(task, args, timeout_s=timeout_s)


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

    def start(self, *, kind: str | None = None, total: int | None = None) -> Job | None:
        """Mark running; returns None when there is nothing to do: the job is already finished or
        cancelled, or (given `kind`) it is not a job of that kind, which is then refused."""
        job = Job.objects.filter(pk=self.job_id).first()
        if job is None:
            log.warning("job %s does not exist here; nothing to do", self.job_id)
            return None
        if job.is_finished:
            return None
        if kind is not None and job.kind != kind:
            log.error("job %s is a %s job, not %s; refused", self.job_id, job.kind, kind)
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

        A cancel ends the body quietly; a refusal (DomainError) fails the job with its message; a
        transient error (TRANSIENT_ERRORS) is re-raised for the task's retry policy to decide; any
        other exception is logged and fails the job with its type and text, and is not re-raised:
        with acks_late the task is then acknowledged, and the Job row is where people look.
        """
        try:
            yield
        except JobCancelled:
            log.info("job %s cancelled", self.job_id)
            if on_cancel is not None:
                on_cancel()
        except DomainError as exc:
            self.fail(message=exc.message)
        except TRANSIENT_ERRORS:
            raise
        except Exception as exc:
            log.exception("job %s failed", self.job_id)
            self.fail(message=f"{type(exc).__name__}: {exc}")

    def note(self, *, message: str) -> None:
        """A message on a job still running (a retry after a transient error, say)."""
        Job.objects.filter(pk=self.job_id).exclude(status=Job.Status.CANCELLED).update(message=message[:10_000])

    def fail(self, *, message: str) -> None:
        Job.objects.filter(pk=self.job_id).exclude(status=Job.Status.CANCELLED).update(
            status=Job.Status.FAILED, finished_at=timezone.now(), message=message[:10_000],
        )


JobBody = Callable[[Job, JobReporter], None]


def job_body(
    kind: str, *, total: int | None = None, on_cancel: Callable[[Job], None] | None = None,
) -> Callable[[JobBody], Callable[[int], None]]:
    """Turn `body(job, reporter)` into `run(job_id)`: the prologue every task body shares.

    The Job is marked running (with `total`, when the kind knows it up front); a job that is
    finished, cancelled, missing or of another kind is left alone; the body runs inside
    `JobReporter.outcome`, so the row always says how it ended. `on_cancel(job)` cleans up.
    """

    def decorate(body: JobBody) -> Callable[[int], None]:
        @functools.wraps(body)
        def run(job_id: int) -> None:
            reporter = JobReporter(job_id)
            job = reporter.start(kind=kind, total=total)
            if job is None:
                return
            with reporter.outcome(on_cancel=(lambda: on_cancel(job)) if on_cancel else None):
                body(job, reporter)

        return run

    return decorate

"""Jobs: long work (thumbnails, import, export, pre-label, train) as Celery tasks tracked in a row.

Owns three things:
- **Which task runs a kind of Job** (`TASKS`), so a caller starts a Job by its kind alone.
- **How a task is sent** (`TaskRunner`): the web side creates the row and hands the task's name to
  the runner after the transaction commits (the worker must see the row). The runner is chosen by
  `settings.LABELER_TASK_RUNNER`: Celery in production; tests point it at an in-process runner
  kept under `tests/`, and the ML commands pass one that runs the body here. This module never
  imports the worker code, so the web process stays free of torch.
- **How a task body reports** (`JobReporter`, `job_body`): running, progress, cancellation checks,
  success or failure, each a cheap single-row update; messages are cleaned of server paths and
  terminal escapes before anyone reads them.
- **What a task trusts** (the rules workers/tasks.py applies): each message carries the id of the
  deployment that sent it (`deployment_id`, derived from the database), deliveries of one Job are
  counted (`delivery_begin` / `delivery_end`) so a task that kills its worker is not run forever,
  and Jobs whose message was lost are sent again (`jobs_resend_lost`).
- **A broker that does not answer**: every call to it is bounded (settings' socket timeouts) and a
  request that needed it answers 503 "the job queue is not answering" (`JobQueueUnavailable`).
"""
from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
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
# The task that runs one chunk of a kind of Job split across workers (workers/chunks.py). A chunk's
# message has a task id made from the Job and the chunk (`chunk_task_id`), so the broker's live ids
# tell which chunk's message is gone.
CHUNK_TASKS: dict[str, str] = {
    Job.Kind.PRELABEL: "workers.gpu.prelabel_chunk",
    Job.Kind.EXPORT: "workers.default.export_chunk",
}


def chunk_task_id(job_id: int, index: int) -> str:
    return f"job-{job_id}-chunk-{index}"

# Errors that say "not now" rather than "never": the database went away or was locked for longer
# than its timeout. A task body that meets one is retried (workers/tasks.py); any other error ends
# the Job with its message at once, since running it again would fail the same way.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)


QUEUE_NOT_ANSWERING = "the job queue is not answering"


class JobQueueUnavailable(DomainError):
    """The broker did not answer within its timeout: the request answers 503 and changes nothing
    but the Job it could not send (marked failed with this message)."""

    status = 503


class TaskRunner(Protocol):
    def send(self, task: str, job_id: int) -> str | None:
        """Queue `task` for the Job; returns the broker's task id, if there is one."""

    def call(self, task: str, args: list[Any], *, timeout_s: float) -> Any:
        """Run `task` and wait for its answer (the assist, which a request waits on)."""


_deployments: dict[tuple[str, str], str] = {}


def deployment_id() -> str:
    """Who sent a message: a short id derived from the database (its name and the moment it was
    first migrated), the same in the web process, the workers and the commands of one deployment
    and different in another checkout's. A task refuses a message carrying another one."""
    from django.db import connection
    from django.db.migrations.recorder import MigrationRecorder

    engine, name = connection.settings_dict["ENGINE"], str(connection.settings_dict["NAME"])
    if engine.endswith("sqlite3"):
        name = os.path.realpath(name)
    key = (engine, name)
    if key not in _deployments:
        first = MigrationRecorder.Migration.objects.order_by("id").values_list("applied", flat=True).first()
        stamp = first.isoformat() if first else ""
        _deployments[key] = hashlib.sha256(f"{engine}|{name}|{stamp}".encode()).hexdigest()[:16]
    return _deployments[key]


class CeleryRunner:
    """Sends tasks by name through the Celery app (labeler/celery.py) without importing them.
    Each broker call is bounded by the transport's socket timeouts (settings); one that fails or
    times out raises JobQueueUnavailable."""

    def send(self, task: str, job_id: int) -> str | None:
        from labeler.celery import app

        try:
            result = app.send_task(
                task, args=[job_id], kwargs={"deployment": deployment_id()}, ignore_result=True,
                retry_policy={"max_retries": 1, "interval_start": 0.2},
            )
        except Exception as exc:
            raise JobQueueUnavailable(QUEUE_NOT_ANSWERING, reason=type(exc).__name__) from exc
        return result.id

    def call(self, task: str, args: list[Any], *, timeout_s: float) -> Any:
        from labeler.celery import app

        try:
            result = app.send_task(task, args=args, retry_policy={"max_retries": 1, "interval_start": 0.2})
        except Exception as exc:
            raise JobQueueUnavailable(QUEUE_NOT_ANSWERING, reason=type(exc).__name__) from exc
        try:
            return result.get(timeout=timeout_s)
        except Exception as exc:
            try:
                result.forget()
            except Exception:  # the backend is the same Redis; it may be what failed
                log.warning("could not forget the result of %s", task, exc_info=True)
            queue = task.split(".")[1]  # workers.<queue>.<name>: the queue is in the name
            raise DomainError(f"no {queue} worker answered within {timeout_s:g} s ({type(exc).__name__})") from None

    def send_chunk(self, task: str, job_id: int, index: int) -> str:
        """Queue one chunk of a Job under its own task id (`chunk_task_id`)."""
        from labeler.celery import app

        task_id = chunk_task_id(job_id, index)
        try:
            app.send_task(task, args=[job_id, index], kwargs={"deployment": deployment_id()}, task_id=task_id,
                          ignore_result=True, retry_policy={"max_retries": 1, "interval_start": 0.2})
        except Exception as exc:
            raise JobQueueUnavailable(QUEUE_NOT_ANSWERING, reason=type(exc).__name__) from exc
        return task_id

    def revoke(self, task_id: str) -> None:
        from labeler.celery import app

        app.control.revoke(task_id)


def workers_consuming(task: str, *, timeout_s: float = 1.0) -> list[str]:
    """The workers that consume `task`'s queue now (names), asked over the broker; [] when none
    answers within `timeout_s` or the broker does not answer (a command's warning, not a rule)."""
    from labeler.celery import app

    queue = app.amqp.router.route({}, task)["queue"].name
    try:
        replies = app.control.inspect(timeout=timeout_s).active_queues() or {}
    except Exception:
        return []
    return sorted(name for name, queues in replies.items() if any(q.get("name") == queue for q in queues or []))


def task_runner() -> TaskRunner:
    return import_string(settings.LABELER_TASK_RUNNER)()


# Kinds that a request starts as a side effect (an upload's thumbnails): when the broker does not
# answer, the request still succeeds and the Job waits, marked unsent, for a worker to start and
# send it again (jobs_resend_lost). Any other kind is what the request asked for: it fails, 503.
BACKGROUND_KINDS = frozenset({Job.Kind.THUMBNAILS})
UNSENT = "unsent"


def _send(job_id: int, kind: str, runner: TaskRunner) -> None:
    try:
        task_id = runner.send(TASKS[kind], job_id)
    except Exception as exc:  # broker down or paused: the job says so instead of waiting forever
        log.error("could not queue job %s: %s", job_id, exc)
        if kind in BACKGROUND_KINDS:
            Job.objects.filter(pk=job_id).update(celery_task_id=UNSENT, message=f"{QUEUE_NOT_ANSWERING}; waiting for a worker")
            return
        Job.objects.filter(pk=job_id).update(
            status=Job.Status.FAILED, finished_at=timezone.now(), message=f"{QUEUE_NOT_ANSWERING}; start it again later",
        )
        if isinstance(exc, JobQueueUnavailable):
            raise
        raise JobQueueUnavailable(QUEUE_NOT_ANSWERING, reason=type(exc).__name__) from exc
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
    transaction.on_commit(lambda: _send(job.pk, kind, chosen))
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
        task_id, job_id = job.celery_task_id, job.pk
        transaction.on_commit(lambda: _revoke(job_id, task_id))
    return job


def _revoke(job_id: int, task_id: str) -> None:
    """Drop a queued task; a running one sees the cancel at its next progress report. The cancel
    holds without it (a task never runs a finished Job), so a broker that does not answer only
    costs the timeout and a note on the Job, not the answer."""
    revoke = getattr(task_runner(), "revoke", None)
    if revoke is None:
        return
    try:
        revoke(task_id)
    except Exception as exc:
        log.warning("job %s: could not revoke task %s: %s", job_id, task_id, exc)
        Job.objects.filter(pk=job_id).update(
            message=f"cancelled ({QUEUE_NOT_ANSWERING}: the task stops when it next looks at the job)",
        )


# Deliveries of one Job's task, counted in the Job's result while a delivery runs. A delivery that
# ends (succeeds, fails, is retried) takes its count back; only deliveries that died with their
# worker add up.
DELIVERIES_KEY = "deliveries"


def delivery_begin(job_id: int) -> int:
    """Count one more delivery of the Job's task; returns how many have begun without ending."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            return 0
        count = int((job.result or {}).get(DELIVERIES_KEY, 0)) + 1
        Job.objects.filter(pk=job_id).update(result={**(job.result or {}), DELIVERIES_KEY: count})
    return count


def delivery_end(job_id: int) -> None:
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is not None and DELIVERIES_KEY in (job.result or {}):
            Job.objects.filter(pk=job_id).update(result={k: v for k, v in job.result.items() if k != DELIVERIES_KEY})


def died_too_often_message(deaths: int) -> str:
    return f"the worker died {deaths} times while running this job"


def jobs_resend_lost(*, live_task_ids: set[str], runner: TaskRunner | None = None) -> list[int]:
    """Send again the Jobs that were sent to the broker but whose message is gone (Redis lost it:
    a restart without persistence, a flushed database) and that have not ended. Tasks are
    idempotent, so a Job sent twice by mistake does its work once. A Job split into chunks
    (JobChunk rows) has its lost chunks sent again instead: each unfinished chunk whose message
    (`chunk_task_id`) is not live, or, when every chunk succeeded and the finish was lost with the
    last one's message, that last chunk (a chunk that finds itself done runs the finish). A Job whose
    own task is still live is left alone: that task sends what it planned. Returns the ids re-sent."""
    from .models import JobChunk

    chosen = runner or task_runner()
    unfinished = (
        Job.objects.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING], kind__in=list(TASKS))
        .exclude(celery_task_id="").exclude(celery_task_id__in=live_task_ids)
    )
    resent = []
    for job in unfinished.order_by("id"):
        chunks = []
        if job.kind in CHUNK_TASKS and "chunks" in (job.result or {}):  # planned as chunks (workers/chunks.py)
            chunks = list(JobChunk.objects.filter(job=job).order_by("index").values_list("index", "status"))
        if chunks:
            live = [index for index, _ in chunks if chunk_task_id(job.pk, index) in live_task_ids]
            lost = [index for index, status in chunks if status == JobChunk.Status.RUNNING and index not in live]
            if not lost and not live:  # all succeeded, and the finish went with the last message
                lost = [chunks[-1][0]]
            send_chunk = getattr(chosen, "send_chunk", None)
            if not lost or send_chunk is None:
                continue
            for index in lost:
                send_chunk(CHUNK_TASKS[job.kind], job.pk, index)
            log.warning("job %s (%s): chunk(s) %s had no message in the queue; sent again", job.pk, job.kind, lost)
            resent.append(job.pk)
            continue
        task_id = chosen.send(TASKS[job.kind], job.pk)
        if task_id:
            Job.objects.filter(pk=job.pk).update(celery_task_id=task_id)
        log.warning("job %s (%s) had no message in the queue; sent again", job.pk, job.kind)
        resent.append(job.pk)
    return resent


_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])/(?:[^\s/'\"]+/)+([^\s/'\"]*)")


def public_message(text: str) -> str:
    """What a Job may show to the people who read it: no terminal escapes or control characters,
    and no server paths (a path under the media folder becomes its name there, any other
    absolute path its last part)."""
    text = _CONTROL.sub("", _ANSI.sub("", str(text)))
    for root in sorted({str(settings.MEDIA_ROOT), str(settings.VAR_DIR), str(settings.BASE_DIR)}, key=len, reverse=True):
        text = text.replace(root.rstrip("/") + "/", "")
    return _ABSOLUTE_PATH.sub(lambda m: m.group(1) or "<path>", text)[:10_000]


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
            fields["message"] = public_message(message)
        updated = Job.objects.filter(pk=self.job_id).exclude(status=Job.Status.CANCELLED).update(**fields)
        if not updated:
            raise JobCancelled(self.job_id)

    def check_cancelled(self) -> None:
        if Job.objects.filter(pk=self.job_id, status=Job.Status.CANCELLED).exists():
            raise JobCancelled(self.job_id)

    def succeed(self, *, result: dict[str, Any] | None = None, result_file: str = "", message: str = "") -> None:
        fields: dict[str, Any] = {"status": Job.Status.SUCCEEDED, "finished_at": timezone.now(), "message": public_message(message)}
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
        Job.objects.filter(pk=self.job_id).exclude(status=Job.Status.CANCELLED).update(message=public_message(message))

    def fail(self, *, message: str) -> None:
        Job.objects.filter(pk=self.job_id).exclude(status=Job.Status.CANCELLED).update(
            status=Job.Status.FAILED, finished_at=timezone.now(), message=public_message(message),
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

"""Celery task registry: each task has an explicit dotted name and its retry policy, declared here.

Names are `workers.<queue>.<job>`; labeler/celery.py routes by that prefix, the only place a queue
is chosen. Job tasks take a Job id and are idempotent (a redelivered or retried task redoes work
without duplicating it), hence acks_late. What each retries:
- transient errors (annotations.jobs.TRANSIENT_ERRORS: the database went away or stayed locked)
  are retried with backoff up to `retries` times; the Job says it is retrying, and past the limit
  it ends `failed` with the error, so nothing loops;
- everything else (a refused input, a bug) ends the Job `failed` at once with its message: it
  would fail the same way again;
- a delivery that kills its worker (a crash in native code, the OOM killer) is redelivered
  (acks_late, reject_on_worker_lost) at most settings.LABELER_MAX_DELIVERIES times: the next
  delivery fails the Job with "the worker died N times while running this job", removes its
  temporary files and is acknowledged.
A task trusts nothing it is sent: a message from another deployment (annotations.jobs.deployment_id)
is refused, and so is a Job of another kind or one that does not exist (JobReporter.start).
ML modules are imported inside the gpu task bodies so the default queue's workers stay light.
"""
from __future__ import annotations

import logging
from typing import Callable

from celery import Task, shared_task

from annotations.assists import GRABCUT_TASK, SUPERPIXELS_TASK
from django.conf import settings
from django.db import transaction

from annotations.jobs import (
    ASSIST_TASK, TRANSIENT_ERRORS, JobReporter, delivery_begin, delivery_end, deployment_id, died_too_often_message,
)

log = logging.getLogger(__name__)

RETRY_BACKOFF_S = 2.0  # first retry after 2 s, then 4, 8: a database restart takes seconds


def job_task(name: str, *, retries: int = 3, **options) -> Callable[[Callable[[], Callable[[int], None]]], Task]:
    """Declare the task `name` for a Job body. The decorated function returns the body
    (`run(job_id)`), so a body's modules (torch for gpu work) load only when it runs."""

    def decorate(load_body: Callable[[], Callable[[int], None]]) -> Task:
        @shared_task(name=name, bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=retries, **options)
        def task(self: Task, job_id: int, deployment: str | None = None) -> None:
            if not self.request.is_eager and deployment != deployment_id():
                # Another checkout's message on a shared Redis: acting on it would change this
                # database's Job of the same id. Dropped; its own deployment re-sends it on start.
                log.error("task %s for job %s comes from deployment %r, this is %r; refused",
                          name, job_id, deployment, deployment_id())
                return
            deliveries = delivery_begin(job_id)
            if deliveries > settings.LABELER_MAX_DELIVERIES:
                deaths = deliveries - 1
                log.error("job %s: the worker died %s times running it; giving up", job_id, deaths)
                from .temp_files import job_temp_files_remove

                job_temp_files_remove(job_id)  # first: a failed Job has nothing left behind
                # One commit: no reader sees the Job failed with its delivery count still on it.
                with transaction.atomic():
                    JobReporter(job_id).fail(message=died_too_often_message(deaths))
                    delivery_end(job_id)
                return  # acknowledged: the message is not delivered again
            try:
                load_body()(job_id)
            except TRANSIENT_ERRORS as exc:
                attempt = self.request.retries + 1
                reason = f"{type(exc).__name__}: {exc}"
                if self.request.retries >= self.max_retries:
                    log.error("job %s: giving up after %s attempts: %s", job_id, attempt, reason)
                    JobReporter(job_id).fail(message=f"gave up after {attempt} attempts; last error: {reason}")
                    return
                log.warning("job %s: attempt %s failed (%s); retrying", job_id, attempt, reason)
                JobReporter(job_id).note(message=f"attempt {attempt} of {self.max_retries + 1} failed ({reason}); retrying")
                delivery_end(job_id)  # a retry is a new delivery, not a death (and runs inline when eager)
                raise self.retry(exc=exc, countdown=RETRY_BACKOFF_S * 2 ** self.request.retries)
            finally:
                try:
                    delivery_end(job_id)
                except TRANSIENT_ERRORS:
                    log.warning("job %s: could not take back its delivery count", job_id, exc_info=True)

        task.__doc__ = load_body.__doc__
        return task

    return decorate


@job_task("workers.default.thumbnails")
def thumbnails():
    from .thumbnail_job import run_thumbnails

    return run_thumbnails


@job_task("workers.default.export_dataset")
def export_dataset():
    from .export_job import run_export

    return run_export


@job_task("workers.default.import_dataset")
def import_dataset():
    from .import_job import run_import

    return run_import


@job_task("workers.gpu.prelabel")
def prelabel():
    from .prelabel_job import run_prelabel

    return run_prelabel


def chunk_task(name: str, *, retries: int = 3) -> Callable[[Callable[[], Callable[[int, int], None]]], Task]:
    """Declare the task `name` for one chunk of a Job (workers/chunks.py): the same rules as a Job's
    task, with its deliveries counted on the chunk's row, so chunks running side by side never add up."""

    def decorate(load_body: Callable[[], Callable[[int, int], None]]) -> Task:
        @shared_task(name=name, bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=retries)
        def task(self: Task, job_id: int, index: int, deployment: str | None = None) -> None:
            if not self.request.is_eager and deployment != deployment_id():
                log.error("chunk %s of job %s comes from deployment %r, this is %r; refused", index, job_id, deployment,
                          deployment_id())
                return
            from .chunks import chunk_delivery_begin, chunk_delivery_end, chunk_fail, chunk_image_id

            deliveries, chunk = chunk_delivery_begin(job_id, index, total=None, worker=self.request.hostname or "here")
            if chunk is None:
                return
            if deliveries > settings.LABELER_MAX_DELIVERIES:
                images = chunk.images or [0]
                position = min(chunk.done, len(images) - 1)
                message = (f"{died_too_often_message(deliveries - 1)} (chunk {index + 1}, on image "
                           f"{chunk_image_id(images[position])}, the {position + 1}. of its {len(images)})")
                log.error("job %s: %s; giving up", job_id, message)
                chunk_fail(job_id, index, message=message)
                JobReporter(job_id).fail(message=message)
                chunk_delivery_end(job_id, index)
                from .temp_files import job_temp_files_remove

                job_temp_files_remove(job_id)
                return
            try:
                load_body()(job_id, index)
            except TRANSIENT_ERRORS as exc:
                attempt = self.request.retries + 1
                reason = f"{type(exc).__name__}: {exc}" + "".join(f" ({note})" for note in getattr(exc, "__notes__", []))
                if self.request.retries >= self.max_retries:
                    log.error("job %s chunk %s: giving up after %s attempts: %s", job_id, index, attempt, reason)
                    message = f"chunk {index + 1} gave up after {attempt} attempts; last error: {reason}"
                    chunk_fail(job_id, index, message=message)
                    JobReporter(job_id).fail(message=message)
                    return
                log.warning("job %s chunk %s: attempt %s failed (%s); retrying", job_id, index, attempt, reason)
                chunk_delivery_end(job_id, index)
                raise self.retry(exc=exc, countdown=RETRY_BACKOFF_S * 2 ** self.request.retries)
            finally:
                try:
                    chunk_delivery_end(job_id, index)
                except TRANSIENT_ERRORS:
                    log.warning("job %s chunk %s: could not take back its delivery count", job_id, index, exc_info=True)

        task.__doc__ = load_body.__doc__
        return task

    return decorate


@chunk_task("workers.gpu.prelabel_chunk")
def prelabel_chunk():
    """One chunk of a pre-label Job (workers/prelabel_job.py)."""
    from .prelabel_job import run_prelabel_chunk

    return run_prelabel_chunk


@chunk_task("workers.default.export_chunk")
def export_chunk():
    """One chunk of an export Job (workers/export_job.py); the last one assembles the zip."""
    from .export_job import run_export_chunk

    return run_export_chunk


@job_task("workers.gpu.register_model")
def register_model():
    from .register_model_job import run_register_model

    return run_register_model


@job_task("workers.gpu.train")
def train():
    """Redelivered after a worker dies; resumes from the job's last epoch checkpoint."""
    from .train_job import run_train

    return run_train


@job_task("workers.gpu.evaluate")
def evaluate():
    from .evaluate_job import run_evaluate

    return run_evaluate


@shared_task(name=ASSIST_TASK, ignore_result=False, acks_late=False, time_limit=120)
def assist(image_id: int, box: list[float], label_class_id: int | None, model_version_id: int,
           clicks: list[dict] | None = None) -> dict:
    """Answers a waiting request, so it is never retried: a late answer is no answer."""
    from annotations.errors import DomainError

    from .assist import assist_mask

    try:
        return assist_mask(image_id=image_id, box_xywh=box, label_class_id=label_class_id, model_version_id=model_version_id,
                           clicks=clicks)
    except DomainError as exc:
        return {"error": exc.message, "status": exc.status}


# The model-free assists are CPU work (OpenCV, scikit-image): the default queue. Like the model's
# assist they answer a waiting request and are never retried.
@shared_task(name=GRABCUT_TASK, ignore_result=False, acks_late=False, time_limit=60)
def grabcut(image_id: int, box: list[float], clicks: list[dict] | None = None, method: str = "auto") -> dict:
    from annotations.errors import DomainError

    from .free_assist import grabcut_answer

    try:
        return grabcut_answer(image_id=image_id, box_xywh=box, clicks=clicks, method=method)
    except DomainError as exc:
        return {"error": exc.message, "status": exc.status}


@shared_task(name=SUPERPIXELS_TASK, ignore_result=False, acks_late=False, time_limit=300)
def superpixels(image_id: int) -> dict:
    """Makes an older image's superpixels when the editor first asks (new uploads get them from the
    thumbnails job); idempotent, so a second request for the same image finds the file."""
    from annotations.errors import DomainError

    from .free_assist import superpixels_answer

    try:
        return superpixels_answer(image_id=image_id)
    except DomainError as exc:
        return {"error": exc.message, "status": exc.status}


from . import startup  # noqa: E402,F401  connects the worker's start-up checks (workers/startup.py)

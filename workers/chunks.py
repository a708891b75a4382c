"""A Job split into chunks that any worker of its queue takes (a pre-label or export job's images).

Celery does the distribution: each chunk is one task (annotations.jobs.CHUNK_TASKS) with its own
task id (`job-<id>-chunk-<n>`), taken by whichever worker is free, acks_late so a chunk that a dead
worker held is redelivered. The count of finished chunks lives in the database, not in the result
backend: the chunk that succeeds last, under a lock on the Job row, runs the Job's finish, and a
chunk delivered again after it succeeded runs the finish when every chunk has (so a chunk whose
message Redis lost, sent again by jobs_resend_lost from its row, still ends the Job). This module:
- `chunks_plan` / `chunks_dispatch`: the rows with each chunk's images, then the messages (or, in
  a task applied in-process, the chunks in turn here); `chunk_run`: one chunk's body;
- `chunk_delivery_begin` / `chunk_delivery_end`: deliveries of one chunk, counted on its row (the
  bound on redeliveries, settings.LABELER_MAX_DELIVERIES, is per chunk: chunks of one Job run at
  the same time and must not add up to a death), and the worker that runs it;
- `chunk_progress`: the chunk's own `done` (absolute, so a redelivery that resumes after its last
  finished image counts nothing twice) and the Job's `done`, the sum over its chunks, in one
  transaction; it raises JobCancelled once the Job has ended (cancelled, or failed by another
  chunk), which stops every chunk at its next image;
- `chunk_succeed`, `chunks_summary`.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from django.db import transaction
from django.db.models import Sum

from annotations.jobs import CHUNK_TASKS, JobCancelled, JobReporter, chunk_task_id
from annotations.models import Job, JobChunk

log = logging.getLogger(__name__)


def chunks_plan(job_id: int, groups: list[list[Any]]) -> bool:
    """Create the Job's chunk rows, each with its images, and note their number on the Job, in one
    transaction; False (nothing changed) when a delivery before this one planned them already."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if JobChunk.objects.filter(job_id=job_id).exists():
            return False
        JobChunk.objects.bulk_create([JobChunk(job_id=job_id, index=index, total=len(images), images=images)
                                      for index, images in enumerate(groups)])
        Job.objects.filter(pk=job_id).update(result={**(job.result or {}), "chunks": len(groups)})
    return True


def chunks_dispatch(job_id: int, kind: str, *, replanned: bool) -> None:
    """Send the Job's unfinished chunks to the workers of their queue, each under its own task id.
    A task applied in-process (tests, the commands that run a Job here) runs them here in turn
    instead. A planner delivered again (`replanned`) sends only the chunks whose message is gone."""
    from celery import current_task

    from labeler.celery import app

    task = app.tasks[CHUNK_TASKS[kind]]
    pending = list(JobChunk.objects.filter(job_id=job_id, status=JobChunk.Status.RUNNING).order_by("index")
                   .values_list("index", flat=True))
    if not current_task or current_task.request.is_eager:  # a Proxy: falsy outside a task
        for index in pending:
            task.apply(args=[job_id, index])
        return
    from annotations.jobs import CeleryRunner

    if replanned:
        from .startup import live_task_ids

        live = live_task_ids(current_task.app)
        pending = [index for index in pending if chunk_task_id(job_id, index) not in live]
    runner = CeleryRunner()
    for index in pending:
        runner.send_chunk(CHUNK_TASKS[kind], job_id, index)


def chunk_run(
    job_id: int, index: int, *, work: Callable[[Job, JobChunk], dict[str, Any]], finish: Callable[[Job], None],
    clean_up: Callable[[Job], None] | None = None,
) -> None:
    """One delivery of one chunk: `work(job, chunk)` unless the chunk succeeded already, then
    `finish(job)` when every chunk of the Job has succeeded. An error ends the Job failed (its
    message names the image, see the bodies) and marks the chunk failed; a cancel stops here.
    `clean_up(job)` runs on both (removes what the Job's chunks stored)."""
    reporter = JobReporter(job_id)
    job = Job.objects.filter(pk=job_id).first()
    chunk = JobChunk.objects.filter(job_id=job_id, index=index).first()
    if job is None or chunk is None:
        return
    if job.is_finished:
        if clean_up is not None:
            clean_up(job)
        return
    with reporter.outcome():
        if chunk.status == JobChunk.Status.SUCCEEDED:
            last = chunks_all_succeeded(job_id)
        else:
            last = chunk_succeed(job_id, index, result=work(job, chunk))
        if last:
            finish(Job.objects.get(pk=job_id))
        elif clean_up is not None and Job.objects.get(pk=job_id).is_finished:
            clean_up(job)  # it ended (cancelled, failed by another chunk) while this one worked
        return
    job = Job.objects.get(pk=job_id)
    if job.status == Job.Status.FAILED:
        chunk_fail(job_id, index, message=job.message)
    if clean_up is not None:
        clean_up(job)


def chunk_delivery_begin(job_id: int, index: int, *, total: int | None, worker: str) -> tuple[int, JobChunk | None]:
    """(deliveries begun and not ended, the row); (0, None) when the Job is gone, or (`total`
    None: a planned chunk) when it has no such chunk."""
    with transaction.atomic():
        if not Job.objects.filter(pk=job_id).exists():
            return 0, None
        if total is None:
            chunk = JobChunk.objects.select_for_update().filter(job_id=job_id, index=index).first()
            if chunk is None:
                return 0, None
        else:
            chunk, _ = JobChunk.objects.select_for_update().get_or_create(job_id=job_id, index=index, defaults={"total": total})
        chunk.deliveries += 1
        chunk.worker = worker
        chunk.save(update_fields=["deliveries", "worker", "updated_at"])
    return chunk.deliveries, chunk


def chunk_delivery_end(job_id: int, index: int) -> None:
    JobChunk.objects.filter(job_id=job_id, index=index, deliveries__gt=0).update(deliveries=0)


def chunk_set_done(job_id: int, index: int, *, done: int) -> None:
    """The chunk's own count only (a Job of one chunk reports the same number on the Job itself)."""
    JobChunk.objects.filter(job_id=job_id, index=index).update(done=done)


def chunk_progress(job_id: int, index: int, *, done: int) -> None:
    """Record that the chunk has finished `done` of its images and move the Job's sum; raise
    JobCancelled when the Job is no longer running."""
    with transaction.atomic():
        JobChunk.objects.filter(job_id=job_id, index=index).update(done=done)
        total = JobChunk.objects.filter(job_id=job_id).aggregate(s=Sum("done"))["s"] or 0
        if not Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(done=total):
            raise JobCancelled(job_id)


def chunk_succeed(job_id: int, index: int, *, result: dict[str, Any]) -> bool:
    """Mark the chunk succeeded; True when it is the Job's last (every chunk now succeeded and the
    Job still runs). Under a lock on the Job row, so of two chunks that end together one is last."""
    with transaction.atomic():
        running = Job.objects.select_for_update().filter(pk=job_id, status=Job.Status.RUNNING).exists()
        JobChunk.objects.filter(job_id=job_id, index=index).update(status=JobChunk.Status.SUCCEEDED, result=result)
        return running and not JobChunk.objects.filter(job_id=job_id).exclude(status=JobChunk.Status.SUCCEEDED).exists()


def chunks_all_succeeded(job_id: int) -> bool:
    with transaction.atomic():
        running = Job.objects.select_for_update().filter(pk=job_id, status=Job.Status.RUNNING).exists()
        return running and not JobChunk.objects.filter(job_id=job_id).exclude(status=JobChunk.Status.SUCCEEDED).exists()


def chunk_image_id(entry: Any) -> int:
    """The image id of one of a chunk's entries (an id, or [id, ...])."""
    return int(entry[0] if isinstance(entry, (list, tuple)) else entry)


def chunk_fail(job_id: int, index: int, *, message: str) -> None:
    JobChunk.objects.filter(job_id=job_id, index=index).update(status=JobChunk.Status.FAILED, result={"error": message})


def chunk_results(job_id: int) -> list[dict[str, Any]]:
    return list(JobChunk.objects.filter(job_id=job_id).order_by("index").values_list("result", flat=True))


def chunks_summary(job_id: int) -> dict[str, Any]:
    """How the chunks went: how many, and how many each worker ran."""
    rows = list(JobChunk.objects.filter(job_id=job_id).values_list("status", "worker"))
    workers: dict[str, int] = {}
    for _, worker in rows:
        workers[worker] = workers.get(worker, 0) + 1
    return {"chunks": len(rows), "chunks_succeeded": sum(s == JobChunk.Status.SUCCEEDED for s, _ in rows),
            "chunks_by_worker": dict(sorted(workers.items()))}

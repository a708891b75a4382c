"""A Job split into chunks that any worker of its queue takes (a pre-label job's images): the rows.

Celery does the distribution: the chunks are a chord's header (each chunk one task, taken by
whichever worker is free, acks_late so a chunk that a dead worker held is redelivered), its body
ends the Job with the chunks' results summed (workers/prelabel_job.py). This module keeps the
JobChunk rows that Celery has no place for:
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

from typing import Any

from django.db import transaction
from django.db.models import Sum

from annotations.jobs import JobCancelled
from annotations.models import Job, JobChunk


def chunk_delivery_begin(job_id: int, index: int, *, total: int, worker: str) -> tuple[int, JobChunk | None]:
    """(deliveries begun and not ended, the row); (0, None) when the Job is gone."""
    with transaction.atomic():
        if not Job.objects.filter(pk=job_id).exists():
            return 0, None
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


def chunk_succeed(job_id: int, index: int, *, result: dict[str, Any]) -> None:
    JobChunk.objects.filter(job_id=job_id, index=index).update(status=JobChunk.Status.SUCCEEDED, result=result)


def chunk_fail(job_id: int, index: int, *, message: str) -> None:
    JobChunk.objects.filter(job_id=job_id, index=index).update(status=JobChunk.Status.FAILED, result={"error": message})


def chunks_summary(job_id: int) -> dict[str, Any]:
    """How the chunks went: how many, and how many each worker ran."""
    rows = list(JobChunk.objects.filter(job_id=job_id).values_list("status", "worker"))
    workers: dict[str, int] = {}
    for _, worker in rows:
        workers[worker] = workers.get(worker, 0) + 1
    return {"chunks": len(rows), "chunks_succeeded": sum(s == JobChunk.Status.SUCCEEDED for s, _ in rows),
            "chunks_by_worker": dict(sorted(workers.items()))}

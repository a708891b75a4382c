"""The export job (default queue): the project's dataset as a zip in media storage.

Up to settings.LABELER_EXPORT_CHUNK images, the first task writes the zip itself. Above, it plans
the export as chunks (annotations/export_chunks.py: each chunk's images with their final names)
and sends one task per chunk (workers/chunks.py), which any default worker takes: each renders
its images into a part in media storage and moves the Job's done; the chunk that succeeds last
assembles the zip from the parts, under the same name, and removes them. A cancel stops every
chunk at its next progress report; a chunk that fails ends the Job failed naming the image, and
its parts are removed.

Safe to run twice (acks_late redelivery, retries): a chunk rewrites its own part, the zip is
written beside and stored whole, so a download never finds half a zip.
"""
from __future__ import annotations

from annotations import media
from annotations.export_chunks import export_assemble, export_chunk_write, export_parts_remove, export_plan
from annotations.exports import export_to_storage
from annotations.jobs import JobReporter, job_body
from annotations.models import Job, JobChunk

from .chunks import chunk_progress, chunk_run, chunks_dispatch, chunks_plan, chunks_summary

PROGRESS_EVERY = 50  # images between two progress writes (each one also looks for a cancel)
PLAN_KEY = "export_plan"


@job_body(Job.Kind.EXPORT, on_cancel=export_parts_remove)
def run_export(job: Job, reporter: JobReporter) -> None:
    if "chunks" in (job.result or {}):  # a redelivery after the chunks were planned: send the lost ones
        chunks_dispatch(job.pk, Job.Kind.EXPORT, replanned=True)
        return
    plan, chunks = export_plan(job=job)
    if len(chunks) == 1:
        name, summary = export_to_storage(job=job, on_progress=lambda done, total: reporter.progress(done=done, total=total))
        reporter.succeed(result=summary, result_file=name)
        return
    reporter.progress(done=0, total=plan["images"], message=f"exporting {plan['images']} image(s) in {len(chunks)} chunks")
    Job.objects.filter(pk=job.pk).update(result={**(Job.objects.get(pk=job.pk).result or {}), PLAN_KEY: plan})
    replanned = not chunks_plan(job.pk, chunks)
    chunks_dispatch(job.pk, Job.Kind.EXPORT, replanned=replanned)


def run_export_chunk(job_id: int, index: int) -> None:
    """Render one chunk's images into its part (from the start: a part is written whole)."""

    def work(job: Job, chunk: JobChunk) -> dict:
        total = len(chunk.images)

        def on_image(done: int) -> None:
            if done % PROGRESS_EVERY == 0 or done == total:
                chunk_progress(job_id, index, done=done)

        counts = export_chunk_write(job=job, index=index, entries=chunk.images, plan=job.result[PLAN_KEY], on_image=on_image)
        if total == 0:
            chunk_progress(job_id, index, done=0)
        return counts

    chunk_run(job_id, index, work=work, finish=export_finish, clean_up=export_parts_remove)


def export_finish(job: Job) -> None:
    """Every chunk has stored its part: assemble the zip and end the Job."""
    name, summary = export_assemble(job=job, chunks=job.result["chunks"], plan=job.result[PLAN_KEY])
    JobReporter(job.pk).succeed(result={**summary, **chunks_summary(job.pk)}, result_file=name)
    if Job.objects.filter(pk=job.pk, status=Job.Status.CANCELLED).exists():
        media.delete(name)  # cancelled while the zip was assembled: nobody may download it

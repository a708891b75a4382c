"""The export job (default queue): the project's dataset as a zip in media storage.

Safe to run twice (acks_late redelivery, retries): it rewrites its own file and renames it into
place, so a download never finds half a zip.
"""
from __future__ import annotations

from annotations.exports import export_to_storage
from annotations.jobs import JobReporter, job_body
from annotations.models import Job


@job_body(Job.Kind.EXPORT)
def run_export(job: Job, reporter: JobReporter) -> None:
    name, summary = export_to_storage(job=job, on_progress=lambda done, total: reporter.progress(done=done, total=total))
    reporter.succeed(result=summary, result_file=name)

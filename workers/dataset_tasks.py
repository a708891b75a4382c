"""Bodies of the dataset tasks on the `default` queue: export to a zip in media storage, import from one.

Both are safe to run twice (acks_late redelivery): an export rewrites its own file and renames it
into place; an import is one transaction, so a crash before commit leaves nothing to undo, and a
job already finished is not run again.
"""
from __future__ import annotations

from pathlib import Path

from django.conf import settings

from annotations.dataset_imports import dataset_import
from annotations.exports import export_to_storage
from annotations.jobs import JobReporter


def run_export(job_id: int) -> None:
    reporter = JobReporter(job_id)
    job = reporter.start()
    if job is None:
        return
    with reporter.outcome():
        name, summary = export_to_storage(job=job, on_progress=lambda done, total: reporter.progress(done=done, total=total))
        reporter.succeed(result=summary, result_file=name)


def run_import(job_id: int) -> None:
    reporter = JobReporter(job_id)
    job = reporter.start()
    if job is None:
        return
    upload = Path(settings.MEDIA_ROOT) / job.params["upload"]
    try:
        # A refused archive fails the job with a message naming the files and problems; a cancel
        # rolls the single transaction back. Either way the upload is not needed any more.
        with reporter.outcome():
            result = dataset_import(
                project=job.project, user=job.created_by, archive=upload, format=job.params["format"],
                create_classes=job.params.get("create_classes", True),
                on_progress=lambda done, total: reporter.progress(done=done, total=total),
            )
            reporter.succeed(result=result.as_dict())
    finally:
        upload.unlink(missing_ok=True)

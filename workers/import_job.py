"""The dataset import job (default queue): a COCO or VOC zip into the project, all or nothing.

Safe to run twice: the import is one transaction, so a crash before commit leaves nothing to
undo, and a job already finished is not run again. A refused archive fails the job with a
message naming the files and problems; a cancel rolls the transaction back. Either way the
uploaded zip is removed, unless a transient error means the task runs again.
"""
from __future__ import annotations

from annotations.dataset_imports import dataset_import
from annotations.jobs import JobReporter, job_body
from annotations.models import Job

from .temp_files import upload_used


@job_body(Job.Kind.IMPORT_DATASET)
def run_import(job: Job, reporter: JobReporter) -> None:
    with upload_used(job) as upload:
        result = dataset_import(
            project=job.project, user=job.created_by, archive=upload, format=job.params["format"],
            create_classes=job.params.get("create_classes", True),
            on_progress=lambda done, total: reporter.progress(done=done, total=total),
        )
    reporter.succeed(result=result.as_dict())

"""Bodies of the dataset tasks on the `default` queue: export to a zip in media storage, import from one.

Both are safe to run twice (acks_late redelivery): an export rewrites its own file and renames it
into place; an import is one transaction, so a crash before commit leaves nothing to undo, and a
job already finished is not run again.
"""
from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings

from annotations.dataset_imports import dataset_import
from annotations.errors import DomainError
from annotations.exports import export_to_storage
from annotations.jobs import JobCancelled, JobReporter

log = logging.getLogger(__name__)


def run_export(job_id: int) -> None:
    reporter = JobReporter(job_id)
    job = reporter.start()
    if job is None:
        return
    try:
        name, summary = export_to_storage(job=job, on_progress=lambda done, total: reporter.progress(done=done, total=total))
        reporter.succeed(result=summary, result_file=name)
    except JobCancelled:
        log.info("export job %s cancelled", job_id)
    except DomainError as exc:
        reporter.fail(message=exc.message)
    except Exception as exc:  # the job row must say why
        log.exception("export job %s failed", job_id)
        reporter.fail(message=f"{type(exc).__name__}: {exc}")
        raise


def run_import(job_id: int) -> None:
    reporter = JobReporter(job_id)
    job = reporter.start()
    if job is None:
        return
    upload = Path(settings.MEDIA_ROOT) / job.params["upload"]
    try:
        result = dataset_import(
            project=job.project, user=job.created_by, archive=upload, format=job.params["format"],
            create_classes=job.params.get("create_classes", True),
            on_progress=lambda done, total: reporter.progress(done=done, total=total),
        )
        reporter.succeed(result=result.as_dict())
        upload.unlink(missing_ok=True)
    except JobCancelled:
        log.info("import job %s cancelled; the transaction rolled back", job_id)
        upload.unlink(missing_ok=True)
    except DomainError as exc:  # a refused archive: the message names the files and problems
        reporter.fail(message=exc.message)
        upload.unlink(missing_ok=True)
    except Exception as exc:
        log.exception("import job %s failed", job_id)
        reporter.fail(message=f"{type(exc).__name__}: {exc}")
        raise

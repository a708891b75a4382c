"""Test tasks that kill their own worker process, the way a crash in native code or the OOM killer
does: one in an import's staging, one in the middle of writing an export."""
from __future__ import annotations

import os
import signal
from pathlib import Path

import workers.tasks  # noqa: F401  the real tasks
from annotations import ingest
from annotations.exports import export_to_storage
from annotations.jobs import JobReporter, job_body
from annotations.models import Job
from workers.tasks import job_task

SELF_KILL_TASK = "tests.default.import_that_kills_its_worker"
KILLED_EXPORT_TASK = "tests.default.export_killed_midway"


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


@job_body(Job.Kind.IMPORT_DATASET)
def _import_that_kills_its_worker(job: Job, reporter: JobReporter) -> None:
    staging = ingest.Staging().__enter__()  # never left: the process dies inside it
    (staging.path / "member.png").write_bytes(b"\x89PNG half an upload")
    Path(staging.path / "delivery").write_text(str(os.getpid()))
    _die()


@job_body(Job.Kind.EXPORT)
def _export_killed_midway(job: Job, reporter: JobReporter) -> None:
    # The real export writing its .part file, killed after its first image.
    export_to_storage(job=job, on_progress=lambda done, total: _die() if done >= 1 else None)


@job_task(SELF_KILL_TASK)
def import_that_kills_its_worker():
    return _import_that_kills_its_worker


@job_task(KILLED_EXPORT_TASK)
def export_killed_midway():
    return _export_killed_midway

"""Run a job's body in the command's own process (the default for the ML commands), or queue it."""
from __future__ import annotations

from typing import Any, Callable

from django.core.management.base import CommandError

from annotations.jobs import job_start
from annotations.models import Job, Project


def queue_or_run_here(
    *, project: Project, kind: str, task: str, params: dict[str, Any], body: Callable[[int], None],
    queue: bool, failure: str, total: int = 0,
) -> Job:
    """With `queue`, enqueue the task for the workers and return the queued Job; otherwise create the
    Job row, run `body(job_id)` here and return the finished Job, raising CommandError("<failure>: ...")
    unless it succeeded."""
    if queue:
        return job_start(project=project, user=None, kind=kind, task=task, params=params, total=total)
    job = Job.objects.create(project=project, kind=kind, params=params, total=total)
    body(job.pk)
    job.refresh_from_db()
    if job.status != Job.Status.SUCCEEDED:
        raise CommandError(f"{failure}: {job.message}")
    return job

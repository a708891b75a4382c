"""Run a Job in the command's own process (the default for the ML commands), or queue it.

The command starts its Job through the same service the API calls (so the same rules apply);
to run it here, the service is given a runner that sends nothing, and the command then runs the
Job's task itself, through Celery's `apply`, exactly as a worker would.
"""
from __future__ import annotations

import sys
from typing import Any, Callable

from django.core.management.base import CommandError

from annotations.errors import DomainError
from annotations.jobs import TASKS, TaskRunner, workers_consuming
from annotations.models import Job


class SendNothing:
    """A runner for a Job that the command runs itself."""

    def send(self, task: str, job_id: int) -> str | None:
        return None

    def call(self, task: str, args: list[Any], *, timeout_s: float) -> Any:
        raise NotImplementedError("a command runs Jobs, not waiting tasks")


def run_job_here(job: Job) -> None:
    import workers.tasks  # noqa: F401  registers the tasks (torch loads only in the gpu bodies)
    from labeler.celery import app

    app.tasks[TASKS[job.kind]].apply(args=[job.pk])


def queue_or_run_here(*, start: Callable[[TaskRunner | None], Job], queue: bool, failure: str) -> Job:
    """`start(runner)` is the service call that creates the Job. With `queue`, the Job goes to the
    workers and comes back queued; otherwise it runs here and comes back finished, or
    CommandError("<failure>: ...") says why it did not succeed. A refusal is a CommandError too."""
    try:
        job = start(None if queue else SendNothing())
    except DomainError as exc:
        raise CommandError(exc.message) from None
    if queue:
        if job.status == Job.Status.QUEUED and not workers_consuming(TASKS[job.kind]):
            queue_name = TASKS[job.kind].split(".")[1]
            sys.stderr.write(f"warning: no worker consumes the {queue_name} queue now; job {job.pk} waits until one starts "
                             f"(celery -A labeler worker -Q {queue_name})\n")
        return job
    run_job_here(job)
    job.refresh_from_db()
    if job.status != Job.Status.SUCCEEDED:
        raise CommandError(f"{failure}: {job.message}")
    return job

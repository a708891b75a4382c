"""The task runner the tests use: each task runs in this process, through Celery's own `apply`
(so retries, bound tasks and the task's options behave as on a worker), as soon as it is sent."""
from __future__ import annotations

from typing import Any


def _task(name: str):
    import workers.tasks  # noqa: F401  registers the tasks
    from labeler.celery import app

    return app.tasks[name]


class InProcessRunner:
    def send(self, task: str, job_id: int) -> str | None:
        _task(task).apply(args=[job_id])
        return None

    def send_chunk(self, task: str, job_id: int, index: int) -> str:
        from annotations.jobs import chunk_task_id

        _task(task).apply(args=[job_id, index])
        return chunk_task_id(job_id, index)

    def call(self, task: str, args: list[Any], *, timeout_s: float) -> Any:
        return _task(task).apply(args=args).get()


class QueueOnly:
    """Sends nothing anywhere: the Job stays queued, as it would with no worker running."""

    def send(self, task: str, job_id: int) -> str | None:
        return None

    def call(self, task: str, args: list[Any], *, timeout_s: float) -> Any:
        raise AssertionError(f"{task} was called while tasks only queue")

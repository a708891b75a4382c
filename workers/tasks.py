"""Celery task registry: each task has an explicit dotted name, queue and retry policy.

Task names start with `workers.default.` or `workers.gpu.`; labeler/celery.py routes by prefix.
Tasks take a Job id, report through JobReporter and are idempotent, hence acks_late.
ML modules are imported inside the GPU tasks so the default queue's workers stay light.
"""
from __future__ import annotations

import logging

from celery import shared_task

log = logging.getLogger(__name__)


@shared_task(name="workers.default.thumbnails", queue="default", acks_late=True, max_retries=3, default_retry_delay=10)
def thumbnails(job_id: int) -> None:
    from .default_tasks import run_thumbnails

    run_thumbnails(job_id)

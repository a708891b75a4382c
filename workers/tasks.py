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


@shared_task(name="workers.gpu.prelabel", queue="gpu", acks_late=True, reject_on_worker_lost=True, max_retries=3)
def prelabel(job_id: int) -> None:
    from .prelabel import run_prelabel

    run_prelabel(job_id)


@shared_task(name="workers.gpu.register_model", queue="gpu", acks_late=True, reject_on_worker_lost=True, max_retries=3)
def register_model(job_id: int) -> None:
    from .model_jobs import run_register_model

    run_register_model(job_id)


@shared_task(name="workers.gpu.assist", queue="gpu", ignore_result=False, acks_late=False, time_limit=120)
def assist(image_id: int, box: list[float], label_class_id: int | None, model_version_id: int) -> dict:
    """Answers a waiting request, so it is not retried: a late answer is no answer."""
    from annotations.errors import DomainError

    from .assist import assist_mask

    try:
        return assist_mask(image_id=image_id, box_xywh=box, label_class_id=label_class_id, model_version_id=model_version_id)
    except DomainError as exc:
        return {"error": exc.message, "status": exc.status}


@shared_task(name="workers.default.export_dataset", queue="default", acks_late=True, reject_on_worker_lost=True, max_retries=0)
def export_dataset(job_id: int) -> None:
    from .dataset_tasks import run_export

    run_export(job_id)


@shared_task(name="workers.default.import_dataset", queue="default", acks_late=True, reject_on_worker_lost=True, max_retries=0)
def import_dataset(job_id: int) -> None:
    from .dataset_tasks import run_import

    run_import(job_id)


@shared_task(name="workers.gpu.train", queue="gpu", acks_late=True, reject_on_worker_lost=True, max_retries=3)
def train(job_id: int) -> None:
    """Redelivered after a worker dies; resumes from the job's last epoch checkpoint."""
    from .train_job import run_train

    run_train(job_id)


@shared_task(name="workers.gpu.evaluate", queue="gpu", acks_late=True, reject_on_worker_lost=True, max_retries=3)
def evaluate(job_id: int) -> None:
    from .evaluation import run_evaluate

    run_evaluate(job_id)

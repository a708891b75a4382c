"""manage.py evaluate_model <project> VERSION [--queue]: measure a version on its validation images
(semantic: per-class IoU, mIoU, pixel accuracy; Mask R-CNN: COCO segm AP, AP50, AP75) and store it."""
from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from annotations.management.project_arg import project_from_arg, version_from_arg
from annotations.training import evaluate_start
from workers.management.job_here import queue_or_run_here


class Command(BaseCommand):
    help = "Evaluate a model version on held-out images and store the metrics on it."

    def add_arguments(self, parser):
        parser.add_argument("project")
        parser.add_argument("version", help="model version id or name")
        parser.add_argument("--queue", action="store_true", help="enqueue on the gpu queue instead of running here")

    def handle(self, *args, project, version, queue, **options):
        target = project_from_arg(project)
        model_version = version_from_arg(target, version)
        job = queue_or_run_here(
            start=lambda runner: evaluate_start(project=target, user=None, version=model_version, runner=runner),
            queue=queue, failure="evaluation failed",
        )
        if queue:
            self.stdout.write(f"queued job {job.pk}")
            return
        metrics = {k: v for k, v in job.result["metrics"].items() if k not in ("image_ids", "errors")}
        self.stdout.write(job.message)
        self.stdout.write(json.dumps(metrics, indent=1))

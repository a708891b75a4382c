"""manage.py prelabel <project> --model VERSION [--images all|unlabeled|1,2,3] [--score-threshold 0.5]."""
from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from annotations.management.project_arg import project_from_arg, version_from_arg
from annotations.training import PRELABEL_IMAGE_SETS, prelabel_start
from workers.management.job_here import queue_or_run_here


class Command(BaseCommand):
    help = "Pre-label images with a model version. Runs here unless --queue sends it to the gpu workers."

    def add_arguments(self, parser):
        parser.add_argument("project")
        parser.add_argument("--model", required=True, help="model version id or name")
        parser.add_argument("--images", default="unlabeled", help="all, unlabeled, or comma-separated image ids")
        parser.add_argument("--score-threshold", type=float, default=0.5)
        parser.add_argument("--queue", action="store_true", help="enqueue on the gpu queue instead of running here")

    def handle(self, *args, project, model, images, score_threshold, queue, **options):
        target = project_from_arg(project)
        version = version_from_arg(target, model)
        which: str | list[int] = images
        if images not in PRELABEL_IMAGE_SETS:
            try:
                which = [int(i) for i in images.split(",") if i]
            except ValueError:
                raise CommandError("--images must be all, unlabeled or comma-separated ids") from None
        started = time.monotonic()
        job = queue_or_run_here(
            start=lambda runner: prelabel_start(project=target, user=None, version=version, images=which,
                                                score_threshold=score_threshold, runner=runner),
            queue=queue, failure="pre-labeling failed",
        )
        if queue:
            self.stdout.write(f"queued job {job.pk}")
        else:
            self.stdout.write(f"{job.message} in {time.monotonic() - started:.1f} s")

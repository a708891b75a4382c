"""manage.py prelabel <project> --model VERSION [--images all|unlabeled|1,2,3] [--score-threshold 0.5]."""
from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from annotations.management.project_arg import project_from_arg, version_from_arg
from annotations.models import Job
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
        if images not in ("all", "unlabeled"):
            try:
                which = [int(i) for i in images.split(",") if i]
            except ValueError:
                raise CommandError("--images must be all, unlabeled or comma-separated ids") from None
        params = {"model_version": version.pk, "images": which, "score_threshold": score_threshold}
        started = time.monotonic()
        job = queue_or_run_here(
            project=target, kind=Job.Kind.PRELABEL, task="workers.gpu.prelabel", params=params, body=_prelabel_here,
            queue=queue, failure="pre-labeling failed",
        )
        if queue:
            self.stdout.write(f"queued job {job.pk}")
        else:
            self.stdout.write(f"{job.message} in {time.monotonic() - started:.1f} s")


def _prelabel_here(job_id: int) -> None:
    from workers.prelabel import run_prelabel  # torch loads only when the command runs it here

    run_prelabel(job_id)

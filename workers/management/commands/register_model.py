"""manage.py register_model <project> <checkpoint> --name NAME  (or --torchvision --arch maskrcnn|fcn) [--queue].
The rules are annotations.training.model_register_check's, as for the API."""
from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotations import architectures
from annotations.management.project_arg import project_from_arg
from annotations.models import ModelVersion
from annotations.training import model_register_start
from workers.management.job_here import queue_or_run_here


class Command(BaseCommand):
    help = "Register a model checkpoint (or torchvision's published weights from the local torch cache) for a project."

    def add_arguments(self, parser):
        parser.add_argument("project", help="project id or exact name")
        parser.add_argument("checkpoint", nargs="?", help="a labeler checkpoint (.pt)")
        parser.add_argument("--name", required=True, help="name of the new model version")
        parser.add_argument("--torchvision", action="store_true", help="use torchvision's published weights")
        parser.add_argument("--arch", choices=architectures.TORCHVISION, help="architecture for --torchvision")
        parser.add_argument("--weights", default="DEFAULT", help="torchvision weights name (default: DEFAULT)")
        parser.add_argument("--queue", action="store_true", help="enqueue on the gpu queue instead of running here")

    def handle(self, *args, project, checkpoint, name, torchvision, arch, weights, queue, **options):
        target = project_from_arg(project)
        with ExitStack() as stack:
            upload = None
            if checkpoint and not torchvision:
                path = Path(checkpoint)
                if not path.is_file():
                    raise CommandError(f"{checkpoint}: no such checkpoint file")
                upload = stack.enter_context(path.open("rb"))
            job = queue_or_run_here(
                start=lambda runner: model_register_start(
                    project=target, user=None, name=name, checkpoint=upload, file_name=Path(checkpoint or "").name,
                    torchvision=torchvision, architecture=arch, weights=weights, runner=runner),
                queue=queue, failure="registering failed",
            )
        if queue:
            self.stdout.write(f"queued job {job.pk}")
            return
        version = ModelVersion.objects.get(pk=job.result["model_version"])
        mapped = sum(1 for c in version.class_mapping if c is not None)
        self.stdout.write(f"registered model version {version.pk} {version.name!r} ({version.architecture}), {mapped} class(es) mapped")

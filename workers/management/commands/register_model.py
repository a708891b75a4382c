"""manage.py register_model <project> <checkpoint> --name NAME  (or --torchvision --arch maskrcnn|fcn)."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from annotations.errors import DomainError
from annotations.management.project_arg import project_from_arg
from workers.model_versions import model_version_register, model_version_register_torchvision


class Command(BaseCommand):
    help = "Register a model checkpoint (or torchvision's published weights from the local torch cache) for a project."

    def add_arguments(self, parser):
        parser.add_argument("project", help="project id or exact name")
        parser.add_argument("checkpoint", nargs="?", help="a labeler checkpoint (.pt)")
        parser.add_argument("--name", required=True, help="name of the new model version")
        parser.add_argument("--torchvision", action="store_true", help="use torchvision's published weights")
        parser.add_argument("--arch", choices=["maskrcnn", "fcn"], help="architecture for --torchvision")
        parser.add_argument("--weights", default="DEFAULT", help="torchvision weights name (default: DEFAULT)")

    def handle(self, *args, project, checkpoint, name, torchvision, arch, weights, **options):
        target = project_from_arg(project)
        try:
            if torchvision:
                if not arch:
                    raise CommandError("--torchvision needs --arch maskrcnn or fcn")
                version = model_version_register_torchvision(project=target, arch=arch, name=name, weights=weights)
            else:
                if not checkpoint:
                    raise CommandError("give a checkpoint file, or --torchvision --arch ...")
                version = model_version_register(project=target, checkpoint_path=checkpoint, name=name)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        mapped = sum(1 for c in version.class_mapping if c is not None)
        self.stdout.write(f"registered model version {version.pk} {version.name!r} ({version.architecture}), {mapped} class(es) mapped")

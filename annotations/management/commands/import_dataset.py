"""manage.py import_dataset <project> FILE.zip --format coco|voc: all or nothing, errors name file and problem."""
from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotations.dataset_imports import dataset_import
from annotations.errors import DomainError
from annotations.management.project_arg import project_from_arg


class Command(BaseCommand):
    help = "Import a COCO or Pascal VOC zip (labels, with images inside or matched by name) into a project."

    def add_arguments(self, parser):
        parser.add_argument("project", help="project id or exact name")
        parser.add_argument("archive", help="the .zip to import")
        parser.add_argument("--format", required=True, choices=["coco", "voc"])
        parser.add_argument("--no-create-classes", action="store_true", help="refuse categories the project lacks")
        parser.add_argument("--no-thumbnails", action="store_true", help="do not queue the thumbnail job")

    def handle(self, *args, project: str, archive: str, format: str, no_create_classes: bool, no_thumbnails: bool, **options):
        target = project_from_arg(project)
        if not Path(archive).is_file():
            raise CommandError(f"{archive}: no such file")
        try:
            result = dataset_import(
                project=target, user=None, archive=archive, format=format, create_classes=not no_create_classes,
                make_thumbnails=not no_thumbnails,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"imported {result.annotations} annotation(s) on {result.images_created} new and "
            f"{result.images_matched} existing image(s); classes created: {', '.join(result.classes_created) or 'none'}"
        )

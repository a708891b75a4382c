"""manage.py import_images <project> <path-or-zip>: import a folder, files or a zip, all or nothing."""
from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotations import ingest
from annotations.errors import DomainError
from annotations.management.project_arg import project_from_arg


class Command(BaseCommand):
    help = "Import images (files, a folder, or a zip) into a project. One bad file refuses the whole import."

    def add_arguments(self, parser):
        parser.add_argument("project", help="project id or exact name")
        parser.add_argument("paths", nargs="+", help="image files, folders (searched recursively) or one .zip")
        parser.add_argument("--no-thumbnails", action="store_true", help="do not queue the thumbnail job")

    def handle(self, *args, project: str, paths: list[str], no_thumbnails: bool, **options):
        target = project_from_arg(project)
        zips = [Path(p) for p in paths if p.lower().endswith(".zip")]
        others = [Path(p) for p in paths if not p.lower().endswith(".zip")]
        if len(zips) > 1:
            raise CommandError("give at most one zip per import")
        files: list[Path] = []
        for path in others:
            if path.is_dir():
                files += sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
            elif path.is_file():
                files.append(path)
            else:
                raise CommandError(f"{path}: no such file or folder")
        for path in zips:
            if not path.is_file():
                raise CommandError(f"{path}: no such file")
        with ExitStack() as stack:
            opened = [(str(p), stack.enter_context(p.open("rb"))) for p in files]
            try:
                result = ingest.images_import(
                    project=target, user=None, files=opened or None, zip_file=zips[0] if zips else None,
                    make_thumbnails=not no_thumbnails,
                )
            except DomainError as exc:
                raise CommandError(exc.message) from None
        self.stdout.write(f"imported {len(result.created)} image(s), skipped {len(result.duplicates)} duplicate(s)")
        for name in result.duplicates:
            self.stdout.write(f"  duplicate: {name}")

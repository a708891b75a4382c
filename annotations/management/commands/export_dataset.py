"""manage.py export_dataset <project> --format coco|voc --out FILE.zip [options]: the same export as the Job."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotations.errors import DomainError
from annotations.exports import export_options, export_write
from annotations.management.project_arg import project_from_arg


class Command(BaseCommand):
    help = "Export a project's labels as a COCO or Pascal VOC zip."

    def add_arguments(self, parser):
        parser.add_argument("project", help="project id or exact name")
        parser.add_argument("--format", required=True, choices=["coco", "voc"])
        parser.add_argument("--out", required=True, help="the zip to write")
        parser.add_argument("--mask-format", default="rle", choices=["rle", "polygon"], help="COCO segmentation (default rle)")
        parser.add_argument("--with-images", action="store_true", help="put the image files in the zip")
        parser.add_argument("--only-status", default="", help="e.g. done,reviewed (default: every image)")
        parser.add_argument("--include-proposals", action="store_true", help="also export unreviewed model proposals")
        parser.add_argument(
            "--split", default="",
            help="e.g. train=0.8,val=0.2 (stable by image hash); default or 'stored': the split stored on each image by its import",
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--void-as-ignore", action="store_true", help="COCO: void regions as iscrowd regions of an 'ignore' category")
        parser.add_argument("--include-ground-truth", action="store_true",
                            help="also export the ground-truth sample's images, with their ground-truth labels")

    def handle(self, *args, project: str, format: str, out: str, **options):
        target = project_from_arg(project)
        try:
            opts = export_options(
                format=format, mask_format=options["mask_format"], with_images=options["with_images"],
                only_status=options["only_status"], include_proposals=options["include_proposals"],
                split=options["split"] or None, seed=options["seed"], void_as_ignore=options["void_as_ignore"],
                include_ground_truth=options["include_ground_truth"],
            )
            path = Path(out)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
            os.close(fd)
            try:
                summary = export_write(project=target, options=opts, target=tmp)
                os.replace(tmp, path)
            finally:
                Path(tmp).unlink(missing_ok=True)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        counts = ", ".join(f"{v} {k}" for k, v in summary.items() if k != "format")
        self.stdout.write(f"wrote {path} ({format}: {counts})")

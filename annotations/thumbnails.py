"""Thumbnails: a small JPEG per image, stored next to the content-addressed original."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings
from PIL import Image as PILImage

from .models import Image, Job


def thumbnail_make(*, image: Image) -> Image:
    """Write (or rewrite) the image's thumbnail; idempotent."""
    relative = f"thumbnails/{image.sha256[:2]}/{image.sha256}.jpg"
    target = Path(settings.MEDIA_ROOT) / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with PILImage.open(image.file.path) as img:
            img.draft("RGB", (settings.LABELER_THUMBNAIL_SIZE * 2, settings.LABELER_THUMBNAIL_SIZE * 2))
            img = img.convert("RGB")
            img.thumbnail((settings.LABELER_THUMBNAIL_SIZE, settings.LABELER_THUMBNAIL_SIZE))
            tmp = target.with_suffix(".tmp")
            img.save(tmp, format="JPEG", quality=85)
            tmp.replace(target)
    if image.thumbnail.name != relative:
        image.thumbnail.name = relative
        Image.objects.filter(pk=image.pk).update(thumbnail=relative)
    return image


def thumbnail_job_start(*, images: list[Image], user=None) -> Job | None:
    """Queue one `default`-queue job that makes the thumbnails of freshly stored images."""
    if not images:
        return None
    from .jobs import job_start

    return job_start(
        project=images[0].project, user=user, kind=Job.Kind.THUMBNAILS, params={"image_ids": [i.pk for i in images]}, total=len(images),
    )

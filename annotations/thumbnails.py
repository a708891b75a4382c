"""Thumbnails: a small JPEG per image, stored next to the content-addressed original."""
from __future__ import annotations

import io

from django.conf import settings
from PIL import Image as PILImage

from . import media
from .models import Image, Job


def thumbnail_make(*, image: Image) -> Image:
    """Write (or rewrite) the image's thumbnail; idempotent."""
    relative = f"thumbnails/{image.sha256[:2]}/{image.sha256}.jpg"
    if not media.exists(relative):
        with media.open_read(image.file.name) as source, PILImage.open(source) as img:
            img.draft("RGB", (settings.LABELER_THUMBNAIL_SIZE * 2, settings.LABELER_THUMBNAIL_SIZE * 2))
            img = img.convert("RGB")
            img.thumbnail((settings.LABELER_THUMBNAIL_SIZE, settings.LABELER_THUMBNAIL_SIZE))
            out = io.BytesIO()
            img.save(out, format="JPEG", quality=85)
        media.save(relative, out.getvalue())
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

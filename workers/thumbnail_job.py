"""The thumbnails job (default queue, no torch): one thumbnail and the superpixels per freshly stored
image (the superpixels so the editor's superpixel tool is ready when the image is first opened)."""
from __future__ import annotations

import logging

from annotations.jobs import JobReporter, job_body
from annotations.models import Image, Job
from annotations.thumbnails import thumbnail_make

from .superpixels import superpixels_make

log = logging.getLogger(__name__)


@job_body(Job.Kind.THUMBNAILS)
def run_thumbnails(job: Job, reporter: JobReporter) -> None:
    image_ids = list(job.params.get("image_ids", []))
    images = {i.pk: i for i in Image.objects.filter(pk__in=image_ids)}
    superpixels = 0
    for done, image_id in enumerate(image_ids, start=1):
        if image_id in images:
            thumbnail_make(image=images[image_id])
            try:
                superpixels_make(image=images[image_id])
                superpixels += 1
            except Exception:  # the editor makes them on demand later; the thumbnail still counts
                log.exception("superpixels of image %s failed", image_id)
        if done % 10 == 0 or done == len(image_ids):
            reporter.progress(done=done, total=len(image_ids))
    reporter.succeed(result={"thumbnails": len(images), "superpixels": superpixels})

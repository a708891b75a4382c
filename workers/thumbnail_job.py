"""The thumbnails job (default queue, no torch): one thumbnail per freshly stored image."""
from __future__ import annotations

from annotations.jobs import JobReporter, job_body
from annotations.models import Image, Job
from annotations.thumbnails import thumbnail_make


@job_body(Job.Kind.THUMBNAILS)
def run_thumbnails(job: Job, reporter: JobReporter) -> None:
    image_ids = list(job.params.get("image_ids", []))
    images = {i.pk: i for i in Image.objects.filter(pk__in=image_ids)}
    for done, image_id in enumerate(image_ids, start=1):
        if image_id in images:
            thumbnail_make(image=images[image_id])
        if done % 10 == 0 or done == len(image_ids):
            reporter.progress(done=done, total=len(image_ids))
    reporter.succeed(result={"thumbnails": len(images)})

"""Bodies of the `default` queue's tasks (no torch): thumbnails now; export and import later."""
from __future__ import annotations

from annotations.jobs import JobReporter
from annotations.models import Image
from annotations.thumbnails import thumbnail_make


def run_thumbnails(job_id: int) -> None:
    reporter = JobReporter(job_id)
    job = reporter.start()
    if job is None:
        return
    image_ids = list(job.params.get("image_ids", []))
    with reporter.outcome():
        images = {i.pk: i for i in Image.objects.filter(pk__in=image_ids)}
        for done, image_id in enumerate(image_ids, start=1):
            if image_id in images:
                thumbnail_make(image=images[image_id])
            if done % 10 == 0 or done == len(image_ids):
                reporter.progress(done=done, total=len(image_ids))
        reporter.succeed(result={"thumbnails": len(images)})

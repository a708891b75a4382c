"""A real redis-server and Celery worker make thumbnails for uploaded images."""
from __future__ import annotations

import io

import pytest
from PIL import Image as PILImage

from annotations import ingest
from annotations.models import Image, Job

from ..conftest import png_bytes
from .conftest import wait_for_job

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_the_worker_finishes_a_thumbnail_job(worker, project):
    files = [(f"p{i}.png", io.BytesIO(png_bytes(800, 600, seed=i))) for i in range(3)]
    result = ingest.images_import(project=project, user=None, files=files)
    job = wait_for_job(result.thumbnail_job.pk)
    assert job.status == Job.Status.SUCCEEDED, job.message
    assert (job.done, job.total) == (3, 3) and job.celery_task_id
    for image in Image.objects.filter(project=project):
        with PILImage.open(image.thumbnail.path) as thumb:
            assert thumb.size == (256, 192)

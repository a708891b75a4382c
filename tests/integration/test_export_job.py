"""An export Job runs on the real worker (Redis + Celery) and leaves a downloadable zip."""
from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from annotations import masks, services
from annotations.exports import export_options, export_start

from .conftest import wait_for_job

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_an_export_job_runs_on_the_worker_and_its_zip_downloads(worker, project, owner, car, road, make_image, owner_api, worker_media_root):
    for _ in range(3):
        image = make_image()
        bitmap = np.zeros((48, 64), np.uint8)
        bitmap[5:20, 5:30] = 1
        services.annotation_document_save(image=image, user=owner, version=0, annotations=[
            {"label_class": car.pk, "mask": masks.encode(bitmap)},
            {"label_class": road.pk, "mask": masks.encode(1 - bitmap)},
        ])
    job = export_start(project=project, user=owner, options=export_options(format="voc", with_images=True, split="train=0.7,val=0.3"))
    job = wait_for_job(job.pk, timeout=60)
    assert job.status == "succeeded", job.message
    # every visible mask is a VOC object, the semantic road too: 2 per image
    assert (job.done, job.total) == (3, 3) and job.result["objects"] == 6
    assert (worker_media_root / job.result_file.name).is_file() and job.result_file.name.startswith("exports/")
    response = owner_api.get(f"/api/jobs/{job.pk}/download/")
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as z:
        names = z.namelist()
    assert sum(n.startswith("JPEGImages/") for n in names) == 3 and "labelmap.txt" in names

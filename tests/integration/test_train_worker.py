"""Training on a real Celery worker: a worker killed mid-training is restarted and the redelivered
task resumes from the last epoch checkpoint, then registers and evaluates the version."""
from __future__ import annotations

import time

import pytest

from annotations.jobs import job_start
from annotations.models import Job, ModelVersion
from workers.train_job import workdir_for

from ..training.support import TINY_UNET_PARAMS, approved_shapes
from .conftest import wait_for_job

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_worker_killed_mid_training_resumes_from_its_last_checkpoint(worker, owner):
    project, _ = approved_shapes(owner=owner, n=24)
    job = job_start(project=project, user=owner, kind=Job.Kind.TRAIN, params={**TINY_UNET_PARAMS, "epochs": 30, "cpu_threads": 1, "name": "unet-resumed"}, total=30)
    checkpoint = workdir_for(job.pk) / "last.pt"  # MEDIA_ROOT is the worker's here
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (checkpoint.is_file() and Job.objects.get(pk=job.pk).done >= 2):
        time.sleep(0.05)
    assert checkpoint.is_file(), Job.objects.get(pk=job.pk).message
    worker.kill()
    killed_at = Job.objects.get(pk=job.pk)
    assert killed_at.status == "running" and 0 < killed_at.done < 30, (killed_at.status, killed_at.done)
    worker.start()  # the unacked task comes back after the visibility timeout
    job = wait_for_job(job.pk, timeout=180)  # redelivery after a restart takes ~100 s here
    assert job.status == "succeeded", job.message
    assert job.result["starts"][0] == 0 and job.result["resumed_from_epoch"] > 0, job.result
    version = ModelVersion.objects.get(name="unet-resumed")
    assert version.training["epochs_completed"] == 30 and version.training["starts"] == job.result["starts"]
    assert version.metrics["miou"] > 0.75, version.metrics

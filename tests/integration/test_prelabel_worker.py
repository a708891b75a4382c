"""Pre-labeling on a real Celery worker: accurate proposals, and a worker killed mid-job leaves no duplicates."""
from __future__ import annotations

import time

import pytest
from scipy import ndimage

from annotations.jobs import job_start
from annotations.models import Annotation, Image, Job
from workers.model_versions import model_version_register

from ..model_support import (
    class_ids,
    proposal_iou,
    shapes_project,
    train_tiny_fcn,
    train_tiny_maskrcnn,
    train_tiny_segnet,
)
from ..ml.support import TINY_FCN_SIZE, TINY_MASKRCNN_SIZE
from .conftest import wait_for_job

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _prelabel(project, version, images="all"):
    return job_start(project=project, user=None, kind=Job.Kind.PRELABEL, params={"model_version": version.pk, "images": images, "score_threshold": 0.5})


def _prelabel_shapes(owner, checkpoint, name: str, *, size: int = 48, kind: str = "semantic"):
    """8 shape images pre-labeled by the real worker with `checkpoint`: (project, truths, version, job)."""
    project, truths = shapes_project(owner=owner, n=8, size=(size, size), kind=kind)
    version = model_version_register(project=project, checkpoint_path=checkpoint, name=name)
    job = wait_for_job(_prelabel(project, version).pk)
    assert job.status == "succeeded", job.message
    return project, truths, version, job


def test_the_worker_writes_accurate_proposals(worker, owner, unet_checkpoint):
    project, truths, _, job = _prelabel_shapes(owner, unet_checkpoint, "unet-w")
    assert job.result["images"] == 8 and job.result["proposals"] > 0
    ids = class_ids(project)
    for image_id, truth in truths.items():
        for name, iou in proposal_iou(Image.objects.get(pk=image_id), truth, ids).items():
            assert iou > 0.8, (image_id, name, iou)


def test_a_worker_killed_mid_job_is_retried_without_duplicates(worker, owner, unet_checkpoint):
    project, _ = shapes_project(owner=owner, n=60, size=(128, 128), seed=11)
    version = model_version_register(project=project, checkpoint_path=unet_checkpoint, name="unet-k")
    job = _prelabel(project, version)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = Job.objects.filter(pk=job.pk).values_list("done", flat=True).get()
        if done >= 3:
            break
        time.sleep(0.01)
    killed_at = Job.objects.get(pk=job.pk)
    worker.kill()
    assert killed_at.status == "running" and 0 < killed_at.done < killed_at.total, (killed_at.status, killed_at.done)
    worker.start()  # the unacked task comes back after the visibility timeout
    job = wait_for_job(job.pk, timeout=180)
    assert job.status == "succeeded", job.message
    assert (job.done, job.total) == (60, 60)
    per_image_class = {}
    for image_id, class_id in Annotation.objects.filter(model_version=version).values_list("image_id", "label_class_id"):
        per_image_class[(image_id, class_id)] = per_image_class.get((image_id, class_id), 0) + 1
    assert per_image_class and max(per_image_class.values()) == 1  # semantic: one proposal per class and image
    assert len({image_id for image_id, _ in per_image_class}) == 60


def _mean_iou_per_class(truths, ids) -> dict[str, float]:
    pooled: dict[str, list[float]] = {}
    for image_id, truth in truths.items():
        for name, iou in proposal_iou(Image.objects.get(pk=image_id), truth, ids).items():
            pooled.setdefault(name, []).append(iou)
    return {name: sum(v) / len(v) for name, v in pooled.items()}


def test_the_worker_writes_accurate_segnet_proposals(worker, owner, tmp_path):
    project, truths, _, _ = _prelabel_shapes(owner, train_tiny_segnet(tmp_path / "segnet.pt"), "segnet-w")
    # SegNet's coarser decoder misses some triangle corners: average each class over the images.
    mean_iou = _mean_iou_per_class(truths, class_ids(project))
    assert sum(mean_iou.values()) / len(mean_iou) > 0.8, mean_iou


def test_the_worker_writes_accurate_fcn_proposals(worker, owner, tmp_path):
    project, truths, _, job = _prelabel_shapes(owner, train_tiny_fcn(tmp_path / "fcn.pt"), "fcn-w", size=TINY_FCN_SIZE)
    assert job.result["images"] == 8
    # Logits at stride 8, upsampled bilinearly: corners round off, so each class is averaged.
    mean_iou = _mean_iou_per_class(truths, class_ids(project))
    assert set(mean_iou) == {"circle", "rectangle", "triangle"}
    assert min(mean_iou.values()) > 0.8, mean_iou


def test_the_worker_writes_accurate_maskrcnn_proposals(worker, owner, tmp_path):
    project, truths, version, _ = _prelabel_shapes(
        owner, train_tiny_maskrcnn(tmp_path / "maskrcnn.pt"), "maskrcnn-w", size=TINY_MASKRCNN_SIZE, kind="instance",
    )
    proposals = Annotation.objects.filter(model_version=version)
    # One proposal per object, no duplicates: the easy shapes never overlap, so each object is
    # a connected part of its class in the truth.
    by_image: dict[int, list] = {}
    for row in proposals:
        assert row.is_proposal and row.source == "model" and row.score >= 0.5
        by_image.setdefault(row.image_id, []).append(row)
    assert set(by_image) == set(truths)
    for image_id, truth in truths.items():
        objects = sum(ndimage.label(truth == index)[1] for index in range(1, 4))
        assert len(by_image[image_id]) == objects, (image_id, len(by_image[image_id]), objects)
    mean_iou = _mean_iou_per_class(truths, class_ids(project))
    assert set(mean_iou) == {"circle", "rectangle", "triangle"}
    assert min(mean_iou.values()) > 0.8, mean_iou

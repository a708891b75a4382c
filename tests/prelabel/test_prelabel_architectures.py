"""The pre-label job with each architecture: SegNet learns the shapes; FCN and Mask R-CNN write
proposals in the right form (they do not learn the shapes in seconds on a CPU, see README)."""
from __future__ import annotations

import pytest
import torch

from annotations import masks
from annotations.models import Annotation, Image, Job
from workers.ml.checkpoints import ModelSpec, save_checkpoint
from workers.ml.datasets import SemanticSample
from workers.ml.synthetic import CLASS_NAMES, make_shapes
from workers.ml.training import TrainConfig, train
from workers.model_versions import model_version_register
from workers.prelabel import run_prelabel

from ..model_support import class_ids, proposal_iou, shapes_project

pytestmark = pytest.mark.django_db


def _checkpoint(tmp_path, arch, builder_kwargs, *, train_config=None):
    spec = ModelSpec(arch=arch, class_names=CLASS_NAMES, builder_kwargs=builder_kwargs)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = spec.build()
        if train_config is not None:
            samples = [SemanticSample(s.image, s.label_map) for s in make_shapes(64, size=(48, 48), seed=1)]
            model = train(model, spec, samples, config=train_config).model
    path = tmp_path / f"{arch}.pt"
    save_checkpoint(path, model, spec)
    return path


def _run(project, version, threshold=0.5):
    job = Job.objects.create(project=project, kind=Job.Kind.PRELABEL,
                             params={"model_version": version.pk, "images": "all", "score_threshold": threshold})
    run_prelabel(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.message
    return job


def test_segnet_proposals_match_the_shapes(owner, tmp_path):
    project, truths = shapes_project(owner=owner, n=8)
    ckpt = _checkpoint(tmp_path, "segnet", {"depth": 2, "base_width": 16},
                       train_config=TrainConfig(epochs=60, batch_size=8, lr=3e-3, class_weights="median_frequency"))
    version = model_version_register(project=project, checkpoint_path=ckpt, name="segnet")
    _run(project, version)
    # SegNet's coarser decoder misses some triangle corners: pool each class's pixels over the images.
    ids = class_ids(project)
    pooled: dict[str, list[float]] = {}
    for image_id, truth in truths.items():
        for name, iou in proposal_iou(Image.objects.get(pk=image_id), truth, ids).items():
            pooled.setdefault(name, []).append(iou)
    mean_iou = {name: sum(v) / len(v) for name, v in pooled.items()}
    assert sum(mean_iou.values()) / len(mean_iou) > 0.8, mean_iou


def test_fcn_writes_one_semantic_proposal_per_class_present(owner, tmp_path):
    project, _ = shapes_project(owner=owner, n=2)
    version = model_version_register(project=project, checkpoint_path=_checkpoint(tmp_path, "fcn", {"backbone": "resnet18"}), name="fcn")
    _run(project, version)
    rows = list(Annotation.objects.filter(model_version=version))
    assert rows
    per_image_class = {(a.image_id, a.label_class_id) for a in rows}
    assert len(per_image_class) == len(rows)  # semantic: at most one mask per class and image
    for row in rows:
        assert row.is_proposal and row.source == "model" and row.score is None
        assert masks.decode(row.rle).shape == (48, 48) and row.area == masks.area(row.rle) > 0


def test_maskrcnn_writes_instance_proposals_with_scores(owner, tmp_path):
    project, _ = shapes_project(owner=owner, n=2, kind="instance")
    kwargs = {"backbone": "resnet18_fpn", "min_size": 64, "max_size": 64, "box_detections_per_img": 10}
    version = model_version_register(project=project, checkpoint_path=_checkpoint(tmp_path, "maskrcnn", kwargs), name="mrcnn")
    job = _run(project, version, threshold=0.0)
    rows = list(Annotation.objects.filter(model_version=version))
    assert len(rows) == job.result["proposals"] > 0
    for row in rows:
        assert row.is_proposal and 0.0 <= row.score <= 1.0
        assert row.label_class.kind == "instance" and row.area > 0
    for image in Image.objects.filter(project=project):
        assert image.uncertainty is not None

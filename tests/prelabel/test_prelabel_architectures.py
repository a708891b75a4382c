"""The pre-label job with FCN and Mask R-CNN: proposals in the right form (they do not learn the
shapes in seconds on a CPU, see README). U-Net and SegNet quality: tests/integration/test_prelabel_worker.py."""
from __future__ import annotations

import pytest
import torch

from annotations import masks
from annotations.models import Annotation, Image, Job
from workers.ml.checkpoints import ModelSpec, save_checkpoint
from workers.ml.synthetic import CLASS_NAMES
from workers.model_versions import model_version_register
from workers.prelabel_job import run_prelabel

from ..model_support import shapes_project

pytestmark = pytest.mark.django_db


def _checkpoint(tmp_path, arch, builder_kwargs):
    """An untrained network: these tests are about the form of the proposals."""
    spec = ModelSpec(arch=arch, class_names=CLASS_NAMES, builder_kwargs=builder_kwargs)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = spec.build()
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


def test_a_version_trained_in_cpu_numerics_pre_labels_and_evaluates_in_them(owner, tmp_path, monkeypatch):
    from workers.evaluation import evaluate_version
    from workers.ml import inference

    project, _ = shapes_project(owner=owner, n=2)
    version = model_version_register(project=project, checkpoint_path=_checkpoint(tmp_path, "unet", {"depth": 2, "base_width": 8}),
                                      name="unet-cl")
    version.training = {**version.training, "recipe": {"numerics": "fp32-cl"}}  # as the budget recipe records it
    version.save(update_fields=["training"])
    used = []
    real_init = inference.Predictor.__init__

    def recording_init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        used.append((self.numerics, self.memory_format))

    monkeypatch.setattr(inference.Predictor, "__init__", recording_init)
    _run(project, version)
    for image in Image.objects.filter(project=project):
        image.status = Image.Status.DONE
        image.save(update_fields=["status"])
    evaluate_version(version)
    assert used == [("fp32-cl", torch.channels_last)] * 2


def test_the_box_assist_runs_a_version_in_its_recipes_numerics(owner, tmp_path, monkeypatch):
    import numpy as np

    from workers import assist
    from workers.ml import inference

    project, _ = shapes_project(owner=owner, n=1)
    version = model_version_register(project=project, checkpoint_path=_checkpoint(tmp_path, "unet", {"depth": 2, "base_width": 8}),
                                      name="unet-assist")
    version.training = {**version.training, "recipe": {"numerics": "fp32-cl"}}
    version.save(update_fields=["training"])
    asked = []

    def recording_assist_box(model, array, box, **kwargs):
        asked.append(kwargs.get("numerics"))
        out = np.zeros(array.shape[:2], bool)
        out[10:20, 10:20] = True
        return out

    monkeypatch.setattr(inference, "assist_box", recording_assist_box)
    image = Image.objects.filter(project=project).first()
    answer = assist.assist_mask(image_id=image.pk, box_xywh=[5, 5, 30, 30], label_class_id=None, model_version_id=version.pk)
    assert asked == ["fp32-cl"] and answer["area"] == 100

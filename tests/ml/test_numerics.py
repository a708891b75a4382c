"""CPU numerics at inference (workers/ml/device.py, workers/ml/inference.py): a semantic net
pre-labels in the numerics its recipe trained it in, they are the ones that run, and bf16's
answers agree with fp32's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workers.ml import device as devices
from workers.ml.checkpoints import ModelSpec
from workers.ml.inference import Predictor
from workers.ml.synthetic import CLASS_NAMES, make_shapes
from workers.ml.training import TrainConfig, train

from .support import TINY_UNET, build_seeded, semantic


@pytest.fixture(scope="module")
def trained():
    spec = ModelSpec(arch="unet", class_names=CLASS_NAMES, builder_kwargs=TINY_UNET)
    data = make_shapes(10, size=(64, 64), seed=21)
    result = train(build_seeded(spec), spec, semantic(data[:8]), config=TrainConfig(epochs=8, batch_size=4, lr=1e-2))
    return result.model, spec, [s.image for s in data[8:]]


def _labels(predictions, spec) -> list[np.ndarray]:
    out = []
    for p in predictions:
        assert p.error is None, p.error
        label = np.zeros(p.size, np.int64)
        for index, mask in p.masks.items():
            label[mask] = index
        out.append(label)
    return out


def _run_seeing_dtypes(model, call):
    """(call(), the dtypes the model's first convolution put out while it ran)."""
    conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    seen: set = set()
    hook = conv.register_forward_hook(lambda m, args, out: seen.add(out.dtype))
    try:
        return call(), seen
    finally:
        hook.remove()


@pytest.mark.parametrize("numerics", devices.cpu_numerics_candidates())
def test_a_predictor_runs_in_the_numerics_it_is_given_and_agrees_with_fp32(trained, numerics):
    model, spec, images = trained
    got, seen = _run_seeing_dtypes(model, lambda: list(Predictor(model, spec, device="cpu", numerics=numerics)
                                                       .predict(list(enumerate(images)))))
    assert seen == {devices.NUMERICS[numerics].autocast_dtype or torch.float32}
    fp32 = list(Predictor(model, spec, device="cpu").predict(list(enumerate(images))))
    for a, b in zip(_labels(got, spec), _labels(fp32, spec)):
        assert (a == b).mean() >= 0.99  # bf16 moves a few pixels on class borders at most


def test_mask_rcnn_stays_fp32_on_the_cpu_whatever_it_is_given():
    spec = ModelSpec(arch="maskrcnn", class_names=CLASS_NAMES, builder_kwargs={"backbone": "resnet18_fpn", "min_size": 64, "max_size": 64})
    predictor = Predictor(build_seeded(spec), spec, device="cpu", numerics="fp32-cl")
    assert predictor.numerics is None and predictor.memory_format == torch.contiguous_format


def test_a_version_pre_labels_in_its_recipes_numerics(monkeypatch):
    from annotations.models import ModelVersion
    from workers.model_versions import version_numerics

    assert version_numerics(ModelVersion(training={"recipe": {"numerics": "fp32-cl"}})) == "fp32-cl"
    assert version_numerics(ModelVersion(training={"recipe": {"crop_size": 256}})) is None  # trained before, or elsewhere
    assert version_numerics(ModelVersion(training={"recipe": {"numerics": "fp4"}})) is None
    assert version_numerics(ModelVersion(training={})) is None
    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: False)  # a worker without bf16 runs it in fp32
    spec = ModelSpec(arch="unet", class_names=CLASS_NAMES, builder_kwargs=TINY_UNET)
    assert Predictor(build_seeded(spec), spec, device="cpu", numerics="bf16-cl").numerics == "fp32-cl"


@pytest.mark.parametrize("numerics", devices.cpu_numerics_candidates())
def test_the_box_assist_runs_in_the_numerics_it_is_given_and_agrees_with_fp32(trained, numerics):
    from workers.ml.inference import assist_box

    model, spec, images = trained
    got, seen = _run_seeing_dtypes(model, lambda: assist_box(model, images[0], (8, 8, 56, 56), spec=spec, device="cpu",
                                                             numerics=numerics))
    assert seen == {devices.NUMERICS[numerics].autocast_dtype or torch.float32}
    fp32 = assist_box(model, images[0], (8, 8, 56, 56), spec=spec, device="cpu")
    assert (got == fp32).mean() >= 0.99

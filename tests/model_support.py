"""Small trained models and synthetic projects for the Django-side model tests (pre-label, assist)."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from annotations import ingest, services
from annotations.models import Image, LabelClass, Project

SHAPE_COLOURS = {"circle": "#dc3c3c", "rectangle": "#3cc83c", "triangle": "#465ae6"}


def train_tiny(path: Path, *, arch: str, builder_kwargs: dict, config, size: int = 48) -> Path:
    """A tiny net trained on 64 synthetic `size` px shape images; saved as a labeler checkpoint.

    Semantic nets learn the label maps, Mask R-CNN the instance masks."""
    import torch

    from workers.ml.builders import is_instance_arch
    from workers.ml.checkpoints import ModelSpec, save_checkpoint
    from workers.ml.datasets import InstanceSample, SemanticSample
    from workers.ml.synthetic import CLASS_NAMES, make_shapes
    from workers.ml.training import train

    spec = ModelSpec(arch=arch, class_names=CLASS_NAMES, builder_kwargs=builder_kwargs)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        shapes = make_shapes(64, size=(size, size), seed=1)
        if is_instance_arch(arch):
            samples = [InstanceSample(s.image, s.instances) for s in shapes]
        else:
            samples = [SemanticSample(s.image, s.label_map) for s in shapes]
        result = train(spec.build(), spec, samples, config=config)
    save_checkpoint(path, result.model, spec)
    return path


def train_tiny_unet(path: Path, *, epochs: int = 12) -> Path:
    from workers.ml.training import TrainConfig

    return train_tiny(path, arch="unet", builder_kwargs={"depth": 2, "base_width": 8},
                      config=TrainConfig(epochs=epochs, batch_size=8, lr=1e-2))


def train_tiny_segnet(path: Path) -> Path:
    """SegNet needs median-frequency class weights to learn the rarer triangle at all."""
    from workers.ml.training import TrainConfig

    return train_tiny(path, arch="segnet", builder_kwargs={"depth": 2, "base_width": 16},
                      config=TrainConfig(epochs=60, batch_size=8, lr=3e-3, class_weights="median_frequency"))


def train_tiny_fcn(path: Path) -> Path:
    """torchvision's FCN head on ResNet-18's first two stages (output stride 8), ~11 s on 2 cores."""
    from workers.ml.training import TrainConfig

    from .ml.support import TINY_FCN, TINY_FCN_SIZE

    return train_tiny(path, arch="fcn", builder_kwargs=TINY_FCN, size=TINY_FCN_SIZE,
                      config=TrainConfig(epochs=30, batch_size=8, lr=1e-2))


def train_tiny_maskrcnn(path: Path) -> Path:
    """torchvision's Mask R-CNN on a two-stage ResNet-18 FPN with small heads, ~20 s on 2 cores."""
    from workers.ml.training import TrainConfig

    from .ml.support import TINY_MASKRCNN, TINY_MASKRCNN_SIZE

    return train_tiny(path, arch="maskrcnn", builder_kwargs={**TINY_MASKRCNN, "min_size": TINY_MASKRCNN_SIZE,
                                                             "max_size": TINY_MASKRCNN_SIZE},
                      size=TINY_MASKRCNN_SIZE,
                      config=TrainConfig(epochs=15, batch_size=8, lr=1e-3))


def shapes_project(*, owner, n: int, size: tuple[int, int] = (48, 48), seed: int = 5, kind: str = "semantic"):
    """A project with circle/rectangle/triangle classes and `n` synthetic images; returns (project, truths).

    truths: image id -> H x W label map (0 background, 1 circle, 2 rectangle, 3 triangle).
    """
    from workers.ml.synthetic import CLASS_NAMES, make_shapes

    project = services.project_create(name=f"Shapes {seed}", owner=owner)
    for order, name in enumerate(CLASS_NAMES[1:]):
        services.label_class_create(project=project, name=name, kind=kind, color=SHAPE_COLOURS[name], order=order)
    samples = make_shapes(n, size=size, seed=seed)
    files = []
    for index, sample in enumerate(samples):
        buffer = io.BytesIO()
        PILImage.fromarray(sample.image).save(buffer, format="PNG")
        files.append((f"shape{index:04d}.png", io.BytesIO(buffer.getvalue())))
    result = ingest.images_import(project=project, user=owner, files=files, make_thumbnails=False)
    by_name = {image.file_name: image.pk for image in result.created}
    truths = {by_name[f"shape{index:04d}.png"]: sample.label_map for index, sample in enumerate(samples)}
    return project, truths


def class_ids(project: Project) -> dict[str, int]:
    return {c.name: c.pk for c in LabelClass.objects.filter(project=project)}


def proposal_iou(image: Image, truth: np.ndarray, names_to_ids: dict[str, int]) -> dict[str, float]:
    from annotations import masks
    from workers.ml.synthetic import CLASS_NAMES

    ious = {}
    for index, name in enumerate(CLASS_NAMES[1:], start=1):
        wanted = truth == index
        rows = [a for a in image.annotations.filter(label_class_id=names_to_ids[name])]
        got = np.zeros_like(wanted)
        for row in rows:
            got |= masks.decode(row.rle).astype(bool)
        union = (wanted | got).sum()
        if union:
            ious[name] = float((wanted & got).sum() / union)
    return ious

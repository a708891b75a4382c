"""Model versions on the worker side: register a checkpoint as a ModelVersion, load one to run.

Registration reads the checkpoint's spec with `torch.load(weights_only=True)`, checks that the
weights fit the architecture, maps the spec's class names to the project's label classes by name
and stores the file under models/ in media storage (annotations/media.py). Loading keeps a small per-process cache so a warm
worker answers assist calls and pre-label jobs without rebuilding the network.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from annotations import media
from annotations.errors import ValidationFailed
from annotations.models import ModelVersion, Project
from annotations.training import model_version_name_check

from .ml import checkpoints
from .ml.checkpoints import CheckpointError, ModelSpec

TORCHVISION_PREFIX = "torchvision:"


def class_mapping_for(*, project: Project, class_names: list[str], require_all: bool) -> list[int | None]:
    """Output index -> label class id (index 0, the background, maps to None)."""
    by_name = {c.name.lower(): c.pk for c in project.label_classes.all()}
    mapping: list[int | None] = [None]
    unknown = []
    for name in class_names[1:]:
        class_id = by_name.get(name.lower())
        if class_id is None:
            unknown.append(name)
        mapping.append(class_id)
    if require_all and unknown:
        raise ValidationFailed(
            f"the model's classes {unknown} are not classes of project {project.name!r}; add them or rename them",
            unknown=unknown,
        )
    if not any(mapping):
        raise ValidationFailed(f"none of the model's classes match a class of project {project.name!r}")
    return mapping


def _store_checkpoint(project: Project, source: Path, name: str) -> str:
    digest = hashlib.sha256()
    with source.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    relative = f"models/{project.pk}/{name}-{digest.hexdigest()[:12]}.pt"
    if not media.exists(relative):  # named by content: a stored one is this file
        media.save(relative, source)
    return relative


def _spec_fields(spec: ModelSpec) -> dict:
    return {
        "architecture": spec.arch, "builder_kwargs": spec.builder_kwargs,
        "normalization": spec.normalization, "size_policy": spec.size_policy,
    }


def model_version_register(
    *, project: Project, checkpoint_path: str | Path, name: str, user: AbstractBaseUser | None = None,
    source: str = ModelVersion.Source.UPLOADED, metrics: dict | None = None, training: dict | None = None,
    parent: ModelVersion | None = None, file_name: str | None = None,
) -> ModelVersion:
    """Register a labeler checkpoint (spec + state dict) after checking that it loads. Errors name
    the file as `file_name` (what the user uploaded) when given."""
    path = Path(checkpoint_path)
    shown = file_name or path.name
    if not path.is_file():
        raise ValidationFailed(f"{shown}: no such checkpoint file")
    model_version_name_check(project=project, name=name)
    try:
        _, spec = checkpoints.load_checkpoint(path)
    except CheckpointError as exc:
        raise ValidationFailed(f"{shown}: {exc}") from None
    except Exception as exc:  # torch refuses pickles that are not plain weights
        raise ValidationFailed(f"{shown}: not a loadable checkpoint ({type(exc).__name__}: {exc})") from None
    mapping = class_mapping_for(project=project, class_names=list(spec.class_names), require_all=True)
    with transaction.atomic():
        return ModelVersion.objects.create(
            project=project, name=name, class_mapping=mapping, checkpoint=_store_checkpoint(project, path, name),
            metrics=metrics or {}, training=training or {}, source=source, parent=parent, created_by=user,
            **_spec_fields(spec),
        )


def model_version_register_torchvision(
    *, project: Project, arch: str, name: str, weights: str = "DEFAULT", user: AbstractBaseUser | None = None,
) -> ModelVersion:
    """Register torchvision's published weights (Mask R-CNN: COCO; FCN: VOC) from the local torch cache.

    Their categories are matched to the project's classes by name; the others are ignored.
    A missing weights file is a clear error naming it: nothing is downloaded.
    """
    model_version_name_check(project=project, name=name)
    try:
        path = checkpoints.torchvision_weights_path(arch, weights)
        model, spec = checkpoints.load_torchvision_weights(arch, weights)
    except CheckpointError as exc:
        raise ValidationFailed(str(exc)) from None
    del model
    mapping = class_mapping_for(project=project, class_names=list(spec.class_names), require_all=False)
    return ModelVersion.objects.create(
        project=project, name=name, class_mapping=mapping, checkpoint="", source=ModelVersion.Source.TORCHVISION,
        training={"torchvision_weights": f"{arch}:{weights}", "file": str(path), "class_names": list(spec.class_names)},
        created_by=user, **_spec_fields(spec),
    )


_cache: OrderedDict[tuple, tuple] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_SIZE = 2


def version_numerics(version: ModelVersion) -> str | None:
    """The CPU numerics the version was trained and validated in (its recipe's, workers/ml/device.py),
    which its pre-labels and evaluation use too; None (fp32) for versions trained elsewhere or before."""
    training = version.training if isinstance(version.training, dict) else {}
    recipe = training.get("recipe") if isinstance(training.get("recipe"), dict) else {}
    numerics = recipe.get("numerics")
    from .ml.device import NUMERICS

    return numerics if numerics in NUMERICS else None


def load_model_version(version: ModelVersion, *, device: str | None = None):
    """(model on the device, spec) for a model version, cached per worker process."""
    from .ml.device import select_device

    dev = select_device(device)
    if version.source == ModelVersion.Source.TORCHVISION:
        arch, weights = version.training["torchvision_weights"].split(":", 1)
        key = (version.pk, "torchvision", str(dev))
        loader = lambda: checkpoints.load_torchvision_weights(arch, weights)  # noqa: E731
    else:
        try:
            path = media.local_path(version.checkpoint.name)
        except FileNotFoundError:
            raise ValidationFailed(
                f"the checkpoint of model version {version.name!r} is missing ({version.checkpoint.name})") from None
        key = (version.pk, str(path), path.stat().st_mtime_ns, str(dev))
        loader = lambda: checkpoints.load_checkpoint(path)  # noqa: E731
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    model, spec = loader()
    model = model.to(dev).eval()
    with _cache_lock:
        _cache[key] = (model, spec)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return model, spec

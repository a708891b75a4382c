"""Checkpoint files: a model's state dict together with the metadata needed to rebuild and
use it (`ModelSpec`: architecture, builder kwargs, class names, input normalization, size
policy), saved with `torch.save` and loaded with `torch.load(..., weights_only=True)`.

Also finds torchvision's published COCO weights in the torch hub cache: nothing here
downloads; a missing file is an error that names the path it looked for.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from .builders import ARCHITECTURES, build_model, is_instance_arch

FORMAT_VERSION = 1
IMAGENET_NORMALIZATION = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: wrong format, wrong architecture, missing file."""


@dataclass(frozen=True)
class ModelSpec:
    """Everything besides the weights that a model version needs to be rebuilt and run.

    class_names[i] names output index i; index 0 is the background.
    normalization: mean/std on 0..1 pixel values (semantic nets; Mask R-CNN normalizes inside).
    size_policy: {"mode": "pad", "multiple": 32} (fully convolutional, exact size back),
    {"mode": "resize", "size": [h, w]}, or {"mode": "native"} (Mask R-CNN resizes itself).
    """

    arch: str
    class_names: tuple[str, ...]
    builder_kwargs: dict = field(default_factory=dict)
    normalization: dict = field(default_factory=lambda: dict(IMAGENET_NORMALIZATION))
    size_policy: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.arch not in ARCHITECTURES:
            raise CheckpointError(f"unknown architecture {self.arch!r}")
        object.__setattr__(self, "class_names", tuple(self.class_names))
        if len(self.class_names) < 2:
            raise CheckpointError("class_names needs the background and at least one class")
        if "num_classes" in self.builder_kwargs:
            if self.builder_kwargs["num_classes"] != len(self.class_names):
                raise CheckpointError(
                    f"builder num_classes {self.builder_kwargs['num_classes']} != "
                    f"{len(self.class_names)} class names"
                )
            kwargs = {k: v for k, v in self.builder_kwargs.items() if k != "num_classes"}
            object.__setattr__(self, "builder_kwargs", kwargs)
        if not self.size_policy:
            default = {"mode": "native"} if is_instance_arch(self.arch) else {"mode": "pad", "multiple": 32}
            object.__setattr__(self, "size_policy", default)
        mode = self.size_policy.get("mode")
        if mode not in ("pad", "resize", "native"):
            raise CheckpointError(f"unknown size policy {self.size_policy!r}")
        if mode == "native" and not is_instance_arch(self.arch):
            raise CheckpointError("size policy 'native' is for Mask R-CNN only")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def is_instance(self) -> bool:
        return is_instance_arch(self.arch)

    def build(self) -> nn.Module:
        return build_model(self.arch, num_classes=self.num_classes, **self.builder_kwargs)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["class_names"] = list(self.class_names)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ModelSpec":
        try:
            return cls(
                arch=data["arch"],
                class_names=tuple(data["class_names"]),
                builder_kwargs=dict(data.get("builder_kwargs", {})),
                # "normalisation": the key's spelling in checkpoints written before 2026-12
                normalization=dict(data.get("normalization", data.get("normalisation", IMAGENET_NORMALIZATION))),
                size_policy=dict(data.get("size_policy", {})),
            )
        except KeyError as exc:
            raise CheckpointError(f"checkpoint metadata lacks {exc.args[0]!r}") from None


def atomic_save(obj: Any, path: str | os.PathLike) -> None:
    """torch.save to a temporary file then rename, so a killed worker never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(
    path: str | os.PathLike, model: nn.Module, spec: ModelSpec, *, extra: Mapping[str, Any] | None = None
) -> None:
    """Write {"format", "spec", "state_dict", "extra"}; `extra` must hold plain types/tensors."""
    atomic_save(
        {
            "format": FORMAT_VERSION,
            "spec": spec.to_dict(),
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "extra": dict(extra or {}),
        },
        path,
    )


def read_checkpoint(path: str | os.PathLike, *, map_location: str | torch.device = "cpu") -> dict:
    """The raw checkpoint dict, loaded with weights_only=True (no pickled code runs)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint file not found: {path}")
    try:
        data = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError...
        raise CheckpointError(f"{path} is not a loadable weights-only checkpoint: {exc}") from exc
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} does not hold a checkpoint dict")
    return data


def check_state_dict(arch: str, model: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> None:
    """Raise CheckpointError naming the arch and the missing / unexpected / misshapen keys."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    misshapen = sorted(
        f"{k} {tuple(state_dict[k].shape)} vs {tuple(expected[k].shape)}"
        for k in set(expected) & set(state_dict)
        if tuple(state_dict[k].shape) != tuple(expected[k].shape)
    )
    if not (missing or unexpected or misshapen):
        return

    def head(keys: list[str]) -> str:
        more = f" (+{len(keys) - 8} more)" if len(keys) > 8 else ""
        return ", ".join(keys[:8]) + more

    parts = []
    if missing:
        parts.append(f"missing keys: {head(missing)}")
    if unexpected:
        parts.append(f"unexpected keys: {head(unexpected)}")
    if misshapen:
        parts.append(f"shape mismatches (checkpoint vs model): {head(misshapen)}")
    raise CheckpointError(f"state dict does not match architecture {arch!r}: " + "; ".join(parts))


def load_checkpoint(
    path: str | os.PathLike, *, map_location: str | torch.device = "cpu"
) -> tuple[nn.Module, ModelSpec]:
    """Rebuild the model from the checkpoint's spec and load its weights (eval mode)."""
    data = read_checkpoint(path, map_location=map_location)
    if "spec" not in data or "state_dict" not in data:
        raise CheckpointError(f"{path} lacks 'spec' or 'state_dict' (not a labeler checkpoint)")
    spec = ModelSpec.from_dict(data["spec"])
    model = spec.build()
    check_state_dict(spec.arch, model, data["state_dict"])
    model.load_state_dict(data["state_dict"])
    return model.eval(), spec


def load_state_dict_file(
    path: str | os.PathLike, spec: ModelSpec, *, map_location: str | torch.device = "cpu"
) -> nn.Module:
    """Build `spec`'s model and load a bare state dict file (e.g. a training checkpoint's
    "model" entry or a file exported elsewhere)."""
    data = read_checkpoint(path, map_location=map_location)
    state_dict = data.get("state_dict", data.get("model", data))
    model = spec.build()
    check_state_dict(spec.arch, model, state_dict)
    model.load_state_dict(state_dict)
    return model.eval()


# --- torchvision's published weights -----------------------------------------------------

_TORCHVISION_WEIGHTS = {
    # arch -> (weights enum path, builder kwargs the weights were trained with)
    "maskrcnn": ("MaskRCNN_ResNet50_FPN_V2_Weights", {"backbone": "resnet50_fpn_v2"}),
    "fcn": ("FCN_ResNet50_Weights", {"backbone": "resnet50"}),
}


def _weights_enum(arch: str, weights: str):
    if arch not in _TORCHVISION_WEIGHTS:
        raise CheckpointError(
            f"no torchvision published weights for {arch!r}; available for {sorted(_TORCHVISION_WEIGHTS)}"
        )
    from torchvision.models import detection, segmentation

    enum_name = _TORCHVISION_WEIGHTS[arch][0]
    enum = getattr(detection if arch == "maskrcnn" else segmentation, enum_name)
    try:
        return enum[weights]
    except KeyError:
        raise CheckpointError(
            f"{enum_name} has no {weights!r}; choose from {[w.name for w in enum]}"
        ) from None


def torchvision_weights_path(arch: str, weights: str = "DEFAULT") -> Path:
    """Where the torch hub cache keeps `arch`'s published weights file (may not exist)."""
    entry = _weights_enum(arch, weights)
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(entry.url)


def load_torchvision_weights(
    arch: str, weights: str = "DEFAULT", *, map_location: str | torch.device = "cpu", **builder_kwargs: Any
) -> tuple[nn.Module, ModelSpec]:
    """Mask R-CNN or FCN with torchvision's published weights, from the local torch cache only.

    The spec's class_names are the weights' categories (COCO for Mask R-CNN, VOC for FCN) for
    the caller to match to a project's classes by name. Raises CheckpointError naming the file
    when it is not in the cache: nothing is downloaded here.
    """
    entry = _weights_enum(arch, weights)
    path = torchvision_weights_path(arch, weights)
    if not path.is_file():
        raise CheckpointError(
            f"torchvision weights {entry} are not in the local torch cache: missing file {path}. "
            f"Copy {os.path.basename(entry.url)} there (from {entry.url}) on a machine that can "
            "reach it; nothing is downloaded at run time."
        )
    categories = tuple(entry.meta["categories"])
    kwargs = {**_TORCHVISION_WEIGHTS[arch][1], **builder_kwargs}
    spec = ModelSpec(
        arch=arch,
        class_names=("background",) + categories[1:],
        builder_kwargs=kwargs,
    )
    state_dict = read_checkpoint(path, map_location=map_location)
    model = spec.build()
    if arch == "fcn":
        # Published FCN weights carry the auxiliary training head; inference does not use it,
        # and the wrapper nests torchvision's module under "model.".
        state_dict = {
            f"model.{k}": v for k, v in state_dict.items() if not k.startswith("aux_classifier.")
        }
    check_state_dict(arch, model, state_dict)
    model.load_state_dict(state_dict)
    return model.eval(), spec

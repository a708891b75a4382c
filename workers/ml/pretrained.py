"""Published weights as a starting point for training: which file each network starts from,
where that file is, and how its tensors go into our networks.

- Mask R-CNN R50-FPN v2 and FCN ResNet-50/101 start from torchvision's COCO-trained models;
  the small Mask R-CNN and FCN on ResNet-18, U-Net on ResNet-18/34 and SegNet on VGG-16-BN start
  from torchvision's ImageNet classifiers (the encoder only).
- The file is the torch hub cache's (`<hub dir>/checkpoints/<file name of the published URL>`)
  or one the user names. Nothing is downloaded: a missing file is a CheckpointError that names
  the file expected and where to put it.
- Tensors load by name (a prefix is added where our module nests torchvision's); tensors whose
  shape differs (the class heads, sized for the project's classes) and keys our network lacks
  (a classifier's fc, an FCN's auxiliary head) are skipped and reported. A file that fills less
  than the network's encoder is refused rather than silently half-used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .checkpoints import CheckpointError, read_checkpoint


@dataclass(frozen=True)
class WeightsSource:
    enum: str  # torchvision weights enum and member, e.g. "ResNet34_Weights.IMAGENET1K_V1"
    prefix: str  # added to the file's keys to reach our module's
    required: str  # every key of ours under this prefix must come from the file (the encoder)
    what: str  # for messages and the version's record


def source_for(arch: str, builder_kwargs: dict) -> WeightsSource:
    """The published weights that start `arch` built with `builder_kwargs`."""
    backbone = builder_kwargs.get("backbone")
    encoder = builder_kwargs.get("encoder")
    if arch == "maskrcnn":
        if backbone in (None, "resnet50_fpn_v2"):
            return WeightsSource("MaskRCNN_ResNet50_FPN_V2_Weights.COCO_V1", "", "backbone.", "COCO Mask R-CNN R50-FPN v2")
        if backbone == "resnet18_fpn":
            return WeightsSource("ResNet18_Weights.IMAGENET1K_V1", "backbone.body.", "backbone.body.", "ImageNet ResNet-18")
    elif arch == "fcn":
        if backbone in (None, "resnet50"):
            return WeightsSource("FCN_ResNet50_Weights.COCO_WITH_VOC_LABELS_V1", "model.", "model.backbone.", "COCO FCN ResNet-50")
        if backbone == "resnet101":
            return WeightsSource("FCN_ResNet101_Weights.COCO_WITH_VOC_LABELS_V1", "model.", "model.backbone.", "COCO FCN ResNet-101")
        if backbone == "resnet18":
            return WeightsSource("ResNet18_Weights.IMAGENET1K_V1", "model.backbone.", "model.backbone.", "ImageNet ResNet-18")
    elif arch == "unet" and encoder in ("resnet18", "resnet34"):
        name = {"resnet18": "ResNet18", "resnet34": "ResNet34"}[encoder]
        return WeightsSource(f"{name}_Weights.IMAGENET1K_V1", "encoder.", "encoder.", f"ImageNet {name}")
    elif arch == "segnet" and encoder == "vgg16_bn":
        return WeightsSource("VGG16_BN_Weights.IMAGENET1K_V1", "", "features.", "ImageNet VGG-16-BN")
    hint = {"unet": 'encoder "resnet18" or "resnet34"', "segnet": 'encoder "vgg16_bn"'}.get(arch, "another backbone")
    raise CheckpointError(f"no published weights start {arch} with {builder_kwargs}; build it with {hint}")


def _weights_entry(source: WeightsSource):
    import torchvision.models as models
    from torchvision.models import detection, segmentation

    enum_name, member = source.enum.split(".")
    for module in (models, detection, segmentation):
        enum = getattr(module, enum_name, None)
        if enum is not None:
            return enum[member]
    raise CheckpointError(f"torchvision has no weights {source.enum}")


def expected_path(source: WeightsSource) -> Path:
    """Where the torch hub cache keeps the file (it may not be there)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(_weights_entry(source).url)


def weights_file(source: WeightsSource, file: str | os.PathLike | None = None) -> Path:
    """The file to start from: `file` if given, else the hub cache's; CheckpointError if absent."""
    path = Path(file) if file else expected_path(source)
    if not path.is_file():
        name = os.path.basename(_weights_entry(source).url)
        raise CheckpointError(
            f"the published weights {source.enum} ({source.what}) are not here: missing file {path}. "
            f"Copy {name} into {expected_path(source).parent} (or give its path) on this machine; "
            "nothing is downloaded at run time."
        )
    return path


def load_pretrained(model: nn.Module, *, arch: str, builder_kwargs: dict, file: str | os.PathLike | None = None) -> dict:
    """Copy the published weights into `model` in place; returns what was loaded and skipped."""
    source = source_for(arch, builder_kwargs)
    path = weights_file(source, file)
    state = read_checkpoint(path)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    ours = model.state_dict()
    loaded, skipped = {}, []
    for key, tensor in state.items():
        target = source.prefix + key
        if target in ours and tuple(ours[target].shape) == tuple(tensor.shape):
            loaded[target] = tensor
        else:
            skipped.append(key)
    missing_encoder = [k for k in ours if k.startswith(source.required) and k not in loaded and not k.endswith("num_batches_tracked")]
    if missing_encoder:
        raise CheckpointError(
            f"{path.name} does not fit {arch} with {builder_kwargs}: {len(missing_encoder)} encoder tensors have no "
            f"match (first: {missing_encoder[:3]}); is it {source.enum}?"
        )
    model.load_state_dict(loaded, strict=False)
    return {"weights": source.enum, "what": source.what, "file": str(path), "loaded": len(loaded),
            "skipped": sorted(skipped)[:50], "skipped_count": len(skipped)}

"""The networks the train form offers, each with what it costs: small CPU-sized presets next to
the full-size networks, defined once.

A preset is a name for an architecture plus the builder's keyword arguments that make it small;
`annotations.training.train_check` merges it into the train params (explicit `builder_kwargs`
win). The figures in the cost lines are the README's training tables (bench/train.py, 2 CPU
cores, 96-px synthetic "hard shapes"); they say what to expect, not what a project will get.
Plain data, no torch: the web process reads it for the form, the API for its choices.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import architectures


@dataclass(frozen=True)
class Preset:
    name: str
    arch: str
    label: str
    cost: str
    builder_kwargs: dict[str, Any] = field(default_factory=dict)


# The network kwargs are those of bench/train.py's `tiny` preset and tests/ml/support.py's TINY_*
# (tests/training/test_train_presets.py holds them equal and builds each one).
_MASKRCNN_SMALL = {
    "backbone": "resnet18_fpn", "returned_layers": [1, 2], "fpn_channels": 64, "anchor_sizes": [16, 32, 64],
    "head_width": 64, "mask_head_layers": 2,
    "rpn_pre_nms_top_n_train": 200, "rpn_post_nms_top_n_train": 100, "rpn_pre_nms_top_n_test": 100,
    "rpn_post_nms_top_n_test": 50, "rpn_batch_size_per_image": 64, "box_batch_size_per_image": 32,
    "box_detections_per_img": 20,
    # Not in the bench preset (its images are 96 px): the builder's default resize (800-1333 px)
    # would cost a CPU minutes per step and make the 16-64 px anchors tiny next to the objects.
    # An explicit image_size still wins.
    "min_size": 256, "max_size": 512,
}

PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("fcn-small", architectures.FCN, "FCN ResNet-18, stride 8 (small)",
           "learns the hard shapes to mIoU 0.86 in 2 min on 2 CPU cores (210 img/s)",
           {"backbone": "resnet18", "output_stride": 8}),
    Preset("maskrcnn-small", architectures.MASKRCNN, "Mask R-CNN ResNet-18 FPN, stages 1-2 (small)",
           "instances: mask AP 0.69 on the hard shapes in 2 min on 2 CPU cores (47 img/s at 96 px)",
           _MASKRCNN_SMALL),
    Preset("unet-small", architectures.UNET, "U-Net depth 2, width 8 (small)",
           "mIoU 0.35 on the hard shapes in 2 min on 2 CPU cores (155 img/s); fine for easy, high-contrast data",
           {"depth": 2, "base_width": 8}),
    Preset("segnet-small", architectures.SEGNET, "SegNet depth 2, width 16 (small)",
           "mIoU 0.27 on the hard shapes in 2 min on 2 CPU cores (128 img/s)",
           {"depth": 2, "base_width": 16}),
)}


@dataclass(frozen=True)
class FullNetwork:
    arch: str
    label: str
    cost: str


FULL_NETWORKS: dict[str, FullNetwork] = {n.arch: n for n in (
    FullNetwork(architectures.UNET, "U-Net depth 4, width 32",
                "wants a GPU: mIoU 0.36 on the hard shapes after 2 min on 2 CPU cores (27 img/s)"),
    FullNetwork(architectures.SEGNET, "SegNet depth 4, width 32",
                "wants a GPU: mIoU 0.33 after 2 min on 2 CPU cores (44 img/s)"),
    FullNetwork(architectures.FCN, "FCN ResNet-50",
                "wants a GPU: mIoU 0.33 after 2 min, 0.37 after 5 min on 2 CPU cores (12 img/s)"),
    FullNetwork(architectures.MASKRCNN, "Mask R-CNN R50-FPN v2",
                "needs a GPU: learns nothing useful in 5 min on 2 CPU cores (0.5 img/s)"),
)}


def preset_get(name: str) -> Preset:
    return PRESETS[name]


def form_choices() -> list[dict[str, Any]]:
    """The train form's options in the order it shows them: presets first (the CPU-friendly
    default), then the full networks. `kind` says which request field the value goes in."""
    return [
        *({"kind": "preset", "value": p.name, "label": p.label, "cost": p.cost} for p in PRESETS.values()),
        *({"kind": "arch", "value": n.arch, "label": n.label, "cost": n.cost} for n in FULL_NETWORKS.values()),
    ]

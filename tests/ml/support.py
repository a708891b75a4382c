"""Helpers for the ML runtime tests: tiny model settings and sample conversion."""

import torch

from workers.ml.checkpoints import ModelSpec
from workers.ml.datasets import InstanceSample, SemanticSample

TINY_UNET = {"depth": 2, "base_width": 8}
TINY_SEGNET = {"depth": 2, "base_width": 16}
# torchvision's FCN head on ResNet-18's first two stages: output stride 8, like the big FCNs.
TINY_FCN = {"backbone": "resnet18", "output_stride": 8}
# Mask R-CNN small enough to train on a CPU in seconds: ResNet-18 stages 1-2 into a 64-channel
# FPN, anchors sized to the shapes, narrow heads, few RoIs; 64 px here.
TINY_MASKRCNN = {
    "backbone": "resnet18_fpn",
    "min_size": 64,
    "max_size": 64,
    "returned_layers": [1, 2],
    "fpn_channels": 64,
    "anchor_sizes": [16, 32, 64],
    "head_width": 64,
    "mask_head_layers": 2,
    "rpn_pre_nms_top_n_train": 200,
    "rpn_post_nms_top_n_train": 100,
    "rpn_pre_nms_top_n_test": 100,
    "rpn_post_nms_top_n_test": 50,
    "rpn_batch_size_per_image": 64,
    "box_batch_size_per_image": 32,
    "box_detections_per_img": 20,
}
# FCN's stride-8 logits and Mask R-CNN's 14 px RoIs want bigger shapes than U-Net's 48 px
# for the pre-label accuracy tests.
TINY_FCN_SIZE = 96
TINY_MASKRCNN_SIZE = 96


def build_seeded(spec: ModelSpec, seed: int = 0) -> torch.nn.Module:
    """Deterministic initial weights without touching the global RNG's state."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return spec.build()



def semantic(images):
    return [SemanticSample(s.image, s.label_map) for s in images]


def instances(images):
    return [InstanceSample(s.image, s.instances) for s in images]

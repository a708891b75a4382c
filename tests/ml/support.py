"""Helpers for the ML runtime tests: tiny model settings and sample conversion."""

import torch

from workers.ml.checkpoints import ModelSpec
from workers.ml.datasets import InstanceSample, SemanticSample

TINY_UNET = {"depth": 2, "base_width": 8}
TINY_SEGNET = {"depth": 2, "base_width": 16}
# Mask R-CNN small enough to train on a CPU in seconds: ResNet-18 FPN, 64 px, few RoIs.
TINY_MASKRCNN = {
    "backbone": "resnet18_fpn",
    "min_size": 64,
    "max_size": 64,
    "rpn_pre_nms_top_n_train": 200,
    "rpn_post_nms_top_n_train": 100,
    "rpn_pre_nms_top_n_test": 100,
    "rpn_post_nms_top_n_test": 50,
    "rpn_batch_size_per_image": 64,
    "box_batch_size_per_image": 32,
    "box_detections_per_img": 20,
}


def build_seeded(spec: ModelSpec, seed: int = 0) -> torch.nn.Module:
    """Deterministic initial weights without touching the global RNG's state."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return spec.build()



def semantic(images):
    return [SemanticSample(s.image, s.label_map) for s in images]


def instances(images):
    return [InstanceSample(s.image, s.instances) for s in images]

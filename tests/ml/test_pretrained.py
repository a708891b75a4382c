"""Starting from published weights: for each architecture, a made-up file in torchvision's own
format (a randomly initialised torchvision model's state dict, written where the torch hub cache
keeps the real one) goes into our network: the backbone holds the file's tensors, the head has
the project's classes. Nothing is downloaded; a missing file names itself and where it goes."""

from __future__ import annotations

import pytest
import torch

from workers.ml.checkpoints import CheckpointError, ModelSpec
from workers.ml.pretrained import expected_path, load_pretrained, source_for

from .support import TINY_FCN, TINY_MASKRCNN

PROJECT_CLASSES = ("background", "membrane", "mitochondrion")


def _write_published(arch: str, builder_kwargs: dict) -> dict:
    """A torchvision-format state dict for `arch`'s published weights, at the cache's path."""
    import torchvision.models as tvm
    from torchvision.models import detection, segmentation

    source = source_for(arch, builder_kwargs)
    enum = source.enum.split(".")[0]
    with torch.random.fork_rng():
        torch.manual_seed(123)
        model = {
            "MaskRCNN_ResNet50_FPN_V2_Weights": lambda: detection.maskrcnn_resnet50_fpn_v2(weights=None, weights_backbone=None, num_classes=91),
            "FCN_ResNet50_Weights": lambda: segmentation.fcn_resnet50(weights=None, weights_backbone=None, num_classes=21, aux_loss=True),
            "ResNet18_Weights": lambda: tvm.resnet18(weights=None),
            "ResNet34_Weights": lambda: tvm.resnet34(weights=None),
            "VGG16_BN_Weights": lambda: tvm.vgg16_bn(weights=None),
        }[enum]()
    state = model.state_dict()
    path = expected_path(source)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return state


CASES = [
    # arch, builder kwargs, a backbone key in the file -> ours, our head's output-channel key
    ("unet", {"encoder": "resnet34"}, ("layer3.2.conv1.weight", "encoder.layer3.2.conv1.weight"), "head.weight"),
    ("segnet", {"encoder": "vgg16_bn"}, ("features.40.weight", "features.40.weight"), "head.weight"),
    ("fcn", dict(TINY_FCN), ("layer2.1.conv2.weight", "model.backbone.layer2.1.conv2.weight"), "model.classifier.4.weight"),
    ("fcn", {"backbone": "resnet50"}, ("backbone.layer4.2.conv3.weight", "model.backbone.layer4.2.conv3.weight"), "model.classifier.4.weight"),
    ("maskrcnn", dict(TINY_MASKRCNN), ("layer1.0.conv1.weight", "backbone.body.layer1.0.conv1.weight"), "roi_heads.box_predictor.cls_score.weight"),
    ("maskrcnn", {"backbone": "resnet50_fpn_v2", "min_size": 64, "max_size": 64},
     ("backbone.body.layer3.0.conv2.weight", "backbone.body.layer3.0.conv2.weight"), "roi_heads.mask_predictor.mask_fcn_logits.weight"),
]


@pytest.mark.parametrize("arch,kwargs,backbone_key,head_key", CASES, ids=[f"{c[0]}-{c[1].get('backbone') or c[1].get('encoder')}" for c in CASES])
def test_published_weights_start_the_backbone_and_the_head_has_the_project_classes(torch_hub, arch, kwargs, backbone_key, head_key):
    published = _write_published(arch, kwargs)
    spec = ModelSpec(arch=arch, class_names=PROJECT_CLASSES, builder_kwargs=kwargs)
    model = spec.build()
    report = load_pretrained(model, arch=arch, builder_kwargs=kwargs)
    ours = model.state_dict()
    theirs_key, our_key = backbone_key
    assert torch.equal(ours[our_key], published[theirs_key])
    assert ours[head_key].shape[0] == len(PROJECT_CLASSES)  # the head is sized for this project
    assert report["loaded"] > 10 and report["file"] == str(expected_path(source_for(arch, kwargs)))


def test_a_missing_file_names_the_file_and_where_to_put_it(torch_hub):
    spec = ModelSpec(arch="unet", class_names=PROJECT_CLASSES, builder_kwargs={"encoder": "resnet18"})
    with pytest.raises(CheckpointError, match=r"missing file .*resnet18-.*\.pth.*nothing is downloaded"):
        load_pretrained(spec.build(), arch="unet", builder_kwargs={"encoder": "resnet18"})


def test_a_file_of_another_network_is_refused(torch_hub):
    _write_published("unet", {"encoder": "resnet18"})  # a ResNet-18 file where a ResNet-34 one belongs
    source = source_for("unet", {"encoder": "resnet34"})
    expected_path(source_for("unet", {"encoder": "resnet18"})).rename(expected_path(source))
    spec = ModelSpec(arch="unet", class_names=PROJECT_CLASSES, builder_kwargs={"encoder": "resnet34"})
    with pytest.raises(CheckpointError, match="encoder tensors have no match"):
        load_pretrained(spec.build(), arch="unet", builder_kwargs={"encoder": "resnet34"})


def test_a_plain_unet_has_no_published_start(torch_hub):
    with pytest.raises(CheckpointError, match='encoder "resnet18" or "resnet34"'):
        source_for("unet", {"depth": 4})

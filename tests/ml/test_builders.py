import pytest
import torch
from torch import nn

from workers.ml.builders import build_model, check_logits

from .support import TINY_MASKRCNN


@pytest.mark.parametrize("depth,base_width", [(2, 8), (4, 8)])
def test_unet_output_has_the_input_size_for_odd_sizes(depth, base_width):
    model = build_model("unet", num_classes=4, depth=depth, base_width=base_width).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 37, 53))
    assert out.shape == (2, 4, 37, 53)


@pytest.mark.parametrize("depth", [2, 4])
def test_segnet_output_has_the_input_size_for_odd_sizes(depth):
    model = build_model("segnet", num_classes=3, depth=depth, base_width=8).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 37, 53))
    assert out.shape == (1, 3, 37, 53)


def test_segnet_decoder_unpools_with_the_encoders_pooling_indices():
    model = build_model("segnet", num_classes=3, depth=3, base_width=4).eval()
    pooled, unpooled = [], []
    model.pool.register_forward_hook(lambda m, args, out: pooled.append(out[1]))
    model.unpool.register_forward_hook(lambda m, args, out: unpooled.append(args[1]))
    with torch.no_grad():
        model(torch.randn(1, 3, 37, 53))
    assert isinstance(model.unpool, nn.MaxUnpool2d)
    assert len(pooled) == len(unpooled) == 3
    for p, u in zip(reversed(pooled), unpooled):
        assert u is p  # the very index tensor the encoder produced, deepest first


@pytest.mark.parametrize("backbone", ["resnet18", "resnet50"])
def test_fcn_returns_plain_logits_at_the_input_size(backbone):
    model = build_model("fcn", num_classes=5, backbone=backbone).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 37, 53))
    assert isinstance(out, torch.Tensor)
    assert out.shape == (1, 5, 37, 53)


@pytest.mark.parametrize("backbone", ["resnet18_fpn", "resnet50_fpn_v2"])
def test_maskrcnn_returns_instances_at_the_input_size(backbone):
    if backbone == "resnet18_fpn":
        kwargs = TINY_MASKRCNN
    else:
        kwargs = {"backbone": backbone, "min_size": 64, "max_size": 64, "box_detections_per_img": 20}
    model = build_model("maskrcnn", num_classes=4, **kwargs).eval()
    with torch.no_grad():
        (out,) = model([torch.rand(3, 37, 53)])
    assert set(out) == {"boxes", "labels", "scores", "masks"}
    assert out["masks"].shape[1:] == (1, 37, 53)
    assert out["boxes"].shape[1] == 4
    assert model.roi_heads.box_predictor.cls_score.out_features == 4


@pytest.mark.parametrize("stride,last_stage", [(4, "layer1"), (8, "layer2"), (16, "layer3"), (32, "layer4")])
def test_the_small_fcn_is_cut_after_the_stage_of_its_output_stride(stride, last_stage):
    model = build_model("fcn", num_classes=4, backbone="resnet18", output_stride=stride).eval()
    stages = [name for name in ("layer1", "layer2", "layer3", "layer4") if hasattr(model.model.backbone, name)]
    assert stages[-1] == last_stage
    features = {}
    model.model.backbone.register_forward_hook(lambda m, args, out: features.update(out))
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 96))
    assert out.shape == (1, 4, 64, 96)
    assert features["out"].shape[-2:] == (64 // stride, 96 // stride)


def test_fcn_output_stride_is_refused_where_it_does_not_apply():
    with pytest.raises(ValueError, match="output_stride applies to the resnet18 FCN only"):
        build_model("fcn", num_classes=3, backbone="resnet50", output_stride=8)
    with pytest.raises(ValueError, match=r"output_stride must be one of \[4, 8, 16, 32\], got 2"):
        build_model("fcn", num_classes=3, backbone="resnet18", output_stride=2)


def test_the_scaled_resnet18_maskrcnn_uses_the_given_stages_anchors_and_heads():
    model = build_model("maskrcnn", num_classes=4, **TINY_MASKRCNN).eval()
    assert model.backbone.out_channels == 64
    assert model.rpn.anchor_generator.sizes == ((16,), (32,), (64,))
    assert not hasattr(model.backbone.body, "layer3")
    assert len([m for m in model.roi_heads.mask_head if isinstance(m, nn.Sequential)]) == 2
    with torch.no_grad():
        (out,) = model([torch.rand(3, 96, 80)])
    assert out["masks"].shape[1:] == (1, 96, 80)


def test_the_default_resnet18_maskrcnn_keeps_torchvisions_layout():
    """Checkpoints of the unscaled model load: same parameter names and shapes as
    torchvision's MaskRCNN on `resnet_fpn_backbone("resnet18")`."""
    from torchvision.models.detection import MaskRCNN
    from torchvision.models.detection.backbone_utils import resnet_fpn_backbone

    reference = MaskRCNN(resnet_fpn_backbone(backbone_name="resnet18", weights=None, norm_layer=nn.BatchNorm2d,
                                             trainable_layers=5), num_classes=4, min_size=64, max_size=64)
    ours = build_model("maskrcnn", num_classes=4, backbone="resnet18_fpn", min_size=64, max_size=64)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in reference.state_dict().items()}
    assert ours.rpn.anchor_generator.sizes == reference.rpn.anchor_generator.sizes


@pytest.mark.parametrize("kwargs,message", [
    ({"backbone": "resnet18_fpn", "returned_layers": [1, 2], "anchor_sizes": [16, 32]},
     r"anchor_sizes needs one size per FPN level \(3: stages \[1, 2\] \+ the pooled level\), got 2"),
    ({"backbone": "resnet18_fpn", "returned_layers": [2, 1]}, "returned_layers must be increasing ResNet stages"),
    ({"backbone": "resnet18_fpn", "returned_layers": [0, 1]}, "returned_layers must be increasing ResNet stages"),
    ({"backbone": "resnet18_fpn", "fpn_channels": 0}, "fpn_channels must be a positive int, got 0"),
    ({"backbone": "resnet50_fpn_v2", "anchor_sizes": [16], "head_width": 8},
     "anchor_sizes, head_width apply to the resnet18_fpn backbone only, not resnet50_fpn_v2"),
])
def test_bad_maskrcnn_scaling_is_refused_with_the_reason(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_model("maskrcnn", num_classes=3, min_size=64, max_size=64, **kwargs)


def test_unknown_architecture_is_refused():
    with pytest.raises(ValueError, match="unknown architecture 'deeplab'"):
        build_model("deeplab", num_classes=3)


@pytest.mark.parametrize("arch", ["unet", "segnet", "fcn", "maskrcnn"])
def test_fewer_than_two_classes_is_refused(arch):
    with pytest.raises(ValueError, match="num_classes"):
        build_model(arch, num_classes=1)


def test_builders_take_keyword_arguments_only():
    from workers.ml.builders import build_unet

    with pytest.raises(TypeError):
        build_unet(3, 4)  # noqa


def test_wrong_channel_count_names_both_numbers():
    model = build_model("unet", num_classes=3, depth=2, base_width=4)
    with pytest.raises(ValueError, match="3 input channels, got 1"):
        model(torch.randn(1, 1, 32, 32))


def test_segnet_refuses_images_smaller_than_its_pooling():
    model = build_model("segnet", num_classes=3, depth=4, base_width=4)
    with pytest.raises(ValueError, match="at least 16 px"):
        model(torch.randn(1, 3, 8, 40))


def test_logit_check_names_both_class_counts():
    with pytest.raises(ValueError, match="outputs 4 classes but the class mapping has 5"):
        check_logits(torch.zeros(1, 4, 8, 8), num_classes=5, size=(8, 8))

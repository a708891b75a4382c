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
    kwargs = {**TINY_MASKRCNN, "backbone": backbone}
    model = build_model("maskrcnn", num_classes=4, **kwargs).eval()
    with torch.no_grad():
        (out,) = model([torch.rand(3, 37, 53)])
    assert set(out) == {"boxes", "labels", "scores", "masks"}
    assert out["masks"].shape[1:] == (1, 37, 53)
    assert out["boxes"].shape[1] == 4
    assert model.roi_heads.box_predictor.cls_score.out_features == 4


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

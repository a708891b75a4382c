"""Model builders: U-Net, SegNet, FCN and Mask R-CNN.

Each builder takes keyword-only arguments, validates them and owns the architectural
choices; the modules below only wire layers. Semantic nets return logits `[N, C, H, W]`
with C = background + project classes and H, W equal to the input's; Mask R-CNN is
torchvision's and returns its list of dicts (boxes, labels, scores, masks).

`ARCHITECTURES` names what `build_model` accepts; `SEMANTIC` / `INSTANCE` (annotations/
architectures.py, the one list of names) say which output kind each produces, which is what
inference and training dispatch on.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from annotations.architectures import INSTANCE, SEMANTIC, builder_kwargs_check

ARCHITECTURES = SEMANTIC | INSTANCE

FCN_BACKBONES = ("resnet50", "resnet101", "resnet18")
MASKRCNN_BACKBONES = ("resnet50_fpn_v2", "resnet18_fpn")

# ResNet-18: output channels of layer1..layer4, and the stage whose output has a given stride.
_RESNET18_WIDTHS = (64, 128, 256, 512)
_RESNET18_STAGE_FOR_STRIDE = {4: 1, 8: 2, 16: 3, 32: 4}


def is_instance_arch(arch: str) -> bool:
    _check_arch(arch)
    return arch in INSTANCE


def _check_arch(arch: str) -> None:
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; expected one of {sorted(ARCHITECTURES)}")


def _check_num_classes(num_classes: int) -> None:
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(
            f"num_classes must be an int >= 2 (background + at least one class), got {num_classes!r}"
        )


def _check_depth_and_width(name: str, depth: int, base_width: int) -> None:
    if not 1 <= depth <= 6:
        raise ValueError(f"{name} depth must be between 1 and 6, got {depth}")
    if base_width < 1:
        raise ValueError(f"{name} base_width must be positive, got {base_width}")


def _check_input(x: torch.Tensor, in_channels: int, min_side: int, name: str) -> None:
    if x.dim() != 4:
        raise ValueError(f"{name} expects a 4-d batch [N, C, H, W], got {x.dim()} dimensions")
    if x.shape[1] != in_channels:
        raise ValueError(f"{name} expects {in_channels} input channels, got {x.shape[1]}")
    if min(x.shape[-2:]) < min_side:
        raise ValueError(
            f"{name} needs images of at least {min_side} px per side, got {tuple(x.shape[-2:])}"
        )


def _conv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def _double_conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(_conv_bn_relu(cin, cout), _conv_bn_relu(cout, cout))


class UNet(nn.Module):
    """Encoder-decoder with skip connections (Ronneberger et al. 2015), same-padded convs.

    The input is padded to a multiple of 2**depth so every pooling is exact, and the logits
    are cropped back: output H, W == input H, W for any size.
    """

    def __init__(self, *, in_channels: int, num_classes: int, depth: int, base_width: int):
        super().__init__()
        self.in_channels = in_channels
        self.depth = depth
        widths = [base_width * 2**i for i in range(depth + 1)]
        self.encoders = nn.ModuleList()
        cin = in_channels
        for w in widths[:-1]:
            self.encoders.append(_double_conv(cin, w))
            cin = w
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = _double_conv(widths[-2], widths[-1])
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for i in range(depth, 0, -1):
            self.ups.append(nn.ConvTranspose2d(widths[i], widths[i - 1], kernel_size=2, stride=2))
            self.decoders.append(_double_conv(widths[i - 1] * 2, widths[i - 1]))
        self.head = nn.Conv2d(widths[0], num_classes, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.in_channels, 1, "UNet")
        h, w = x.shape[-2:]
        multiple = 2**self.depth
        pad_h, pad_w = (-h) % multiple, (-w) % multiple
        # Replicate rather than zero padding: a black border would look like an object edge.
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        skips = []
        for encoder in self.encoders:
            x = encoder(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        for up, decoder, skip in zip(self.ups, self.decoders, reversed(skips)):
            x = decoder(torch.cat([up(x), skip], dim=1))
        return self.head(x)[..., :h, :w]


class SegNet(nn.Module):
    """SegNet (Badrinarayanan et al. 2017): the decoder upsamples with max-unpooling at the
    positions the encoder's max-pooling chose, so boundaries come back without learned
    upsampling. `output_size` makes unpooling exact for odd sizes."""

    def __init__(self, *, in_channels: int, num_classes: int, depth: int, base_width: int):
        super().__init__()
        self.in_channels = in_channels
        self.depth = depth
        widths = [base_width * 2 ** min(i, 3) for i in range(depth)]
        self.encoders = nn.ModuleList()
        cin = in_channels
        for w in widths:
            self.encoders.append(_double_conv(cin, w))
            cin = w
        self.pool = nn.MaxPool2d(2, stride=2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2, stride=2)
        self.decoders = nn.ModuleList()
        for i in range(depth - 1, -1, -1):
            cout = widths[i - 1] if i > 0 else widths[0]
            self.decoders.append(_double_conv(widths[i], cout))
        self.head = nn.Conv2d(widths[0], num_classes, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.in_channels, 2**self.depth, "SegNet")
        pooled = []
        for encoder in self.encoders:
            x = encoder(x)
            size = x.shape[-2:]
            x, indices = self.pool(x)
            pooled.append((indices, size))
        for decoder, (indices, size) in zip(self.decoders, reversed(pooled)):
            x = decoder(self.unpool(x, indices, output_size=size))
        return self.head(x)


class SemanticLogits(nn.Module):
    """Adapts torchvision's segmentation models (dict output with "out") to plain logits."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)["out"]


def build_unet(
    *, in_channels: int = 3, num_classes: int, depth: int = 4, base_width: int = 32, encoder: str | None = None,
    decoder_width: int = 32,
) -> nn.Module:
    """U-Net with `depth` poolings; the tiny test net is depth=2, base_width=8. With `encoder`
    ("resnet18" | "resnet34"), the contracting path is that ResNet (workers/ml/encoders.py), which
    ImageNet weights can start (workers/ml/pretrained.py); depth and base_width then do not apply."""
    _check_num_classes(num_classes)
    if encoder is not None:
        from .encoders import ResNetUNet

        if in_channels != 3:
            raise ValueError(f"a {encoder} encoder takes 3 input channels, not {in_channels}")
        if not 8 <= decoder_width <= 128:
            raise ValueError(f"decoder_width must be between 8 and 128, got {decoder_width}")
        return ResNetUNet(num_classes=num_classes, encoder=encoder, decoder_width=decoder_width)
    _check_depth_and_width("U-Net", depth, base_width)
    return UNet(in_channels=in_channels, num_classes=num_classes, depth=depth, base_width=base_width)


def build_segnet(
    *, in_channels: int = 3, num_classes: int, depth: int = 4, base_width: int = 32, encoder: str | None = None,
) -> nn.Module:
    """SegNet with `depth` pool/unpool stages (widths double per stage up to 8x base). With
    `encoder="vgg16_bn"`, the paper's VGG-16 encoder (workers/ml/encoders.py), which ImageNet
    weights can start; depth and base_width then do not apply."""
    _check_num_classes(num_classes)
    if encoder is not None:
        from .encoders import VGGSegNet

        if in_channels != 3:
            raise ValueError(f"a {encoder} encoder takes 3 input channels, not {in_channels}")
        return VGGSegNet(num_classes=num_classes, encoder=encoder)
    _check_depth_and_width("SegNet", depth, base_width)
    return SegNet(in_channels=in_channels, num_classes=num_classes, depth=depth, base_width=base_width)


def build_fcn(
    *,
    num_classes: int,
    backbone: str = "resnet50",
    output_stride: int | None = None,
    weights: str | None = None,
    weights_backbone: str | None = None,
) -> SemanticLogits:
    """torchvision's FCN returning logits.

    backbone "resnet50"/"resnet101" are torchvision's `fcn_resnet50/101` (dilated, output
    stride 8). "resnet18" is the small variant for tests and CPU benchmarks: torchvision's
    FCN and FCNHead on ResNet-18 cut after the stage that reaches `output_stride`
    (4 -> layer1, 8 -> layer2, 16 -> layer3, 32 -> all four stages, the default, FCN-32s-like).
    ResNet-18's basic blocks cannot be dilated, so a finer output means a shallower trunk;
    stride 8 matches the big FCNs' output resolution and learns easy shapes in seconds.
    `weights` is a torchvision weights enum name; it is only applied by
    `checkpoints.load_torchvision_weights`, which finds the file offline, so here it must be None.
    """
    _check_num_classes(num_classes)
    if output_stride is not None and backbone != "resnet18":
        raise ValueError(
            f"output_stride applies to the resnet18 FCN only; {backbone} is dilated to stride 8"
        )
    if output_stride is not None and output_stride not in _RESNET18_STAGE_FOR_STRIDE:
        raise ValueError(
            f"output_stride must be one of {sorted(_RESNET18_STAGE_FOR_STRIDE)}, got {output_stride!r}"
        )
    if weights is not None:
        raise ValueError(
            "build_fcn does not fetch weights; use checkpoints.load_torchvision_weights, "
            "which loads them from the torch hub cache"
        )
    from torchvision.models import segmentation

    if backbone == "resnet50":
        model = segmentation.fcn_resnet50(
            weights=None, weights_backbone=weights_backbone, num_classes=num_classes, aux_loss=False
        )
    elif backbone == "resnet101":
        model = segmentation.fcn_resnet101(
            weights=None, weights_backbone=weights_backbone, num_classes=num_classes, aux_loss=False
        )
    elif backbone == "resnet18":
        from torchvision.models import resnet18
        from torchvision.models._utils import IntermediateLayerGetter
        from torchvision.models.segmentation.fcn import FCN, FCNHead

        stage = _RESNET18_STAGE_FOR_STRIDE[output_stride or 32]
        trunk = resnet18(weights=weights_backbone)
        body = IntermediateLayerGetter(trunk, return_layers={f"layer{stage}": "out"})
        model = FCN(body, FCNHead(_RESNET18_WIDTHS[stage - 1], num_classes), aux_classifier=None)
    else:
        raise ValueError(f"unknown FCN backbone {backbone!r}; expected one of {FCN_BACKBONES}")
    return SemanticLogits(model)


def build_maskrcnn(
    *,
    num_classes: int,
    weights: str | None = None,
    weights_backbone: str | None = None,
    backbone: str = "resnet50_fpn_v2",
    min_size: int = 800,
    max_size: int = 1333,
    trainable_backbone_layers: int | None = None,
    returned_layers: list[int] | None = None,
    fpn_channels: int | None = None,
    anchor_sizes: list[int] | None = None,
    head_width: int | None = None,
    mask_head_layers: int | None = None,
    **kwargs: Any,
) -> nn.Module:
    """torchvision's Mask R-CNN; `num_classes` counts the background.

    "resnet50_fpn_v2" is `maskrcnn_resnet50_fpn_v2`; "resnet18_fpn" is torchvision's
    MaskRCNN on a ResNet-18 FPN backbone, small enough to train in tests on a CPU.
    `min_size`/`max_size` set the internal resize (use 64-128 in tests). Extra kwargs go to
    torchvision's MaskRCNN (e.g. box_detections_per_img).

    The resnet18_fpn model can be scaled to the objects and the machine (all optional,
    torchvision's defaults otherwise): `returned_layers` (ResNet stages 1-4 feeding the FPN),
    `fpn_channels` (256), `anchor_sizes` (one per FPN level: each returned stage plus the
    extra pooled level), `head_width` (mask head convolutions 256; box head MLP 4x that) and
    `mask_head_layers` (4). The tiny test model uses stages 1-2, 64 channels, anchors
    16/32/64 and 2 mask convolutions of 64: it learns easy 96 px shapes in ~20 s on two CPU cores.
    """
    _check_num_classes(num_classes)
    scaled = {
        "returned_layers": returned_layers, "fpn_channels": fpn_channels, "anchor_sizes": anchor_sizes,
        "head_width": head_width, "mask_head_layers": mask_head_layers,
    }
    if backbone != "resnet18_fpn" and any(v is not None for v in scaled.values()):
        given = sorted(k for k, v in scaled.items() if v is not None)
        raise ValueError(f"{', '.join(given)} apply to the resnet18_fpn backbone only, not {backbone}")
    if weights is not None:
        raise ValueError(
            "build_maskrcnn does not fetch weights; use checkpoints.load_torchvision_weights, "
            "which loads them from the torch hub cache"
        )
    if min_size < 16 or max_size < min_size:
        raise ValueError(f"need 16 <= min_size <= max_size, got min_size={min_size}, max_size={max_size}")
    from torchvision.models import detection

    if backbone == "resnet50_fpn_v2":
        if weights_backbone is None and trainable_backbone_layers not in (None, 5):
            # torchvision trains every layer of an untrained backbone anyway (and warns).
            raise ValueError(
                "trainable_backbone_layers only applies with pretrained weights "
                f"(got {trainable_backbone_layers} without weights_backbone)"
            )
        return detection.maskrcnn_resnet50_fpn_v2(
            weights=None,
            weights_backbone=weights_backbone,
            num_classes=num_classes,
            trainable_backbone_layers=trainable_backbone_layers if weights_backbone else None,
            min_size=min_size,
            max_size=max_size,
            **kwargs,
        )
    if backbone == "resnet18_fpn":
        return _maskrcnn_resnet18_fpn(
            num_classes=num_classes, min_size=min_size, max_size=max_size,
            weights_backbone=weights_backbone, trainable_backbone_layers=trainable_backbone_layers,
            **scaled, **kwargs,
        )
    raise ValueError(f"unknown Mask R-CNN backbone {backbone!r}; expected one of {MASKRCNN_BACKBONES}")


def _maskrcnn_resnet18_fpn(
    *,
    num_classes: int,
    min_size: int,
    max_size: int,
    weights_backbone: str | None,
    trainable_backbone_layers: int | None,
    returned_layers: list[int] | None,
    fpn_channels: int | None,
    anchor_sizes: list[int] | None,
    head_width: int | None,
    mask_head_layers: int | None,
    **kwargs: Any,
) -> nn.Module:
    from torchvision.models import resnet18
    from torchvision.models.detection import MaskRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.backbone_utils import BackboneWithFPN
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
    from torchvision.ops import MultiScaleRoIAlign
    from torchvision.ops import misc as misc_nn_ops

    stages = list(returned_layers) if returned_layers is not None else [1, 2, 3, 4]
    if not stages or sorted(set(stages)) != stages or not set(stages) <= {1, 2, 3, 4}:
        raise ValueError(f"returned_layers must be increasing ResNet stages from 1-4, got {returned_layers!r}")
    channels = fpn_channels if fpn_channels is not None else 256
    width = head_width if head_width is not None else 256
    mask_layers = mask_head_layers if mask_head_layers is not None else 4
    for name, value in (("fpn_channels", channels), ("head_width", width), ("mask_head_layers", mask_layers)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    levels = len(stages) + 1  # the FPN adds a max-pooled level above the last stage
    sizes = list(anchor_sizes) if anchor_sizes is not None else [32 * 2**i for i in range(levels)]
    if len(sizes) != levels:
        raise ValueError(
            f"anchor_sizes needs one size per FPN level ({levels}: stages {stages} + the pooled level), "
            f"got {len(sizes)}"
        )
    trainable = trainable_backbone_layers if trainable_backbone_layers is not None else 5
    if not 0 <= trainable <= 5:
        raise ValueError(f"trainable_backbone_layers must be between 0 and 5, got {trainable}")
    norm_layer = misc_nn_ops.FrozenBatchNorm2d if weights_backbone else nn.BatchNorm2d
    trunk = resnet18(weights=weights_backbone, norm_layer=norm_layer)
    # Freezing as torchvision's resnet_fpn_backbone does; that helper fixes the FPN at 256
    # channels, so the FPN is built here.
    trainable_names = ["layer4", "layer3", "layer2", "layer1", "conv1"][:trainable]
    if trainable == 5:
        trainable_names.append("bn1")
    for name, parameter in trunk.named_parameters():
        if all(not name.startswith(layer) for layer in trainable_names):
            parameter.requires_grad_(False)
    body = BackboneWithFPN(
        trunk,
        return_layers={f"layer{stage}": str(i) for i, stage in enumerate(stages)},
        in_channels_list=[_RESNET18_WIDTHS[stage - 1] for stage in stages],
        out_channels=channels,
    )
    feature_names = [str(i) for i in range(len(stages))]
    anchors = AnchorGenerator(tuple((int(s),) for s in sizes), ((0.5, 1.0, 2.0),) * levels)
    return MaskRCNN(
        body,
        num_classes=None,
        min_size=min_size,
        max_size=max_size,
        rpn_anchor_generator=anchors,
        box_roi_pool=MultiScaleRoIAlign(feature_names, output_size=7, sampling_ratio=2),
        box_head=TwoMLPHead(channels * 7 * 7, 4 * width),
        box_predictor=FastRCNNPredictor(4 * width, num_classes),
        mask_roi_pool=MultiScaleRoIAlign(feature_names, output_size=14, sampling_ratio=2),
        mask_head=MaskRCNNHeads(channels, [width] * mask_layers, dilation=1),
        mask_predictor=MaskRCNNPredictor(width, width, num_classes),
        **kwargs,
    )


_BUILDERS = {
    "unet": build_unet,
    "segnet": build_segnet,
    "fcn": build_fcn,
    "maskrcnn": build_maskrcnn,
}


def build_model(arch: str, *, num_classes: int, **kwargs: Any) -> nn.Module:
    """Build `arch` ("unet", "segnet", "fcn", "maskrcnn") with the builder's keyword args.
    Every argument is checked against its bounds (annotations/architectures.py) before anything
    is allocated: a checkpoint's spec is untrusted input."""
    _check_arch(arch)
    _check_num_classes(num_classes)
    builder_kwargs_check(arch, kwargs, num_classes=num_classes)
    return _BUILDERS[arch](num_classes=num_classes, **kwargs)


def check_logits(logits: torch.Tensor, *, num_classes: int, size: tuple[int, int]) -> None:
    """Raise a ValueError naming both numbers when semantic logits do not match the spec."""
    if logits.dim() != 4:
        raise ValueError(f"expected logits [N, C, H, W], got {logits.dim()} dimensions")
    if logits.shape[1] != num_classes:
        raise ValueError(
            f"model outputs {logits.shape[1]} classes but the class mapping has {num_classes}"
        )
    if tuple(logits.shape[-2:]) != tuple(size):
        raise ValueError(f"model output size {tuple(logits.shape[-2:])} != input size {tuple(size)}")

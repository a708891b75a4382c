"""U-Net and SegNet on the encoders that published weights exist for: U-Net on a torchvision
ResNet (18 or 34) and SegNet on VGG-16 with batch norm, the encoder of the SegNet paper.

The encoders are torchvision's own modules under the attribute names their published state
dicts use (`encoder.` + ResNet keys, `features.` + VGG keys), so workers/ml/pretrained.py loads
ImageNet weights into them by prefix alone. Decoders and heads are ours and start untrained.
Both return logits [N, C, H, W] at the input's size, for any input size (padded inside to the
encoder's stride and cropped back).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

RESNET_ENCODERS = ("resnet18", "resnet34")
VGG_ENCODERS = ("vgg16_bn",)


def _conv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def _pad_to(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, int, int]:
    h, w = x.shape[-2:]
    pad_h, pad_w = (-h) % multiple, (-w) % multiple
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
    return x, h, w


class ResNetUNet(nn.Module):
    """U-Net whose contracting path is a ResNet: skips at strides 2, 4, 8 and 16, the
    bottleneck at 32, a decoder of upsample + concat + two 3x3 convs per stage, and a last
    stage at full resolution over the input itself (so thin structures keep their pixels)."""

    STRIDE = 32

    def __init__(self, *, num_classes: int, encoder: str = "resnet34", decoder_width: int = 32):
        super().__init__()
        from torchvision.models import resnet18, resnet34

        if encoder not in RESNET_ENCODERS:
            raise ValueError(f"unknown U-Net encoder {encoder!r}; expected one of {RESNET_ENCODERS}")
        self.encoder = {"resnet18": resnet18, "resnet34": resnet34}[encoder](weights=None)
        self.encoder.fc = nn.Identity()  # unused; the published fc weights are skipped on load
        skips = [3, 64, 64, 128, 256]  # input, stride 2 (conv1), 4 (layer1), 8, 16
        bottom = 512
        widths = [decoder_width * m for m in (1, 1, 2, 4, 8)]
        self.decoders = nn.ModuleList()
        cin = bottom
        for skip, width in zip(reversed(skips), reversed(widths)):
            self.decoders.append(nn.Sequential(_conv_bn_relu(cin + skip, width), _conv_bn_relu(width, width)))
            cin = width
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, h, w = _pad_to(x, self.STRIDE)
        e = self.encoder
        s1 = e.relu(e.bn1(e.conv1(x)))
        s2 = e.layer1(e.maxpool(s1))
        s3 = e.layer2(s2)
        s4 = e.layer3(s3)
        y = e.layer4(s4)
        for decoder, skip in zip(self.decoders, (s4, s3, s2, s1, x)):
            y = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            y = decoder(torch.cat([y, skip], dim=1))
        return self.head(y)[..., :h, :w]


class VGGSegNet(nn.Module):
    """SegNet (Badrinarayanan et al.): VGG-16-BN's 13 convolutions as the encoder (torchvision's
    `vgg16_bn().features`, max-pooling with indices), a mirrored decoder that max-unpools at those
    indices, and a class head."""

    STRIDE = 32

    def __init__(self, *, num_classes: int, encoder: str = "vgg16_bn"):
        super().__init__()
        from torchvision.models import vgg16_bn

        if encoder not in VGG_ENCODERS:
            raise ValueError(f"unknown SegNet encoder {encoder!r}; expected one of {VGG_ENCODERS}")
        self.features = vgg16_bn(weights=None).features
        # Stage boundaries: the indices of the five MaxPool2d layers in `features`.
        self._pools = [i for i, m in enumerate(self.features) if isinstance(m, nn.MaxPool2d)]
        convs = [2, 2, 3, 3, 3]
        widths = [64, 128, 256, 512, 512]
        self.decoders = nn.ModuleList()
        for stage in range(4, -1, -1):
            cout = widths[stage - 1] if stage > 0 else widths[0]
            layers = [_conv_bn_relu(widths[stage], widths[stage]) for _ in range(convs[stage] - 1)]
            layers.append(_conv_bn_relu(widths[stage], cout))
            self.decoders.append(nn.Sequential(*layers))
        self.head = nn.Conv2d(widths[0], num_classes, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, h, w = _pad_to(x, self.STRIDE)
        pooled, start = [], 0
        for end in self._pools:
            for layer in self.features[start:end]:
                x = layer(x)
            size = x.shape[-2:]
            x, indices = F.max_pool2d(x, 2, 2, return_indices=True)
            pooled.append((indices, size))
            start = end + 1
        for decoder, (indices, size) in zip(self.decoders, reversed(pooled)):
            x = decoder(F.max_unpool2d(x, indices, 2, 2, output_size=size))
        return self.head(x)[..., :h, :w]

"""Training augmentation with torchvision.transforms.v2: the image, its masks and boxes
(tv_tensors) move together through random resized crops (scale), flips and 90-degree
rotations. Randomness comes from torch's generator as v2 transforms use it; nothing here
reseeds anything."""

from __future__ import annotations

from typing import Any

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2


class RandomRot90(v2.Transform):
    """Rotate by k * 90 degrees (k uniform in 0..3): exact for pixels, masks and boxes,
    unlike an interpolating rotation."""

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        return {"k": int(torch.randint(0, 4, ()).item())}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        k = params["k"]
        if k == 0:
            return inpt
        if isinstance(inpt, tv_tensors.BoundingBoxes):
            return _rot90_boxes(inpt, k)
        if isinstance(inpt, (tv_tensors.Image, tv_tensors.Mask)):
            return tv_tensors.wrap(torch.rot90(inpt.as_subclass(torch.Tensor), k, dims=(-2, -1)), like=inpt)
        return inpt


def _rot90_boxes(boxes: tv_tensors.BoundingBoxes, k: int) -> tv_tensors.BoundingBoxes:
    fmt = boxes.format
    xyxy = v2.functional.convert_bounding_box_format(boxes, new_format=tv_tensors.BoundingBoxFormat.XYXY)
    h, w = boxes.canvas_size
    b = xyxy.as_subclass(torch.Tensor).clone()
    for _ in range(k):
        # torch.rot90(k=1) is counter-clockwise: (x, y) in a w-wide image -> (y, w - x).
        x1, y1, x2, y2 = b.unbind(-1)
        b = torch.stack([y1, w - x2, y2, w - x1], dim=-1)
        h, w = w, h
    out = tv_tensors.BoundingBoxes(b, format=tv_tensors.BoundingBoxFormat.XYXY, canvas_size=(h, w))
    return v2.functional.convert_bounding_box_format(out, new_format=fmt)


def semantic_train_transforms(
    *,
    crop_size: int | tuple[int, int],
    scale: tuple[float, float] = (0.5, 1.0),
    flips: bool = True,
    rot90: bool = True,
) -> v2.Compose:
    """For (tv_tensors.Image, tv_tensors.Mask label map): resized crop to `crop_size`
    (nearest for the mask), horizontal/vertical flips, rot90 (square crops keep the size)."""
    steps: list[v2.Transform] = [
        v2.RandomResizedCrop(crop_size, scale=scale, ratio=(3 / 4, 4 / 3), antialias=True)
    ]
    if flips:
        steps += [v2.RandomHorizontalFlip(), v2.RandomVerticalFlip()]
    if rot90:
        steps.append(RandomRot90())
    return v2.Compose(steps)


def instance_train_transforms(
    *,
    crop_size: int | tuple[int, int] | None = None,
    scale: tuple[float, float] = (0.5, 1.0),
    flips: bool = True,
    rot90: bool = True,
) -> v2.Compose:
    """For (tv_tensors.Image, {"boxes": BoundingBoxes, "masks": Mask [N,H,W], "labels"}):
    optional resized crop, flips, rot90, then drop the instances the crop emptied."""
    steps: list[v2.Transform] = []
    if crop_size is not None:
        steps.append(v2.RandomResizedCrop(crop_size, scale=scale, ratio=(3 / 4, 4 / 3), antialias=True))
    if flips:
        steps += [v2.RandomHorizontalFlip(), v2.RandomVerticalFlip()]
    if rot90:
        steps.append(RandomRot90())
    steps.append(v2.ClampBoundingBoxes())
    steps.append(v2.SanitizeBoundingBoxes(min_size=1.0))
    return v2.Compose(steps)


class ClassBalancedCrop(v2.Transform):
    """A `size` x `size` crop that, with probability `balanced`, is centred (with a random
    shift of up to a quarter crop) on a pixel of one class chosen uniformly among the classes
    present, so a rare class or a thin structure lands in most crops instead of in few; else a
    uniform random crop. Images smaller than the crop are padded (ignore index for masks)."""

    def __init__(self, size: int, *, balanced: float = 0.67, ignore_index: int = 255):
        super().__init__()
        self.size = int(size)
        self.balanced = balanced
        self.ignore_index = ignore_index

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        mask = next(i for i in flat_inputs if isinstance(i, tv_tensors.Mask)).as_subclass(torch.Tensor)
        h, w = mask.shape[-2:]
        s = self.size
        pad_h, pad_w = max(0, s - h), max(0, s - w)
        top_max, left_max = max(0, h - s), max(0, w - s)
        if torch.rand(()) < self.balanced:
            labels = mask.reshape(-1)
            present = torch.unique(labels)
            present = present[present != self.ignore_index]
            if len(present):
                chosen = present[torch.randint(len(present), ())]
                where = torch.nonzero(labels == chosen).squeeze(1)
                flat = int(where[torch.randint(len(where), ())])
                cy, cx = divmod(flat, w)
                jitter = max(1, s // 4)
                cy += int(torch.randint(-jitter, jitter + 1, ()))
                cx += int(torch.randint(-jitter, jitter + 1, ()))
                top = min(max(0, cy - s // 2), top_max)
                left = min(max(0, cx - s // 2), left_max)
                return {"top": top, "left": left, "pad": (pad_w, pad_h)}
        top = int(torch.randint(top_max + 1, ()))
        left = int(torch.randint(left_max + 1, ()))
        return {"top": top, "left": left, "pad": (pad_w, pad_h)}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if not isinstance(inpt, (tv_tensors.Image, tv_tensors.Mask)):
            return inpt
        pad_w, pad_h = params["pad"]
        if pad_w or pad_h:
            fill = self.ignore_index if isinstance(inpt, tv_tensors.Mask) else 0
            inpt = v2.functional.pad(inpt, [0, 0, pad_w, pad_h], fill=fill)
        return v2.functional.crop(inpt, params["top"], params["left"], self.size, self.size)


class PhotometricJitter(v2.Transform):
    """Image-only: brightness/contrast, gamma, a light Gaussian blur and pixel noise, each at
    random strength, for stains, exposure and focus that differ between images. Masks pass."""

    def __init__(self, *, strength: float = 1.0):
        super().__init__()
        self.strength = strength

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        k = self.strength

        def around(spread: float) -> float:
            return float(1 + k * spread * (2 * torch.rand(()) - 1))

        return {
            "brightness": around(0.2), "contrast": around(0.3), "gamma": around(0.3),
            "blur": float(k * 1.0 * torch.rand(())) if torch.rand(()) < 0.3 else 0.0,
            "noise": float(k * 0.04 * torch.rand(())),
        }

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if not isinstance(inpt, tv_tensors.Image):
            return inpt
        x = inpt.as_subclass(torch.Tensor)
        x = (x * params["brightness"]).clamp(0, 1)
        mean = x.mean()
        x = ((x - mean) * params["contrast"] + mean).clamp(0, 1)
        x = x.clamp_min(1e-6) ** params["gamma"]
        if params["blur"] > 0.3:
            x = v2.functional.gaussian_blur(x, kernel_size=[5, 5], sigma=[params["blur"], params["blur"]])
        if params["noise"] > 0:
            x = (x + torch.randn_like(x) * params["noise"]).clamp(0, 1)
        return tv_tensors.wrap(x, like=inpt)


def semantic_budget_transforms(
    *, crop_size: int, elastic: bool = True, photometric: bool = True, balanced: float = 0.67, ignore_index: int = 255,
) -> v2.Compose:
    """The budget recipe's augmentation (workers/ml/recipe.py): class-balanced crops, elastic
    deformation as in the U-Net paper (torchvision's ElasticTransform: nearest for the label
    map, so no invented classes), flips, rot90 and photometric jitter."""
    steps: list[v2.Transform] = [ClassBalancedCrop(crop_size, balanced=balanced, ignore_index=ignore_index)]
    if elastic:
        steps.append(v2.RandomApply([v2.ElasticTransform(alpha=34.0, sigma=4.0, fill={tv_tensors.Mask: ignore_index})], p=0.5))
    steps += [v2.RandomHorizontalFlip(), v2.RandomVerticalFlip(), RandomRot90()]
    if photometric:
        steps.append(PhotometricJitter())
    return v2.Compose(steps)

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

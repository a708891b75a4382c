"""torch Datasets built from plain Python data, so the Django side only has to produce
lists: a sample is an image (path or H x W x 3 uint8 array) with either a semantic label
map (H x W ints, 0 = background, 255 = ignore) or instances [(class_index, H x W bool[, iscrowd])].

Semantic items are (normalized float image [3,H,W], long label map [H,W]); instance items
are (float image [3,H,W] in 0..1, {"boxes", "labels", "masks"}) as torchvision's Mask
R-CNN takes them. The collate functions pad semantic batches to a common size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import Dataset
from torchvision import tv_tensors

from .checkpoints import IMAGENET_NORMALIZATION
from .metrics import IGNORE_INDEX

ImageSource = "str | os.PathLike | np.ndarray"


def load_image(source) -> np.ndarray:
    """H x W x 3 uint8 RGB from a path or an array (grey and RGBA are converted)."""
    if isinstance(source, np.ndarray):
        array = source
        if array.ndim == 2:
            array = np.repeat(array[..., None], 3, axis=2)
        if array.ndim != 3 or array.shape[2] not in (3, 4):
            raise ValueError(f"image array must be H x W x 3, got shape {array.shape}")
        return np.ascontiguousarray(array[..., :3].astype(np.uint8, copy=False))
    with Image.open(source) as im:
        return np.array(im.convert("RGB"))


def to_tensor_image(array: np.ndarray) -> torch.Tensor:
    """H x W x 3 uint8 -> float [3, H, W] in 0..1."""
    return torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1).float().div_(255)


def normalize(image: torch.Tensor, normalization: dict) -> torch.Tensor:
    mean = torch.tensor(normalization["mean"], dtype=image.dtype).view(-1, 1, 1)
    std = torch.tensor(normalization["std"], dtype=image.dtype).view(-1, 1, 1)
    return (image - mean) / std


@dataclass
class SemanticSample:
    image: object  # path or H x W x 3 uint8 array
    label_map: object  # path to an index PNG or H x W int array


@dataclass
class InstanceSample:
    image: object
    instances: list[tuple[int, np.ndarray]] = field(default_factory=list)


def _load_label_map(source) -> np.ndarray:
    if isinstance(source, np.ndarray):
        return source
    with Image.open(source) as im:
        return np.asarray(im)


class SemanticDataset(Dataset):
    def __init__(
        self,
        samples: Sequence[SemanticSample],
        *,
        num_classes: int,
        normalization: dict | None = None,
        transforms: Callable | None = None,
    ):
        self.samples = list(samples)
        self.num_classes = num_classes
        self.normalization = normalization or IMAGENET_NORMALIZATION
        self.transforms = transforms

    def __len__(self) -> int:
        return len(self.samples)

    def label_map(self, index: int) -> np.ndarray:
        return _load_label_map(self.samples[index].label_map)

    def __getitem__(self, index: int):
        sample = self.samples[index]
        image = load_image(sample.image)
        labels = self.label_map(index)
        if labels.shape != image.shape[:2]:
            raise ValueError(
                f"sample {index}: label map {labels.shape} does not match image {image.shape[:2]}"
            )
        bad = (labels >= self.num_classes) & (labels != IGNORE_INDEX)
        if bad.any():
            raise ValueError(
                f"sample {index}: label {int(labels[bad].max())} >= num_classes {self.num_classes}"
            )
        img = tv_tensors.Image(to_tensor_image(image))
        mask = tv_tensors.Mask(torch.from_numpy(labels.astype(np.int64)))
        if self.transforms is not None:
            img, mask = self.transforms(img, mask)
        return normalize(img.as_subclass(torch.Tensor), self.normalization), mask.as_subclass(torch.Tensor)


class InstanceDataset(Dataset):
    def __init__(self, samples: Sequence[InstanceSample], *, num_classes: int, transforms: Callable | None = None):
        self.samples = list(samples)
        self.num_classes = num_classes
        self.transforms = transforms

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        sample = self.samples[index]
        image = load_image(sample.image)
        h, w = image.shape[:2]
        masks, labels = [], []
        for class_index, mask, *crowd in sample.instances:
            if mask.shape != (h, w):
                raise ValueError(f"sample {index}: instance mask {mask.shape} != image {(h, w)}")
            if not 1 <= class_index < self.num_classes:
                raise ValueError(f"sample {index}: class {class_index} not in 1..{self.num_classes - 1}")
            # Crowd regions are no object to learn (torchvision's and Detectron2's COCO loaders drop them
            # from training targets too); evaluation reads them from the sample and scores them as COCOeval does.
            if mask.any() and not (crowd and crowd[0]):
                masks.append(torch.from_numpy(np.asarray(mask, dtype=bool)))
                labels.append(class_index)
        mask_t = torch.stack(masks) if masks else torch.zeros((0, h, w), dtype=torch.bool)
        target = {
            "masks": tv_tensors.Mask(mask_t.to(torch.uint8)),
            "boxes": tv_tensors.BoundingBoxes(
                _boxes_from_masks(mask_t), format="XYXY", canvas_size=(h, w)
            ),
            "labels": torch.tensor(labels, dtype=torch.int64),
        }
        img = tv_tensors.Image(to_tensor_image(image))
        if self.transforms is not None:
            img, target = self.transforms(img, target)
        return img.as_subclass(torch.Tensor), {
            "boxes": target["boxes"].as_subclass(torch.Tensor).float(),
            "labels": target["labels"],
            "masks": target["masks"].as_subclass(torch.Tensor),
        }


def _boxes_from_masks(masks: torch.Tensor) -> torch.Tensor:
    """XYXY boxes that enclose each mask's pixels (x2, y2 exclusive, so a 1-px mask has size 1)."""
    if masks.shape[0] == 0:
        return torch.zeros((0, 4), dtype=torch.float32)
    boxes = []
    for m in masks:
        ys, xs = torch.nonzero(m, as_tuple=True)
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    return torch.tensor(boxes, dtype=torch.float32)


def pad_collate_semantic(batch, *, multiple: int = 1):
    """Stack (image, label map) pairs, padding to the largest size (image with 0, labels with
    the ignore index so padding never counts in loss or metrics)."""
    h = max(img.shape[-2] for img, _ in batch)
    w = max(img.shape[-1] for img, _ in batch)
    h, w = -(-h // multiple) * multiple, -(-w // multiple) * multiple
    images, labels = [], []
    for img, lab in batch:
        ph, pw = h - img.shape[-2], w - img.shape[-1]
        images.append(F.pad(img, (0, pw, 0, ph)))
        labels.append(F.pad(lab, (0, pw, 0, ph), value=IGNORE_INDEX))
    return torch.stack(images), torch.stack(labels)


def collate_instance(batch):
    """Mask R-CNN takes lists of images and targets of varied sizes."""
    images, targets = zip(*batch)
    return list(images), list(targets)

"""Training and validation samples from the database, for the train and evaluate jobs.

Only images people approved (status done or reviewed) are used, and on them only annotations
that are not proposals: an unreviewed model proposal must never teach the next model. The
train/validation split is stable by image content (sha256 + seed, as dataset exports split), so
a growing project keeps its validation images out of training; the ids are recorded on the
version. Semantic nets get one label map per image, painted in ascending (z_order, id) so the
topmost annotation owns a pixel (as the VOC export does); Mask R-CNN gets one mask per object.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from PIL import Image as PILImage

from annotations import masks, media
from annotations.errors import ValidationFailed
from annotations.formats.split import split_parse
from annotations.models import Annotation, Image, ModelVersion, Project
from annotations.selectors import image_void_rles
from annotations.training import STORED_TEST_SPLIT, STORED_VAL_SPLIT, training_class_ids

from .ml.datasets import InstanceSample, SemanticSample
from .ml.metrics import IGNORE_INDEX

DEFAULT_VAL_FRACTION = 0.2
MAX_SEMANTIC_CLASSES = 254  # label maps are uint8 and 255 means "ignore"


@dataclass(frozen=True)
class ClassList:
    """Output index i (1..N) -> label class ids[i-1]; index 0 is the background."""

    ids: tuple[int, ...]
    names: tuple[str, ...]  # "background" first, then the label class names

    @property
    def mapping(self) -> list[int | None]:
        return [None, *self.ids]

    def index_of(self) -> dict[int, int]:
        return {class_id: index for index, class_id in enumerate(self.ids, start=1)}


def class_list_for(*, project: Project, arch: str, parent: ModelVersion | None = None) -> ClassList:
    """The outputs of a version to train (which classes: annotations.training.training_class_ids)."""
    ids = training_class_ids(project=project, arch=arch, parent=parent)
    if len(ids) > MAX_SEMANTIC_CLASSES:
        raise ValidationFailed(f"{len(ids)} classes; at most {MAX_SEMANTIC_CLASSES} can be trained")
    names = dict(project.label_classes.values_list("pk", "name"))
    return ClassList(tuple(ids), ("background", *(names[i] for i in ids)))


def approved_images(*, project: Project):
    return Image.objects.filter(project=project, status__in=Image.APPROVED).order_by("pk")


def split_images(images: Iterable[Image], *, val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(train ids, val ids): an image's side depends only on its sha256, the seed and the fraction."""
    if not 0 < val_fraction < 1:
        raise ValidationFailed(f"val_fraction must be between 0 and 1, got {val_fraction}")
    split = split_parse({"train": 1 - val_fraction, "val": val_fraction}, seed=seed)
    images = list(images)
    train, val = [], []
    for image in images:
        (val if split.of(image.sha256) == "val" else train).append(image.pk)
    if not val and len(train) >= 2:
        # A handful of approved images can all hash into train; without a validation image
        # nothing can be measured, so the one nearest the val side (same hash, same seed) goes.
        nearest = max(images, key=lambda im: hashlib.sha256(f"{seed}:{im.sha256}".encode()).digest()[:8])
        train.remove(nearest.pk)
        val.append(nearest.pk)
    return train, val


def stored_split(images: Iterable[Image]) -> tuple[list[int], list[int]]:
    """(train ids, val ids) from the split each image was imported with: "val" validates, "test"
    stays out of training and validation, any other (or none) trains."""
    train, val = [], []
    for image in images:
        if image.split == STORED_VAL_SPLIT:
            val.append(image.pk)
        elif image.split != STORED_TEST_SPLIT:
            train.append(image.pk)
    return train, val


def _annotations_by_image(image_ids: Sequence[int]) -> dict[int, list[Annotation]]:
    rows: dict[int, list[Annotation]] = {i: [] for i in image_ids}
    # is_proposal=False: accepted proposals are a person's decision; pending ones are not.
    for row in Annotation.objects.filter(image_id__in=list(image_ids), is_proposal=False).order_by("z_order", "pk"):
        rows[row.image_id].append(row)
    return rows


def _mask(image: Image, row: Annotation) -> np.ndarray:
    return masks.decode({"size": [image.height, image.width], "counts": row.rle_counts}).astype(bool)


def label_map(image: Image, rows: Sequence[Annotation], classes: ClassList, void: dict | None = None) -> np.ndarray:
    """H x W uint8: 0 background, i = classes.ids[i-1], 255 = ignored: a class the version does
    not know (a person did mark something there, so it is not background) and the image's void
    region, which counts in neither the loss nor the metrics."""
    index = classes.index_of()
    out = np.zeros((image.height, image.width), dtype=np.uint8)
    for row in sorted(rows, key=lambda r: (r.z_order, r.pk)):
        out[_mask(image, row)] = index.get(row.label_class_id, IGNORE_INDEX)
    if void is not None:
        out[masks.decode(void).astype(bool)] = IGNORE_INDEX
    return out


def instances(image: Image, rows: Sequence[Annotation], classes: ClassList) -> list[tuple[int, np.ndarray, bool]]:
    """(class index, H x W bool, iscrowd) per annotation of a class the version knows."""
    index = classes.index_of()
    return [(index[row.label_class_id], _mask(image, row), row.iscrowd) for row in rows if row.label_class_id in index]


def image_path(image: Image) -> Path:
    """A local file of the image: the stored file, or a copy in the worker's bounded media cache."""
    return media.local_path(image.file.name)


def _resized(image: Image, size: int) -> np.ndarray:
    with PILImage.open(image_path(image)) as im:
        return np.asarray(im.convert("RGB").resize((size, size), PILImage.BILINEAR))


def samples_for(
    *, image_ids: Sequence[int], classes: ClassList, instance: bool, image_size: int | None = None,
) -> list[SemanticSample] | list[InstanceSample]:
    """Samples in the order of `image_ids`. Semantic samples with `image_size` are resized to a
    square of that side (labels with nearest neighbour), matching the version's "resize" size
    policy; otherwise images stay files decoded when the loader needs them."""
    images = Image.objects.in_bulk(list(image_ids))
    missing = [i for i in image_ids if i not in images]
    if missing:
        raise ValidationFailed(f"images {missing[:10]} no longer exist")
    rows = _annotations_by_image(image_ids)
    voids = image_void_rles(image_ids=list(image_ids)) if not instance else {}
    out = []
    for pk in image_ids:
        image = images[pk]
        if instance:
            out.append(InstanceSample(str(image_path(image)), instances(image, rows[pk], classes)))
            continue
        labels = label_map(image, rows[pk], classes, voids.get(pk))
        if image_size:
            labels = np.asarray(PILImage.fromarray(labels).resize((image_size, image_size), PILImage.NEAREST))
            out.append(SemanticSample(_resized(image, image_size), labels))
        else:
            out.append(SemanticSample(str(image_path(image)), labels))
    return out

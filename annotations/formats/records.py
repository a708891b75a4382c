"""What the writers read: plain records of classes, images and their annotations (no ORM objects).

`annotations.exports` fills them from the database one image at a time; the COCO and VOC writers
only see these, so they can be tested and benchmarked without queries.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pycocotools import mask as cocomask


@dataclass(frozen=True)
class ExportClass:
    id: int  # LabelClass.pk: the COCO category id, stable across exports of a project
    name: str
    kind: str  # "semantic" | "instance"
    color: str


@dataclass
class ExportAnnotation:
    id: int
    class_id: int
    counts: str  # COCO compressed RLE counts, size = the image's [height, width]
    bbox: list[int]
    area: int
    z_order: int
    score: float | None = None


@dataclass
class ExportImage:
    id: int
    stem: str  # unique within the export, safe as a file name and in ImageSets lists
    ext: str  # of the stored file: jpg, png, ...
    width: int
    height: int
    storage_name: str  # where the image file lives in media storage
    split: str
    annotations: list[ExportAnnotation] = field(default_factory=list)

    @property
    def file_name(self) -> str:
        return f"{self.stem}.{self.ext}"

    def rle(self, annotation: ExportAnnotation) -> dict:
        return {"size": [self.height, self.width], "counts": annotation.counts}


def decode_stored(height: int, width: int, counts: str) -> np.ndarray:
    """Decode RLE that came from our own rows: they were validated when saved, so skip the validator."""
    return cocomask.decode({"size": [height, width], "counts": counts.encode("ascii")})


# What the readers produce (imports). Masks are compressed RLE of the declared image size.

@dataclass
class ImportedAnnotation:
    class_name: str
    rle: dict
    z_order: int
    score: float | None = None


@dataclass
class ImportedImage:
    source: str  # the archive file that describes it, for error messages
    file_name: str
    member: str | None  # the image file inside the archive, if there is one
    width: int
    height: int
    annotations: list[ImportedAnnotation] = field(default_factory=list)


@dataclass
class ImportedClass:
    name: str
    kind: str | None = None  # None: the importer decides (instance)
    color: str | None = None


@dataclass
class ImportedDataset:
    classes: list[ImportedClass]
    images: list[ImportedImage]
    skipped_empty: int = 0

"""What the writers read: plain records of classes, images and their annotations (no ORM objects).

`annotations.exports` fills them from the database one image at a time; the COCO and VOC writers
only see these, so they can be tested and benchmarked without queries.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Protocol

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
    iscrowd: bool = False


@dataclass
class ExportImage:
    id: int
    file_name: str  # the stored name, byte for byte (COCO file_name)
    stem: str  # VOC: unique within the export, safe as a file name and as a line of an ImageSets list
    ext: str  # of the stored file: jpg, png, ...
    width: int
    height: int
    storage_name: str  # where the image file lives in media storage
    split: str
    annotations: list[ExportAnnotation] = field(default_factory=list)
    void_counts: str | None = None  # the void region (COCO compressed RLE counts), if any
    member_name: str = ""  # COCO: the file under images/; the stored name unless two images share it

    def rle(self, annotation: ExportAnnotation) -> dict:
        return {"size": [self.height, self.width], "counts": annotation.counts}

    @property
    def void_rle(self) -> dict | None:
        return {"size": [self.height, self.width], "counts": self.void_counts} if self.void_counts else None


def decode_stored(height: int, width: int, counts: str) -> np.ndarray:
    """Decode RLE that came from our own rows: they were validated when saved, so skip the validator."""
    return cocomask.decode({"size": [height, width], "counts": counts.encode("ascii")})


# What the readers produce (imports). Masks are compressed RLE of the declared image size.

@dataclass(slots=True)
class ImportedAnnotation:
    """One annotation as a reader found it. `rle` is trusted compressed RLE (a reader made it from
    pixels); otherwise `segmentation` is the COCO value as written, checked by the importer."""
    class_name: str
    z_order: int | None
    rle: dict | None = None
    segmentation: object = None
    score: float | None = None
    iscrowd: bool = False
    where: str = ""  # "<file>: annotation <id> on image <name>", for error messages
    void: bool = False  # a void ("don't care") region of the image, not an annotation of a class


@dataclass
class ImportedImage:
    source: str  # the archive file that describes it, for error messages
    file_name: str
    member: str | None  # the image file inside the archive, if there is one
    width: int
    height: int
    split: str = ""


@dataclass
class ImportedClass:
    name: str
    kind: str | None = None  # None: the importer decides (instance)
    color: str | None = None


class DatasetReader(Protocol):
    """What a format reader gives the importer: first the classes and images (read without decoding
    a mask, so every image can be found and checked before any mask is decoded), then the
    annotations, streamed as (index into `images`, annotation)."""

    classes: list[ImportedClass]
    images: list[ImportedImage]

    def annotations(self) -> Iterator[tuple[int, ImportedAnnotation]]: ...

    def progress(self) -> float:
        """How much of the annotations pass is done, 0..1."""
        ...

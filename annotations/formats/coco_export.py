"""COCO instances writer: `annotations/instances_<split>.json` (+ optional `images/`) into a ZipSink.

Segmentation is the stored compressed RLE, copied as is (no decode, no re-encode), or polygons
from `masks.to_polygons` when asked (crowd regions stay RLE, as in COCO itself). bbox and area are
what pycocotools computes for the mask that the segmentation decodes to, so `COCO()`, `annToMask`
and `COCOeval` agree with our rows. `iscrowd` is the annotation's flag (COCOeval ignores
detections matched to crowd regions). `file_name` is the stored name, byte for byte; when two
images share a name, the second one's file under `images/` is renamed and its entry carries the
real name as `labeler_file_name`. With `void_id_base`, each image's void region is written as an
`iscrowd: 1` annotation of an extra `ignore` category (the id after every class's: readers such
as Datumaro take category 0 for "no label"; flagged `"void": true` so our importer reads it back
as void, not as a class).
"""
from __future__ import annotations

import datetime as dt
from typing import Callable, Iterable, Sequence

from .. import masks
from .records import ExportClass, ExportImage
from .zipstream import Fragment, Spool, ZipSink, joined, json_array_spool, json_bytes


def _segmentation(image: ExportImage, ann, mask_format: str) -> tuple[object, list[int], int]:
    rle = image.rle(ann)
    if mask_format == "polygon" and not ann.iscrowd:
        polygons = masks.to_polygons(rle)
        if polygons:
            # area/bbox of what the polygons rasterise to, which is what readers will see
            drawn = masks.from_polygons(polygons, image.height, image.width)
            return polygons, masks.bbox(drawn), masks.area(drawn)
        # no outline survives (should not happen for a non-empty mask): keep the exact RLE
    return rle, list(ann.bbox), ann.area


class CocoMembers:
    """The per-image half of a COCO export: each image's file under `images/` into the sink, and its
    image and annotation entries appended to its split's spools (the documents come at the end,
    `coco_documents`, possibly from the spools of several chunks)."""

    def __init__(
        self, sink: ZipSink, *, classes: list[ExportClass], split_names: Iterable[str], mask_format: str = "rle",
        with_images: bool = False, image_path: Callable[[ExportImage], str] | None = None,
        void_id_base: int | None = None,
    ) -> None:
        self.sink, self.mask_format, self.with_images, self.image_path = sink, mask_format, with_images, image_path
        self.void_id_base = void_id_base
        self.void_category = void_category(classes)
        self.spools: dict[str, tuple[Spool, Spool]] = {}
        self.images = self.annotations = self.void_regions = 0
        for name in split_names:
            self._spools_of(name)

    def _spools_of(self, split: str) -> tuple[Spool, Spool]:
        if split not in self.spools:
            self.spools[split] = (json_array_spool(), json_array_spool())
        return self.spools[split]

    def add(self, image: ExportImage) -> None:
        image_spool, ann_spool = self._spools_of(image.split)
        entry = {
            "id": image.id, "file_name": image.member_name or image.file_name, "width": image.width,
            "height": image.height, "license": 0, "date_captured": "",
        }
        if image.member_name and image.member_name != image.file_name:
            entry["labeler_file_name"] = image.file_name
        image_spool.append_json(entry)
        if self.with_images and self.image_path is not None:
            self.sink.write_file(f"images/{image.member_name or image.file_name}", self.image_path(image))
        for ann in image.annotations:
            segmentation, bbox, area = _segmentation(image, ann, self.mask_format)
            if area == 0:
                continue  # an empty mask is no object; COCOeval would count it as a miss
            item = {
                "id": ann.id, "image_id": image.id, "category_id": ann.class_id, "segmentation": segmentation,
                "area": area, "bbox": bbox, "iscrowd": 1 if ann.iscrowd else 0, "z_order": ann.z_order,
            }
            if ann.score is not None:
                item["score"] = ann.score
            ann_spool.append_json(item)
            self.annotations += 1
        void = image.void_rle
        if self.void_id_base is not None and void is not None:
            ann_spool.append_json({
                "id": self.void_id_base + image.id, "image_id": image.id, "category_id": self.void_category,
                "segmentation": void, "area": masks.area(void), "bbox": masks.bbox(void), "iscrowd": 1,
            })
            self.void_regions += 1
        self.images += 1

    def counts(self) -> dict[str, int]:
        return {"images": self.images, "annotations": self.annotations, "void_regions": self.void_regions}

    def close(self) -> None:
        for image_spool, ann_spool in self.spools.values():
            image_spool.close()
            ann_spool.close()


def void_category(classes: list[ExportClass]) -> int:
    return max((c.id for c in classes), default=0) + 1


def coco_documents(
    sink: ZipSink, *, project_name: str, classes: list[ExportClass], void_id_base: int | None,
    splits: dict[str, tuple[Sequence[Fragment], Sequence[Fragment]]],
) -> None:
    """`annotations/instances_<split>.json` for each split, from its (image entries, annotation
    entries) fragments, in order."""
    now = dt.datetime.now(dt.timezone.utc)
    # kind and color are ours; COCO readers ignore unknown keys and our importer restores them
    categories = [
        {"id": c.id, "name": c.name, "supercategory": "", "kind": c.kind, "color": c.color} for c in classes
    ]
    if void_id_base is not None:
        taken = {c.name for c in classes}
        name = next(n for n in ("ignore", "ignore_void", "labeler_void") if n not in taken)
        categories.append({"id": void_category(classes), "name": name, "supercategory": "", "void": True})
    header = {
        "info": {
            "description": project_name, "version": "1.0", "year": now.year, "contributor": "labeler",
            "url": "", "date_created": now.isoformat(timespec="seconds"),
        },
        "licenses": [{"id": 0, "name": "unspecified", "url": ""}],
        "categories": categories,
    }
    for name, (image_parts, ann_parts) in sorted(splits.items()):
        sink.write_document(f"annotations/instances_{name}.json", [
            json_bytes(header)[:-1], b',"images":[', *joined(image_parts, b","), b'],"annotations":[',
            *joined(ann_parts, b","), b"]}",
        ])


def write_coco(
    sink: ZipSink, *, project_name: str, classes: list[ExportClass], images: Iterable[ExportImage],
    split_names: Iterable[str], mask_format: str = "rle", with_images: bool = False,
    image_path: Callable[[ExportImage], str] | None = None, on_image: Callable[[int], None] | None = None,
    void_id_base: int | None = None,
) -> dict[str, int]:
    """`split_names`: the files written even when empty; images of other splits add their own."""
    members = CocoMembers(sink, classes=classes, split_names=split_names, mask_format=mask_format,
                          with_images=with_images, image_path=image_path, void_id_base=void_id_base)
    try:
        for image in images:
            members.add(image)
            if on_image is not None:
                on_image(members.images)
        coco_documents(sink, project_name=project_name, classes=classes, void_id_base=void_id_base,
                       splits={name: ([i], [a]) for name, (i, a) in members.spools.items()})
    finally:
        members.close()
    return members.counts()

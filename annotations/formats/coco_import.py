"""COCO instances reader: every `*.json` under `annotations/` (else anywhere) of an archive.

Segmentation may be polygons, uncompressed RLE (counts as a list) or compressed RLE; each is
checked against its image's declared size and stored as compressed RLE. Image files are looked up
in the archive as `images/<file_name>`, `<file_name>`, or by unique base name; when absent the
importer matches an image already in the project by name. Every problem is collected, named by
file, annotation and image, and the archive is refused as a whole.
"""
from __future__ import annotations

import json
from pathlib import PurePosixPath

from .. import masks
from .archive import Archive, Errors, basename
from .records import ImportedAnnotation, ImportedClass, ImportedDataset, ImportedImage

_IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


def _annotation_files(archive: Archive) -> list[str]:
    files = [n for n in archive.names if n.lower().endswith(".json")]
    preferred = [n for n in files if "annotations" in PurePosixPath(n).parts[:-1]]
    return sorted(preferred or files)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _member_index(archive: Archive) -> dict[str, list[str]]:
    by_base: dict[str, list[str]] = {}
    for name in archive.names:
        if PurePosixPath(name).suffix.lower() in _IMAGE_EXTS:
            by_base.setdefault(basename(name), []).append(name)
    return by_base


def _find_member(archive: Archive, json_name: str, file_name: str, by_base: dict[str, list[str]]) -> str | None:
    root = PurePosixPath(json_name).parent
    if root.name == "annotations":
        root = root.parent
    for candidate in (root / "images" / file_name, root / file_name, PurePosixPath("images") / file_name, PurePosixPath(file_name)):
        name = str(candidate)  # PurePosixPath drops a leading "."
        if name in archive:
            return name
    matches = by_base.get(basename(file_name), [])
    return matches[0] if len(matches) == 1 else None


def _segmentation(segm: object, height: int, width: int) -> dict:
    """Any COCO segmentation -> compressed RLE of (height, width); MaskError says what is wrong."""
    if isinstance(segm, list):
        if not segm or not all(isinstance(p, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in p) for p in segm):
            raise masks.MaskError("polygons must be a non-empty list of lists of numbers")
        return masks.from_polygons(segm, height, width)
    if isinstance(segm, dict):
        masks.validate(segm, height=height, width=width)
        if isinstance(segm["counts"], list):  # uncompressed RLE: store compressed
            return masks.encode(masks.decode(segm))
        counts = segm["counts"]
        return {"size": [height, width], "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts}
    raise masks.MaskError("segmentation must be polygons (a list) or RLE (an object with size and counts)")


def parse_coco(archive: Archive) -> ImportedDataset:
    errors = Errors()
    files = _annotation_files(archive)
    if not files:
        errors.add("no COCO annotation file (annotations/instances_<split>.json) in the archive")
        errors.raise_if_any()
    by_base = _member_index(archive)
    classes: dict[str, ImportedClass] = {}
    images: list[ImportedImage] = []
    skipped = 0
    for json_name in files:
        try:
            document = json.loads(archive.read(json_name))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            errors.add(f"{json_name}: not valid JSON ({exc})")
            continue
        if not isinstance(document, dict) or not all(isinstance(document.get(k), list) for k in ("images", "annotations", "categories")):
            errors.add(f"{json_name}: not a COCO instances file (needs lists 'images', 'annotations' and 'categories')")
            continue
        categories: dict[int, str] = {}
        for index, cat in enumerate(document["categories"]):
            if not isinstance(cat, dict) or not _is_int(cat.get("id")) or not isinstance(cat.get("name"), str) or not cat["name"].strip():
                errors.add(f"{json_name}: category {index} needs an integer id and a name")
                continue
            if cat["id"] in categories:
                errors.add(f"{json_name}: category id {cat['id']} appears twice")
                continue
            name = cat["name"].strip()
            categories[cat["id"]] = name
            kind = cat.get("kind") if cat.get("kind") in ("semantic", "instance") else None
            color = cat.get("color") if isinstance(cat.get("color"), str) else None
            classes.setdefault(name, ImportedClass(name, kind, color))
        by_id: dict[int, ImportedImage] = {}
        for index, img in enumerate(document["images"]):
            if not isinstance(img, dict) or not _is_int(img.get("id")) or not isinstance(img.get("file_name"), str):
                errors.add(f"{json_name}: image {index} needs an integer id and a file_name")
                continue
            width, height = img.get("width"), img.get("height")
            if not (_is_int(width) and _is_int(height) and width > 0 and height > 0):
                errors.add(f"{json_name}: image {img['id']} ({img['file_name']}) needs a positive integer width and height")
                continue
            if img["id"] in by_id:
                errors.add(f"{json_name}: image id {img['id']} appears twice")
                continue
            file_name = img["file_name"]
            member = _find_member(archive, json_name, file_name, by_base)
            by_id[img["id"]] = ImportedImage(json_name, basename(file_name), member, width, height)
        for index, ann in enumerate(document["annotations"]):
            if not isinstance(ann, dict):
                errors.add(f"{json_name}: annotation {index} is not an object")
                continue
            ann_id = ann.get("id", index)
            image = by_id.get(ann.get("image_id"))  # type: ignore[arg-type]
            if image is None:
                errors.add(f"{json_name}: annotation {ann_id} is on image id {ann.get('image_id')!r}, which is not in 'images'")
                continue
            where = f"{json_name}: annotation {ann_id} on image {image.file_name}"
            if ann.get("category_id") not in categories:
                errors.add(f"{where}: unknown category id {ann.get('category_id')!r}")
                continue
            if "segmentation" not in ann:
                errors.add(f"{where}: has no segmentation (boxes alone are not masks)")
                continue
            try:
                rle = _segmentation(ann["segmentation"], image.height, image.width)
            except masks.MaskError as exc:
                errors.add(f"{where}: {exc}")
                continue
            if masks.area(rle) == 0:
                skipped += 1
                continue
            z_order = ann.get("z_order")
            score = ann.get("score")
            image.annotations.append(ImportedAnnotation(
                class_name=categories[ann["category_id"]], rle=rle,
                z_order=z_order if _is_int(z_order) else len(image.annotations),
                score=float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else None,
            ))
        images.extend(by_id.values())
    errors.raise_if_any()
    return ImportedDataset(classes=list(classes.values()), images=images, skipped_empty=skipped)

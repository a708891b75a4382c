"""COCO instances reader: every `*.json` under `annotations/` (else anywhere) of an archive, streamed.

Files are parsed incrementally with ijson, never whole: a first pass reads `categories` and
`images` (stopping at the end of both when they come first, as in our exports), so that every
image is found and its declared size checked before any mask is decoded; a second pass streams
`annotations` one item at a time to the importer, which checks and stores them in chunks. Memory
therefore does not grow with the number of annotations.

Segmentation may be polygons, uncompressed RLE (counts as a list) or compressed RLE; the
importer checks each against its image. `iscrowd` is kept; a category we flag `"void": true`
(our export's `ignore` category) becomes the images' void region. The split of an image is the
`<split>` of the `instances_<split>.json` that lists it. Image files are looked up in the archive
as `images/<file_name>`, `<file_name>`, or by unique base name; when absent the importer matches
an image already in the project by name. Every problem is named by file, annotation and image.
"""
from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Iterator

import ijson
from ijson.common import ObjectBuilder
from django.conf import settings

from .archive import Archive, Errors, basename
from .records import ImportedAnnotation, ImportedClass, ImportedImage

_IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
_SPLIT = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_VOID = object()  # category id -> _VOID: annotations of it are void regions
_JSON_ERRORS = (ijson.JSONError, ijson.IncompleteJSONError, UnicodeDecodeError, ValueError)


def _annotation_files(archive: Archive) -> list[str]:
    files = [n for n in archive.names if n.lower().endswith(".json")]
    preferred = [n for n in files if "annotations" in PurePosixPath(n).parts[:-1]]
    return sorted(preferred or files)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _member_index(archive: Archive) -> dict[str, list[str]]:
    by_base: dict[str, list[str]] = {}
    for name in archive.names:
        base = name.rsplit("/", 1)[-1]
        if "." in base and "." + base.rsplit(".", 1)[-1].lower() in _IMAGE_EXTS:
            by_base.setdefault(base, []).append(name)
    return by_base


def _find_member(archive: Archive, json_name: str, file_name: str, by_base: dict[str, list[str]]) -> str | None:
    # plain string joins, not PurePosixPath: this runs for every image of the archive
    root = json_name.rsplit("/", 1)[0] if "/" in json_name else ""
    if root == "annotations" or root.endswith("/annotations"):
        root = root[: -len("annotations")].rstrip("/")
    prefix = f"{root}/" if root else ""
    name = file_name[2:] if file_name.startswith("./") else file_name
    for candidate in (f"{prefix}images/{name}", f"{prefix}{name}", f"images/{name}", name):
        if candidate in archive:
            return candidate
    matches = by_base.get(name.rsplit("/", 1)[-1], [])
    return matches[0] if len(matches) == 1 else None


def split_of(json_name: str) -> str:
    """`instances_val.json` -> "val"; "" when the file name names no split."""
    stem = PurePosixPath(json_name).stem
    name = stem[len("instances_"):] if stem.startswith("instances_") else ""
    return name if _SPLIT.match(name) else ""


class _NotCoco(Exception):
    pass


def _header(stream) -> tuple[list | None, list | None]:
    """(categories, images) from the top of a COCO file, by parse events; stops as soon as both
    are read. A list that comes after `annotations` is left as None for a pass of its own (by
    events, the annotations would be read token by token in Python)."""
    events = iter(ijson.parse(stream, use_float=True))
    _, event, _ = next(events, ("", None, None))
    if event != "start_map":
        raise _NotCoco()
    found: dict[str, list] = {}
    for prefix, event, value in events:
        if prefix != "" or event != "map_key":
            continue
        if value == "annotations" and len(found) < 2:
            break
        if value not in ("categories", "images"):
            continue
        key = value
        _, event, _ = next(events)
        if event != "start_array":
            raise _NotCoco()
        builder = ObjectBuilder()
        builder.event("start_array", None)
        for prefix, event, value in events:
            builder.event(event, value)
            if prefix == key and event == "end_array":
                break
        found[key] = builder.value
        if len(found) == 2:
            break
    return found.get("categories"), found.get("images")


class CocoReader:
    """The DatasetReader of COCO archives (see records.DatasetReader)."""

    def __init__(self, archive: Archive, errors: Errors) -> None:
        self._archive = archive
        self._errors = errors
        self.files = _annotation_files(archive)
        if not self.files:
            errors.add("no COCO annotation file (annotations/instances_<split>.json) in the archive")
            errors.raise_if_any()
        self._by_base = _member_index(archive)
        self._classes: dict[str, ImportedClass] = {}
        self.images: list[ImportedImage] = []
        self._index: dict[str, dict[int, int]] = {}  # json file -> COCO image id -> index in images
        self._categories: dict[str, dict[int, object]] = {}
        self._bytes_total = sum(archive.size(n) for n in self.files) or 1
        self._bytes_done = 0
        self._stream = None
        for json_name in self.files:
            self._scan(json_name)

    @property
    def classes(self) -> list[ImportedClass]:
        return list(self._classes.values())

    def _items(self, json_name: str, prefix: str) -> list:
        with self._archive.open(json_name) as stream:
            return list(ijson.items(stream, prefix, use_float=True))

    def _scan(self, json_name: str) -> None:
        errors = self._errors
        try:
            with self._archive.open(json_name) as stream:
                categories, images = _header(stream)
            if categories is None:
                categories = self._items(json_name, "categories.item")
            if images is None:
                images = self._items(json_name, "images.item")
        except _NotCoco:
            errors.add(f"{json_name}: not a COCO instances file (needs lists 'images', 'annotations' and 'categories')")
            return
        except _JSON_ERRORS as exc:
            errors.add(f"{json_name}: not valid JSON ({exc})")
            return
        if not categories and not images:
            errors.add(f"{json_name}: not a COCO instances file (needs lists 'images', 'annotations' and 'categories')")
            return
        by_id: dict[int, object] = {}
        for index, cat in enumerate(categories):
            if not isinstance(cat, dict) or not _is_int(cat.get("id")) or not isinstance(cat.get("name"), str) or not cat["name"].strip():
                errors.add(f"{json_name}: category {index} needs an integer id and a name")
                continue
            if cat["id"] in by_id:
                errors.add(f"{json_name}: category id {cat['id']} appears twice")
                continue
            if cat.get("void") is True:
                by_id[cat["id"]] = _VOID
                continue
            name = cat["name"].strip()
            by_id[cat["id"]] = name
            kind = cat.get("kind") if cat.get("kind") in ("semantic", "instance") else None
            color = cat.get("color") if isinstance(cat.get("color"), str) else None
            self._classes.setdefault(name, ImportedClass(name, kind, color))
        self._categories[json_name] = by_id
        split = split_of(json_name)
        limit = settings.LABELER_MAX_IMAGE_PIXELS
        index_of = self._index.setdefault(json_name, {})
        for index, img in enumerate(images):
            if not isinstance(img, dict) or not _is_int(img.get("id")) or not isinstance(img.get("file_name"), str):
                errors.add(f"{json_name}: image {index} needs an integer id and a file_name")
                continue
            width, height = img.get("width"), img.get("height")
            if not (_is_int(width) and _is_int(height) and width > 0 and height > 0):
                errors.add(f"{json_name}: image {img['id']} ({img['file_name']}) needs a positive integer width and height")
                continue
            if width * height > limit:
                errors.add(f"{json_name}: image {img['id']} ({img['file_name']}) declares {width}x{height} pixels, over the limit of {limit}")
                continue
            if img["id"] in index_of:
                errors.add(f"{json_name}: image id {img['id']} appears twice")
                continue
            file_name = img["file_name"]
            member = _find_member(self._archive, json_name, file_name, self._by_base)
            stored = img.get("labeler_file_name")  # ours, when images/ had to hold it under another name
            name = stored if isinstance(stored, str) and stored else file_name.rsplit("/", 1)[-1]
            index_of[img["id"]] = len(self.images)
            self.images.append(ImportedImage(json_name, name, member, width, height, split))

    def progress(self) -> float:
        consumed = self._stream.consumed if self._stream is not None else 0
        return min(1.0, (self._bytes_done + consumed) / self._bytes_total)

    def annotations(self) -> Iterator[tuple[int, ImportedAnnotation]]:
        for json_name in self.files:
            categories = self._categories.get(json_name)
            if categories is None:
                continue
            try:
                with self._archive.open(json_name) as stream:
                    self._stream = stream
                    yield from self._annotations_of(json_name, categories, stream)
            except _JSON_ERRORS as exc:
                self._errors.add(f"{json_name}: not valid JSON ({exc})")
            finally:
                self._bytes_done += self._archive.size(json_name)
                self._stream = None

    def _annotations_of(self, json_name: str, categories: dict[int, object], stream) -> Iterator[tuple[int, ImportedAnnotation]]:
        errors = self._errors
        index_of = self._index.get(json_name, {})
        # this loop runs for every annotation of the archive: plain type() tests, one dict per file
        for position, ann in enumerate(ijson.items(stream, "annotations.item", use_float=True)):
            if type(ann) is not dict:
                errors.add(f"{json_name}: annotation {position} is not an object")
                continue
            ann_id = ann.get("id", position)
            image_id = ann.get("image_id")
            index = index_of.get(image_id) if type(image_id) is int else None
            if index is None:
                errors.add(f"{json_name}: annotation {ann_id} is on image id {image_id!r}, which is not in 'images'")
                continue
            category = categories.get(ann.get("category_id"))  # type: ignore[arg-type]
            if category is None:
                errors.add(f"{json_name}: annotation {ann_id} on image {self.images[index].file_name}: unknown category id {ann.get('category_id')!r}")
                continue
            if "segmentation" not in ann:
                errors.add(f"{json_name}: annotation {ann_id} on image {self.images[index].file_name}: has no segmentation (boxes alone are not masks)")
                continue
            z_order = ann.get("z_order")
            score = ann.get("score")
            void = category is _VOID
            yield index, ImportedAnnotation(
                "" if void else category,  # type: ignore[arg-type]  (class_name)
                z_order if type(z_order) is int else None,
                None,  # rle: the importer checks the segmentation
                ann["segmentation"],
                float(score) if type(score) is float or type(score) is int else None,
                ann.get("iscrowd") in (1, True),
                f"{json_name}: annotation {ann_id}",
                void,
            )

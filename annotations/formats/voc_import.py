"""Pascal VOC reader: SegmentationClass (+ SegmentationObject) PNGs, named by labelmap.txt colours.

Mask colours are mapped to class names through labelmap.txt (ours, CVAT's, Datumaro's) or, when
the archive has none, the standard 20 VOC classes with the VOC colour map. Palette PNGs are read
by their palette colours, RGB PNGs by pixel colours; 255 / (224,224,192) is VOC's void border and
becomes the image's void region (never background). Each object index becomes an annotation of
the class most of its pixels have; class pixels outside every object become one annotation per
class (semantic). Without our `labeler.json`, a class that appears as an object anywhere is
created as an instance class, otherwise semantic; with it, kinds, colours and the exact class
and image names come from it (labelmap.txt and file stems may have had to change them). The
split of an image is the ImageSets list (Segmentation, else Main) that names it.

Two passes over the PNGs, so memory holds one image's masks at a time: the first (at construction)
finds classes, kinds, sizes and every problem; the second (`annotations()`) makes the masks.
"""
from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Iterator

import ijson
import numpy as np
from django.conf import settings
from PIL import Image as PILImage
from pycocotools import mask as cocomask

from .archive import Archive, Errors, stem
from .palette import VOC_COLORMAP, VOID_COLOR, VOID_INDEX, LabelmapError, labelmap_parse, standard_labelmap
from .records import ImportedAnnotation, ImportedClass, ImportedImage

MANIFEST = "labeler.json"  # ours: exact class and image names, class kinds and colours
_SPLIT = re.compile(r"^[A-Za-z0-9-]{1,32}$")

_IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


class _PngError(ValueError):
    pass


def _open_png(data: bytes) -> PILImage.Image:
    limit = settings.LABELER_MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            image = PILImage.open(io.BytesIO(data))
            if image.width * image.height > limit:
                raise _PngError(f"{image.width}x{image.height} pixels is over the limit of {limit}")
            image.load()
            return image
    except _PngError:
        raise
    except Exception as exc:  # Pillow raises many kinds for damaged files
        raise _PngError(f"not a readable PNG ({exc})") from None


def _colour_labels(image: PILImage.Image) -> tuple[np.ndarray, dict[int, tuple[int, int, int]]]:
    """Per-pixel integer labels and the colour of each label present."""
    if image.mode == "P":
        labels = np.asarray(image, dtype=np.uint8)
        palette = image.getpalette() or []
        colours = {}
        for value in np.unique(labels).tolist():
            rgb = tuple(palette[3 * value: 3 * value + 3])
            colours[value] = rgb if len(rgb) == 3 else VOC_COLORMAP[value]
        return labels.astype(np.int32), colours
    if image.mode in ("L", "I", "I;16"):  # grey levels as VOC indices
        labels = np.asarray(image).astype(np.int32)
        if labels.max(initial=0) > 255:
            raise _PngError("index values above 255")
        return labels, {v: VOC_COLORMAP[v] for v in np.unique(labels).tolist()}
    rgb = np.asarray(image.convert("RGB"), dtype=np.int32)
    packed = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    return packed, {v: ((v >> 16) & 255, (v >> 8) & 255, v & 255) for v in np.unique(packed).tolist()}


def _object_labels(image: PILImage.Image) -> np.ndarray:
    """Instance index per pixel, 0 = none. Palette/grey: the index itself; RGB: one id per colour."""
    if image.mode in ("P", "L"):
        labels = np.asarray(image, dtype=np.uint8).astype(np.int32)
        labels[labels == VOID_INDEX] = 0
        return labels
    labels, colours = _colour_labels(image)
    out = np.zeros(labels.shape, dtype=np.int32)
    next_id = 1
    for value, rgb in sorted(colours.items()):
        if rgb in ((0, 0, 0), VOID_COLOR):
            continue
        out[labels == value] = next_id
        next_id += 1
    return out


def _find_root(archive: Archive) -> str | None:
    for name in archive.names:
        parts = PurePosixPath(name).parts
        if len(parts) >= 2 and parts[-2] == "SegmentationClass" and name.lower().endswith(".png"):
            return str(PurePosixPath(*parts[:-2])) + "/" if len(parts) > 2 else ""
    return None


def _encode(bitmaps: list[np.ndarray]) -> list[dict]:
    """Many bitmaps of one image -> compressed RLE, in one pycocotools call."""
    if not bitmaps:
        return []
    stack = np.asfortranarray(np.stack(bitmaps, axis=2).astype(np.uint8))
    return [{"size": [int(r["size"][0]), int(r["size"][1])], "counts": r["counts"].decode("ascii")} for r in cocomask.encode(stack)]


@dataclass
class _Labels:
    """One image's masks, decoded: class k (1..) = named[k-1]; objects 0 = none; void pixels."""
    named: list[str]
    class_index: np.ndarray
    objects: np.ndarray
    object_class: dict[int, str]  # object index -> class name (most of its pixels)
    void: np.ndarray


class VocReader:
    """The DatasetReader of Pascal VOC archives (see records.DatasetReader)."""

    def __init__(self, archive: Archive, errors: Errors) -> None:
        self._archive = archive
        self._errors = errors
        root = _find_root(archive)
        if root is None:
            errors.add("no SegmentationClass/*.png in the archive (is this a Pascal VOC segmentation export?)")
            errors.raise_if_any()
        self._root = root
        self._manifest_classes, self._manifest_names = self._read_manifest()
        self._by_colour, listed = self._read_labelmap()
        splits = self._read_splits()
        class_prefix = f"{root}SegmentationClass/"
        self._object_prefix = f"{root}SegmentationObject/"
        image_members = {stem(n): n for n in archive.names if n.startswith(f"{root}JPEGImages/") and n.lower().endswith(_IMAGE_EXTS)}
        self._class_pngs: list[str] = []
        self.images: list[ImportedImage] = []
        used: set[str] = set()
        used_as_object: set[str] = set()
        for name in sorted(n for n in archive.names if n.startswith(class_prefix) and n.lower().endswith(".png")):
            if "/" in name[len(class_prefix):]:
                continue
            labels = self._labels(name)
            if labels is None:
                continue
            image_stem = stem(name)
            member = image_members.get(image_stem)
            file_name = self._manifest_names.get(image_stem) or (f"{image_stem}.jpg" if member is None else PurePosixPath(member).name)
            height, width = labels.class_index.shape
            self.images.append(ImportedImage(name, file_name, member, width, height, splits.get(image_stem, "")))
            self._class_pngs.append(name)
            used.update(labels.named)
            used_as_object.update(labels.object_class.values())
        self._done = 0
        from_manifest = {c.name: c for c in self._manifest_classes.values()}
        names = [self._manifest_classes[n].name if n in self._manifest_classes else n for n in listed]
        names += [c for c in from_manifest if c not in names]
        names += sorted(used - set(names))
        self.classes = [
            from_manifest.get(n) or ImportedClass(n, "instance" if n in used_as_object else "semantic") for n in names
        ]

    def _read_manifest(self) -> tuple[dict[str, ImportedClass], dict[str, str]]:
        """Our labeler.json: labelmap name -> class, and VOC stem -> exact image file name."""
        name = f"{self._root}{MANIFEST}"
        if name not in self._archive:
            return {}, {}
        classes: dict[str, ImportedClass] = {}
        names: dict[str, str] = {}
        try:
            with self._archive.open(name) as stream:
                for item in ijson.items(stream, "classes.item"):
                    if isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("labelmap_name"), str):
                        kind = item.get("kind") if item.get("kind") in ("semantic", "instance") else None
                        color = item.get("color") if isinstance(item.get("color"), str) else None
                        classes[item["labelmap_name"]] = ImportedClass(item["name"], kind, color)
            with self._archive.open(name) as stream:
                for item in ijson.items(stream, "images.item"):
                    if isinstance(item, dict) and isinstance(item.get("stem"), str) and isinstance(item.get("file_name"), str):
                        names[item["stem"]] = item["file_name"]
        except (ijson.JSONError, ijson.IncompleteJSONError, UnicodeDecodeError, ValueError) as exc:
            self._errors.add(f"{name}: not valid JSON ({exc})")
            self._errors.raise_if_any()
        return classes, names

    def _read_labelmap(self) -> tuple[dict[tuple[int, int, int], str], list[str]]:
        labelmap_name = f"{self._root}labelmap.txt"
        self._labelmap_where = "labelmap.txt" if labelmap_name in self._archive else "the standard VOC colour map (no labelmap.txt)"
        if labelmap_name not in self._archive:
            return standard_labelmap(), []
        try:
            by_colour = labelmap_parse(self._archive.read(labelmap_name).decode("utf-8"))
        except (LabelmapError, UnicodeDecodeError) as exc:
            self._errors.add(f"{labelmap_name}: {exc}")
            self._errors.raise_if_any()
        by_colour.pop(VOID_COLOR, None)  # void is void, whatever the labelmap calls it
        # every class the labelmap lists exists after the import, used or not
        return by_colour, [n for n in by_colour.values() if n != "background"]

    def _read_splits(self) -> dict[str, str]:
        """Image stem -> split, from ImageSets/Segmentation/<split>.txt (else ImageSets/Main/<split>.txt).
        `trainval` is the union of train and val in VOC, so it counts only for images in no other list."""
        for task in ("Segmentation", "Main"):
            prefix = f"{self._root}ImageSets/{task}/"
            lists = sorted(
                (n for n in self._archive.names if n.startswith(prefix) and n.endswith(".txt") and "/" not in n[len(prefix):]),
                key=lambda n: (stem(n) == "trainval", {"train": 0, "val": 1, "test": 2}.get(stem(n), 3), n),
            )
            lists = [n for n in lists if _SPLIT.match(stem(n))]
            if not lists:
                continue
            out: dict[str, str] = {}
            for name in lists:
                split = stem(name)
                with self._archive.open(name) as raw, io.TextIOWrapper(raw, encoding="utf-8", errors="replace") as text:
                    for line in text:
                        line = line.strip()
                        if line and not line.startswith("#"):
                            out.setdefault(line, split)  # the whole line: stems may hold spaces
            return out
        return {}

    def _labels(self, name: str) -> _Labels | None:
        """Decode one image's class and object PNGs; None (and the problem recorded) when unusable."""
        errors = self._errors
        try:
            labels, colours = _colour_labels(_open_png(self._archive.read(name)))
        except _PngError as exc:
            errors.add(f"{name}: {exc}")
            return None
        names_by_label: dict[int, str | None] = {}
        void_labels: list[int] = []
        bad = False
        for value, rgb in colours.items():
            if rgb == VOID_COLOR:
                void_labels.append(value)
            elif self._by_colour.get(rgb) == "background" or rgb == (0, 0, 0):
                names_by_label[value] = None
            elif rgb in self._by_colour:
                label_name = self._by_colour[rgb]
                names_by_label[value] = self._manifest_classes[label_name].name if label_name in self._manifest_classes else label_name
            else:
                errors.add(f"{name}: colour {rgb} is not in {self._labelmap_where}")
                bad = True
        if bad:
            return None
        objects = np.zeros_like(labels)
        object_name = f"{self._object_prefix}{stem(name)}.png"
        if object_name in self._archive:
            try:
                objects = _object_labels(_open_png(self._archive.read(object_name)))
            except _PngError as exc:
                errors.add(f"{object_name}: {exc}")
                return None
            if objects.shape != labels.shape:
                errors.add(
                    f"{object_name}: mask size {objects.shape[0]}x{objects.shape[1]} (h x w) differs from "
                    f"{name}'s {labels.shape[0]}x{labels.shape[1]}"
                )
                return None
        class_index = np.zeros(labels.shape, dtype=np.int32)  # 0 = no class; k = k-th named class
        named = sorted({n for n in names_by_label.values() if n is not None})
        for value, class_name in names_by_label.items():
            if class_name is not None:
                class_index[labels == value] = named.index(class_name) + 1
        void = np.isin(labels, void_labels) if void_labels else np.zeros(labels.shape, dtype=bool)
        object_class: dict[int, str] = {}
        object_ids = np.unique(objects)
        if len(object_ids) and object_ids[-1] > 0:
            # votes[object, class]: how many of an object's pixels carry each class
            votes = np.zeros((int(object_ids[-1]) + 1, len(named) + 1), dtype=np.int64)
            np.add.at(votes, (objects.ravel(), class_index.ravel()), 1)
            votes[:, 0] = 0
            for object_id in (int(v) for v in object_ids if v > 0):
                if votes[object_id].sum() == 0:
                    if not void[objects == object_id].all():
                        errors.add(f"{object_name}: object {object_id} covers only background in {name}")
                    continue
                object_class[object_id] = named[int(votes[object_id].argmax()) - 1]
        return _Labels(named, class_index, objects, object_class, void)

    def progress(self) -> float:
        return self._done / max(len(self._class_pngs), 1)

    def annotations(self) -> Iterator[tuple[int, ImportedAnnotation]]:
        for index, name in enumerate(self._class_pngs):
            self._done = index
            labels = self._labels(name)
            if labels is None:
                continue
            items: list[tuple[str, int]] = []
            bitmaps: list[np.ndarray] = []
            for object_id, class_name in sorted(labels.object_class.items()):
                items.append((class_name, object_id))
                bitmaps.append(labels.objects == object_id)
            stuff = labels.objects == 0
            for k, class_name in enumerate(labels.named, start=1):
                bitmap = (labels.class_index == k) & stuff
                if bitmap.any():
                    items.append((class_name, 0))
                    bitmaps.append(bitmap)
            if labels.void.any():
                items.append(("", 0))
                bitmaps.append(labels.void)
            for (class_name, z_order), rle in zip(items, _encode(bitmaps)):
                yield index, ImportedAnnotation(
                    class_name=class_name, z_order=z_order, rle=rle, where=f"{name}: object {z_order}", void=not class_name,
                )
        self._done = len(self._class_pngs)

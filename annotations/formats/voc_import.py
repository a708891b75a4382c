"""Pascal VOC reader: SegmentationClass (+ SegmentationObject) PNGs, named by labelmap.txt colours.

Mask colours are mapped to class names through labelmap.txt (ours, CVAT's, Datumaro's) or, when
the archive has none, the standard 20 VOC classes with the VOC colour map. Palette PNGs are read
by their palette colours, RGB PNGs by pixel colours; 255 / (224,224,192) is VOC's void border and
reads as background. Each object index becomes an instance annotation of the class most of its
pixels have; class pixels outside every object become one annotation per class (semantic).
A class that appears as an object anywhere is created as an instance class, otherwise semantic.
"""
from __future__ import annotations

import io
import warnings
from pathlib import PurePosixPath

import numpy as np
from django.conf import settings
from PIL import Image as PILImage

from .. import masks
from .archive import Archive, Errors, stem
from .palette import VOC_COLORMAP, VOID_COLOR, VOID_INDEX, LabelmapError, labelmap_parse, standard_labelmap
from .records import ImportedAnnotation, ImportedClass, ImportedDataset, ImportedImage

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


def parse_voc(archive: Archive) -> ImportedDataset:
    errors = Errors()
    root = _find_root(archive)
    if root is None:
        errors.add("no SegmentationClass/*.png in the archive (is this a Pascal VOC segmentation export?)")
        errors.raise_if_any()
    labelmap_name = f"{root}labelmap.txt"
    classes: dict[str, ImportedClass] = {}
    if labelmap_name in archive:
        try:
            by_colour = labelmap_parse(archive.read(labelmap_name).decode("utf-8"))
        except (LabelmapError, UnicodeDecodeError) as exc:
            errors.add(f"{labelmap_name}: {exc}")
            errors.raise_if_any()
        # every class the labelmap lists exists after the import, used or not
        listed = [n for n in by_colour.values() if n != "background"]
    else:
        by_colour = standard_labelmap()
        listed = []
    class_prefix = f"{root}SegmentationClass/"
    object_prefix = f"{root}SegmentationObject/"
    image_members = {stem(n): n for n in archive.names if n.startswith(f"{root}JPEGImages/") and n.lower().endswith(_IMAGE_EXTS)}
    used_as_object: set[str] = set()
    used: set[str] = set()
    images: list[ImportedImage] = []
    for name in sorted(n for n in archive.names if n.startswith(class_prefix) and n.lower().endswith(".png")):
        if "/" in name[len(class_prefix):]:
            continue
        image_stem = stem(name)
        try:
            class_png = _open_png(archive.read(name))
            labels, colours = _colour_labels(class_png)
        except _PngError as exc:
            errors.add(f"{name}: {exc}")
            continue
        height, width = labels.shape
        names_by_label: dict[int, str | None] = {}
        bad = False
        for value, rgb in colours.items():
            if rgb == VOID_COLOR or by_colour.get(rgb) == "background" or rgb == (0, 0, 0):
                names_by_label[value] = None
            elif rgb in by_colour:
                names_by_label[value] = by_colour[rgb]
            else:
                where = "labelmap.txt" if labelmap_name in archive else "the standard VOC colour map (no labelmap.txt)"
                errors.add(f"{name}: colour {rgb} is not in {where}")
                bad = True
        if bad:
            continue
        objects = np.zeros_like(labels)
        object_name = f"{object_prefix}{image_stem}.png"
        if object_name in archive:
            try:
                objects = _object_labels(_open_png(archive.read(object_name)))
            except _PngError as exc:
                errors.add(f"{object_name}: {exc}")
                continue
            if objects.shape != labels.shape:
                errors.add(f"{object_name}: mask size {objects.shape[0]}x{objects.shape[1]} (h x w) differs from {name}'s {height}x{width}")
                continue
        member = image_members.get(image_stem)
        image = ImportedImage(name, f"{image_stem}.jpg" if member is None else PurePosixPath(member).name, member, width, height)
        class_index = np.zeros(labels.shape, dtype=np.int32)  # 0 = no class; k = k-th named class
        named = sorted({n for n in names_by_label.values() if n is not None})
        for value, class_name in names_by_label.items():
            if class_name is not None:
                class_index[labels == value] = named.index(class_name) + 1
        for object_id in (v for v in np.unique(objects).tolist() if v > 0):
            bitmap = objects == object_id
            votes = np.bincount(class_index[bitmap], minlength=len(named) + 1)
            votes[0] = 0
            if votes.sum() == 0:
                errors.add(f"{object_name}: object {object_id} covers only background in {name}")
                continue
            class_name = named[int(votes.argmax()) - 1]
            used_as_object.add(class_name)
            image.annotations.append(ImportedAnnotation(class_name, masks.encode(bitmap.astype(np.uint8)), z_order=object_id))
        stuff = objects == 0
        for k, class_name in enumerate(named, start=1):
            bitmap = (class_index == k) & stuff
            if bitmap.any():
                image.annotations.append(ImportedAnnotation(class_name, masks.encode(bitmap.astype(np.uint8)), z_order=0))
        used.update(named)
        images.append(image)
    errors.raise_if_any()
    ordered = listed + sorted(used - set(listed))
    for class_name in ordered:
        classes[class_name] = ImportedClass(class_name, "instance" if class_name in used_as_object else "semantic")
    return ImportedDataset(classes=list(classes.values()), images=images)

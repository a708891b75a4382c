"""Pascal VOC 2012 writer: JPEGImages, SegmentationClass, SegmentationObject, Annotations, ImageSets, labelmap.txt.

Each pixel has one owner in VOC, so overlapping annotations are resolved by z-order: masks are
painted in ascending (z_order, id) and the last one painted (the highest z) wins. A semantic
mask on top of an instance clears the instance there (object index 0). Instances left with no
visible pixel are dropped, and object indices are renumbered 1..n in painting order so that
object n of `Annotations/<stem>.xml` is index n in `SegmentationObject/<stem>.png`.
Class index i (1..n, in label-class order) uses colour i of the VOC colour map, written to labelmap.txt.
"""
from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from typing import Callable, Iterable

import numpy as np
from PIL import Image as PILImage
from scipy import ndimage

from ..errors import ValidationFailed
from .palette import MAX_INDEX, VOC_PALETTE, labelmap_text
from .records import ExportClass, ExportImage, decode_stored
from .zipstream import Spool, ZipSink, lines_spool


def class_indices(classes: list[ExportClass]) -> dict[int, int]:
    if len(classes) > MAX_INDEX:
        raise ValidationFailed(f"VOC masks hold at most {MAX_INDEX} classes; this project has {len(classes)}")
    bad = [c.name for c in classes if ":" in c.name or "\n" in c.name]
    if bad:
        raise ValidationFailed(f"class names with ':' cannot be written to labelmap.txt: {', '.join(bad)}")
    return {c.id: index for index, c in enumerate(classes, start=1)}


def paint(image: ExportImage, *, class_index: dict[int, int], instance_classes: set[int]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """(class map, object map, class id of each object index) with overlaps resolved by z-order."""
    class_map = np.zeros((image.height, image.width), dtype=np.uint8)
    object_map = np.zeros((image.height, image.width), dtype=np.uint8)
    object_class: list[int] = []
    for ann in sorted(image.annotations, key=lambda a: (a.z_order, a.id)):
        bitmap = decode_stored(image.height, image.width, ann.counts).astype(bool)
        class_map[bitmap] = class_index[ann.class_id]
        if ann.class_id in instance_classes:
            if len(object_class) >= MAX_INDEX:
                raise ValidationFailed(f"image {image.file_name}: VOC object masks hold at most {MAX_INDEX} instances")
            object_class.append(ann.class_id)
            object_map[bitmap] = len(object_class)
        else:
            object_map[bitmap] = 0
    # renumber: hidden instances vanish, the rest keep their painting order
    visible = np.unique(object_map)
    visible = visible[visible > 0]
    if len(visible) != len(object_class):
        lookup = np.zeros(256, dtype=np.uint8)
        lookup[visible] = np.arange(1, len(visible) + 1, dtype=np.uint8)
        object_map = lookup[object_map]
        object_class = [object_class[v - 1] for v in visible.tolist()]
    return class_map, object_map, object_class


def palette_png(array: np.ndarray) -> bytes:
    image = PILImage.fromarray(array)
    image.putpalette(VOC_PALETTE)  # "L" becomes "P": an 8-bit palette PNG
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_bytes(path: str, ext: str) -> bytes | None:
    """None when the stored file is already a JPEG (copied byte for byte); else a re-encoded JPEG.

    Re-encoding changes pixels (JPEG is lossy); that is what VOC's layout asks for.
    """
    if ext == "jpg":
        return None
    with PILImage.open(path) as source:
        rgb = source.convert("RGB")
    buffer = io.BytesIO()
    rgb.save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def annotation_xml(image: ExportImage, object_map: np.ndarray, object_names: list[str]) -> bytes:
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "VOC2012"
    ET.SubElement(root, "filename").text = f"{image.stem}.jpg"
    size = ET.SubElement(root, "size")
    ET.SubElement(size, "width").text = str(image.width)
    ET.SubElement(size, "height").text = str(image.height)
    ET.SubElement(size, "depth").text = "3"
    ET.SubElement(root, "segmented").text = "1"
    for index, box in enumerate(ndimage.find_objects(object_map, max_label=len(object_names)), start=1):
        if box is None:
            continue
        rows, cols = box
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = object_names[index - 1]
        ET.SubElement(obj, "pose").text = "Unspecified"
        touches = rows.start == 0 or cols.start == 0 or rows.stop == image.height or cols.stop == image.width
        ET.SubElement(obj, "truncated").text = "1" if touches else "0"
        ET.SubElement(obj, "difficult").text = "0"
        bndbox = ET.SubElement(obj, "bndbox")
        # VOC boxes are 1-based and inclusive
        ET.SubElement(bndbox, "xmin").text = str(cols.start + 1)
        ET.SubElement(bndbox, "ymin").text = str(rows.start + 1)
        ET.SubElement(bndbox, "xmax").text = str(cols.stop)
        ET.SubElement(bndbox, "ymax").text = str(rows.stop)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def write_voc(
    sink: ZipSink, *, classes: list[ExportClass], images: Iterable[ExportImage], split_names: Iterable[str],
    with_images: bool = False, image_path: Callable[[ExportImage], str] | None = None,
    on_image: Callable[[int], None] | None = None,
) -> dict[str, int]:
    class_index = class_indices(classes)
    names = {c.id: c.name for c in classes}
    instance_classes = {c.id for c in classes if c.kind == "instance"}
    split_names = list(split_names)
    lists: dict[str, Spool] = {name: lines_spool() for name in {*split_names, "train", "val", "trainval"}}
    done = objects = 0
    try:
        for image in images:
            class_map, object_map, object_class = paint(image, class_index=class_index, instance_classes=instance_classes)
            sink.write_bytes(f"SegmentationClass/{image.stem}.png", palette_png(class_map), compress=False)
            sink.write_bytes(f"SegmentationObject/{image.stem}.png", palette_png(object_map), compress=False)
            sink.write_bytes(f"Annotations/{image.stem}.xml", annotation_xml(image, object_map, [names[c] for c in object_class]))
            objects += len(object_class)
            if with_images and image_path is not None:
                path = image_path(image)
                data = jpeg_bytes(path, image.ext)
                if data is None:
                    sink.write_file(f"JPEGImages/{image.stem}.jpg", path)
                else:
                    sink.write_bytes(f"JPEGImages/{image.stem}.jpg", data, compress=False)
            line = image.stem.encode("utf-8")
            lists[image.split].append_raw(line)
            if image.split in ("train", "val"):
                lists["trainval"].append_raw(line)
            done += 1
            if on_image is not None:
                on_image(done)
        for name, spool in sorted(lists.items()):
            sink.write_document(f"ImageSets/Segmentation/{name}.txt", [spool, b"\n" if spool.count else b""])
        sink.write_bytes("labelmap.txt", labelmap_text(c.name for c in classes).encode("utf-8"))
    finally:
        for spool in lists.values():
            spool.close()
    return {"images": done, "objects": objects}

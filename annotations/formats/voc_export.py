"""Pascal VOC 2012 writer: JPEGImages, SegmentationClass, SegmentationObject, Annotations, ImageSets, labelmap.txt.

Each pixel has one owner in VOC, so overlapping annotations are resolved by z-order: masks are
painted in ascending (z_order, id) and the last one painted (the highest z) wins. Every visible
mask, semantic ones included, gets an object index in SegmentationObject (and an <object> in
Annotations/<stem>.xml, numbered alike): CVAT's "Segmentation mask" import and Datumaro's VOC
readers take objects from that PNG, and read a semantic-only project as empty otherwise.
Annotations left with no visible pixel are dropped, and object indices are renumbered 1..n in
painting order. The image's void region is painted last, as 255 in both PNGs (VOC's void).
Class index i (1..n, in label-class order) uses colour i of the VOC colour map, written to
labelmap.txt (names escaped there, see palette.labelmap_name). ImageSets/Segmentation and
ImageSets/Main list the same stems per split (Datumaro's `voc` format looks for Main).
`labeler.json` maps labelmap names and stems back to the exact class and image names, and keeps
each class's kind and colour, for our own import.
"""
from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from typing import Callable, Iterable, Sequence

import numpy as np
from PIL import Image as PILImage
from scipy import ndimage

from ..errors import ValidationFailed
from .palette import MAX_INDEX, VOC_PALETTE, VOID_INDEX, labelmap_name, labelmap_text
from .records import ExportClass, ExportImage, decode_stored
from .zipstream import Fragment, Spool, ZipSink, joined, json_array_spool, json_bytes, lines_spool

MANIFEST = "labeler.json"


def class_indices(classes: list[ExportClass]) -> dict[int, int]:
    if len(classes) > MAX_INDEX:
        raise ValidationFailed(f"VOC masks hold at most {MAX_INDEX} classes; this project has {len(classes)}")
    return {c.id: index for index, c in enumerate(classes, start=1)}


def paint(image: ExportImage, *, class_index: dict[int, int]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """(class map, object map, class id of each object index) with overlaps resolved by z-order
    and void on top (255 in both maps)."""
    ordered = sorted(image.annotations, key=lambda a: (a.z_order, a.id))
    # painting order index per mask; uint16 so that hidden masks can still free indices below 255
    owner = np.zeros((image.height, image.width), dtype=np.uint16)
    class_map = np.zeros((image.height, image.width), dtype=np.uint8)
    for number, ann in enumerate(ordered, start=1):
        bitmap = decode_stored(image.height, image.width, ann.counts).astype(bool)
        class_map[bitmap] = class_index[ann.class_id]
        owner[bitmap] = number
    void = decode_stored(image.height, image.width, image.void_counts).astype(bool) if image.void_counts else None
    if void is not None:
        owner[void] = 0
        class_map[void] = VOID_INDEX
    # renumber: hidden masks vanish, the rest keep their painting order
    visible = np.unique(owner)
    visible = visible[visible > 0]
    if len(visible) > MAX_INDEX:
        raise ValidationFailed(
            f"image {image.file_name}: VOC object masks hold at most {MAX_INDEX} visible masks, it has {len(visible)}"
        )
    lookup = np.zeros(len(ordered) + 1, dtype=np.uint8)
    lookup[visible] = np.arange(1, len(visible) + 1, dtype=np.uint8)
    object_map = lookup[owner]
    if void is not None:
        object_map[void] = VOID_INDEX
    return class_map, object_map, [ordered[v - 1].class_id for v in visible.tolist()]


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
    """Annotations/<stem>.xml: one <object> per object index, box from its visible pixels."""
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "VOC2012"
    ET.SubElement(root, "filename").text = f"{image.stem}.jpg"
    source = ET.SubElement(root, "source")
    ET.SubElement(source, "database").text = "labeler"
    size = ET.SubElement(root, "size")
    ET.SubElement(size, "width").text = str(image.width)
    ET.SubElement(size, "height").text = str(image.height)
    ET.SubElement(size, "depth").text = "3"
    ET.SubElement(root, "segmented").text = "1"
    boxes = ndimage.find_objects(np.where(object_map == VOID_INDEX, 0, object_map))
    for index, name in enumerate(object_names, start=1):
        rows, cols = boxes[index - 1]
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = name
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


class VocMembers:
    """The per-image half of a VOC export: each image's PNGs, XML (and JPEG) into the sink, its stem
    appended to its split's list and its manifest entry to the manifest spool (the lists, the
    labelmap and the manifest come at the end, `voc_documents`, possibly from several chunks)."""

    def __init__(
        self, sink: ZipSink, *, classes: list[ExportClass], split_names: Iterable[str], with_images: bool = False,
        image_path: Callable[[ExportImage], str] | None = None,
    ) -> None:
        self.sink, self.with_images, self.image_path = sink, with_images, image_path
        self.class_index = class_indices(classes)
        self.label_names = {c.id: labelmap_name(c.name) for c in classes}
        self.lists: dict[str, Spool] = {}
        self.manifest = json_array_spool()
        self.images = self.objects = 0
        self.any_void = False
        for name in sorted({*split_names, "train", "val", "trainval"}):
            self._list_of(name)

    def _list_of(self, name: str) -> Spool:
        if name not in self.lists:
            self.lists[name] = lines_spool()
        return self.lists[name]

    def add(self, image: ExportImage) -> None:
        class_map, object_map, object_class = paint(image, class_index=self.class_index)
        self.any_void = self.any_void or image.void_counts is not None
        sink = self.sink
        sink.write_bytes(f"SegmentationClass/{image.stem}.png", palette_png(class_map), compress=False)
        sink.write_bytes(f"SegmentationObject/{image.stem}.png", palette_png(object_map), compress=False)
        sink.write_bytes(f"Annotations/{image.stem}.xml",
                         annotation_xml(image, object_map, [self.label_names[c] for c in object_class]))
        self.objects += len(object_class)
        if self.with_images and self.image_path is not None:
            path = self.image_path(image)
            data = jpeg_bytes(path, image.ext)
            if data is None:
                sink.write_file(f"JPEGImages/{image.stem}.jpg", path)
            else:
                sink.write_bytes(f"JPEGImages/{image.stem}.jpg", data, compress=False)
        line = image.stem.encode("utf-8")
        self._list_of(image.split).append_raw(line)
        if image.split in ("train", "val"):
            self._list_of("trainval").append_raw(line)
        self.manifest.append_json({"stem": image.stem, "file_name": image.file_name})
        self.images += 1

    def counts(self) -> dict[str, int]:
        return {"images": self.images, "objects": self.objects}

    def close(self) -> None:
        for spool in self.lists.values():
            spool.close()
        self.manifest.close()


def voc_documents(
    sink: ZipSink, *, classes: list[ExportClass], lists: dict[str, Sequence[Fragment]], manifest: Sequence[Fragment],
    any_void: bool,
) -> None:
    """ImageSets (every list, from its fragments in order), labelmap.txt and labeler.json."""
    class_index = class_indices(classes)
    label_names = {c.id: labelmap_name(c.name) for c in classes}
    for name, fragments in sorted(lists.items()):
        lines = sum(f.count for f in fragments)
        for task in ("Segmentation", "Main"):
            sink.write_document(f"ImageSets/{task}/{name}.txt", [*joined(fragments, b"\n"), b"\n" if lines else b""])
    sink.write_bytes("labelmap.txt", labelmap_text((label_names[c.id] for c in classes), void=any_void).encode("utf-8"))
    manifest_classes = [
        {"name": c.name, "labelmap_name": label_names[c.id], "index": class_index[c.id], "kind": c.kind, "color": c.color}
        for c in classes
    ]
    sink.write_document(MANIFEST, [
        json_bytes({"labeler_export": 1, "classes": manifest_classes})[:-1], b',"images":[', *joined(manifest, b","), b"]}",
    ])


def write_voc(
    sink: ZipSink, *, classes: list[ExportClass], images: Iterable[ExportImage], split_names: Iterable[str],
    with_images: bool = False, image_path: Callable[[ExportImage], str] | None = None,
    on_image: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """`split_names`: lists written even when empty (train, val and trainval always are)."""
    members = VocMembers(sink, classes=classes, split_names=split_names, with_images=with_images, image_path=image_path)
    try:
        for image in images:
            members.add(image)
            if on_image is not None:
                on_image(members.images)
        voc_documents(sink, classes=classes, lists={name: [spool] for name, spool in members.lists.items()},
                      manifest=[members.manifest], any_void=members.any_void)
    finally:
        members.close()
    return members.counts()

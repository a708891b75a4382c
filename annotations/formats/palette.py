"""Pascal VOC colours: the standard 256-entry colour map, the 20 VOC classes and `labelmap.txt`.

`labelmap.txt` is the file CVAT and Datumaro write next to a VOC export (`name:r,g,b:parts:actions`);
we write it so the archive re-imports in those tools, and read it to map mask colours to names.
"""
from __future__ import annotations

from typing import Iterable

VOC_CLASSES = [
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
]
VOID_INDEX = 255  # VOC's "border / don't care" index: an image's void region, read and written as such
VOID_COLOR = (224, 224, 192)
MAX_INDEX = 254  # palette indices 1..254 are usable for classes and instances


def voc_colormap(n: int = 256) -> list[tuple[int, int, int]]:
    """The VOC devkit's bit-interleaved colour map (`labelcolormap.m`): index -> (r, g, b)."""
    colours = []
    for index in range(n):
        r = g = b = 0
        c = index
        for shift in range(7, -1, -1):
            r |= (c & 1) << shift
            g |= ((c >> 1) & 1) << shift
            b |= ((c >> 2) & 1) << shift
            c >>= 3
        colours.append((r, g, b))
    return colours


VOC_COLORMAP = voc_colormap()
# Flat [r, g, b, r, g, b, ...] as Pillow's putpalette wants it.
VOC_PALETTE = [v for rgb in VOC_COLORMAP for v in rgb]


def labelmap_name(name: str) -> str:
    """A class name as labelmap.txt can hold it: fields are split on ':' and a line starting with
    '#' is a comment (CVAT's and Datumaro's readers), so '%', ':' and a leading '#' are
    percent-encoded. The VOC export's labeler.json maps the result back to the exact name."""
    out = name.replace("%", "%25").replace(":", "%3A")
    return "%23" + out[1:] if out.startswith("#") else out


def labelmap_text(names: Iterable[str], *, void: bool = False) -> str:
    """labelmap.txt for `names` (index 1..n, already labelmap_name'd) with the VOC colour of each
    index; background first, and VOC's void colour (index 255) as `ignored`, Datumaro's name for it,
    when the masks hold void pixels (Datumaro refuses a mask colour its labelmap lacks)."""
    names = list(names)
    lines = ["# label:color_rgb:parts:actions", "background:0,0,0::"]
    for index, name in enumerate(names, start=1):
        r, g, b = VOC_COLORMAP[index]
        lines.append(f"{name}:{r},{g},{b}::")
    if void:
        void_name = next(n for n in ("ignored", "ignored_void", "labeler_void") if n not in names)
        lines.append(f"{void_name}:{VOID_COLOR[0]},{VOID_COLOR[1]},{VOID_COLOR[2]}::")
    return "\n".join(lines) + "\n"


class LabelmapError(ValueError):
    pass


def labelmap_parse(text: str) -> dict[tuple[int, int, int], str]:
    """Colour -> class name from labelmap.txt; raises LabelmapError naming the bad line."""
    by_colour: dict[tuple[int, int, int], str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        if len(parts) < 2 or not parts[0]:
            raise LabelmapError(f"line {number}: expected 'name:r,g,b::', got {raw!r}")
        name = parts[0]
        try:
            rgb = tuple(int(v) for v in parts[1].split(","))
        except ValueError:
            raise LabelmapError(f"line {number}: colour {parts[1]!r} is not r,g,b") from None
        if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
            raise LabelmapError(f"line {number}: colour {parts[1]!r} is not three numbers 0..255")
        if rgb in by_colour:
            raise LabelmapError(f"line {number}: colour {parts[1]} is used by {by_colour[rgb]!r} and {name!r}")
        by_colour[rgb] = name  # type: ignore[index]
    return by_colour


def standard_labelmap() -> dict[tuple[int, int, int], str]:
    return {VOC_COLORMAP[i]: name for i, name in enumerate(VOC_CLASSES)}

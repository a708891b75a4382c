"""The mask codec: bitmaps, COCO compressed RLE and polygons, through pycocotools. No torch.

Every mask at rest is COCO compressed RLE, `{"size": [h, w], "counts": str}`. Bitmaps are
numpy uint8/bool arrays of shape (h, w). Polygons are flat [x0, y0, x1, y1, ...] lists in
pixel coordinates, rasterised the way pycocotools does it so exports and imports agree.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
from pycocotools import mask as cocomask


class MaskError(ValueError):
    """A mask that cannot be used: wrong size, undecodable RLE, malformed polygon."""


RLE = dict  # {"size": [h, w], "counts": str}


def encode(bitmap: np.ndarray) -> RLE:
    """Bitmap (h, w) -> compressed RLE with str counts."""
    if bitmap.ndim != 2:
        raise MaskError(f"a mask must be 2-D, got shape {bitmap.shape}")
    rle = cocomask.encode(np.asfortranarray(bitmap, dtype=np.uint8))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}


def _as_coco(rle: RLE) -> dict:
    counts = rle["counts"]
    size = [int(rle["size"][0]), int(rle["size"][1])]
    if isinstance(counts, list):
        return cocomask.frPyObjects({"size": size, "counts": counts}, size[0], size[1])
    if isinstance(counts, str):
        counts = counts.encode("ascii")
    return {"size": size, "counts": counts}


def decode(rle: RLE) -> np.ndarray:
    """Compressed (or uncompressed list-of-counts) RLE -> uint8 bitmap (h, w)."""
    validate(rle)
    return cocomask.decode(_as_coco(rle))


def validate(rle: RLE, *, height: int | None = None, width: int | None = None) -> None:
    """Raise MaskError unless `rle` is well formed and (optionally) of the given size."""
    if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
        raise MaskError("a mask must be an object with 'size' and 'counts'")
    size = rle["size"]
    if (
        not isinstance(size, (list, tuple))
        or len(size) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)
    ):
        raise MaskError(f"mask size must be two positive integers [height, width], got {size!r}")
    if height is not None and width is not None and (size[0], size[1]) != (height, width):
        raise MaskError(f"mask size {size[0]}x{size[1]} (h x w) differs from the image's {height}x{width}")
    counts = rle["counts"]
    total = size[0] * size[1]
    if isinstance(counts, list):
        if not all(isinstance(c, int) and c >= 0 for c in counts) or sum(counts) != total:
            raise MaskError(f"uncompressed RLE counts must be non-negative integers summing to {total}")
        return
    if not isinstance(counts, (str, bytes)):
        raise MaskError("mask counts must be a string (compressed RLE) or a list of integers")
    try:
        raw = counts.encode("ascii") if isinstance(counts, str) else counts
    except UnicodeEncodeError as exc:
        raise MaskError("compressed RLE counts must be ASCII") from exc
    if any(b < 48 or b > 48 + 63 for b in raw):
        raise MaskError("compressed RLE counts contain characters outside the COCO alphabet")
    runs = _runs_from_string(raw)
    if runs is None or sum(runs) != total or any(r < 0 for r in runs):
        raise MaskError(f"compressed RLE does not decode to {size[0]}x{size[1]} pixels")


def _runs_from_string(raw: bytes) -> list[int] | None:
    """Parse COCO's compressed counts (as pycocotools' rleFrString) to check them before decoding.

    pycocotools' own decoder trusts its input and can read past the end, so we check first.
    """
    runs: list[int] = []
    p = 0
    n = len(raw)
    while p < n:
        x = 0
        k = 0
        more = True
        while more:
            if p >= n:
                return None
            c = raw[p] - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(runs) > 2:
            x += runs[-2]
        runs.append(x)
    return runs


def area(rle: RLE) -> int:
    return int(cocomask.area(_as_coco(rle)))


def bbox(rle: RLE) -> list[int]:
    """[x, y, w, h] of the mask's pixels (integers; all zero for an empty mask)."""
    x, y, w, h = cocomask.toBbox(_as_coco(rle)).tolist()
    return [int(x), int(y), int(w), int(h)]


def from_polygons(polygons: Sequence[Sequence[float]], height: int, width: int) -> RLE:
    """Rasterise one or more polygons (COCO flat lists) into one RLE, as pycocotools does."""
    if not polygons:
        raise MaskError("at least one polygon is needed")
    for poly in polygons:
        if len(poly) < 6 or len(poly) % 2:
            raise MaskError(f"a polygon needs at least 3 points as an even list of numbers, got {len(poly)} numbers")
    rles = cocomask.frPyObjects([list(map(float, p)) for p in polygons], height, width)
    merged = cocomask.merge(rles)
    return {"size": [height, width], "counts": merged["counts"].decode("ascii")}


def to_polygons(rle: RLE, *, tolerance: float = 0.0) -> list[list[float]]:
    """Outline polygons of a mask (for COCO polygon export): outer contours via skimage marching squares.

    Polygons are an export option and lose holes and 1-px detail; RLE stays the truth.
    """
    from skimage import measure

    bitmap = decode(rle)
    padded = np.pad(bitmap, 1)
    polygons: list[list[float]] = []
    for contour in measure.find_contours(padded, 0.5):
        if tolerance > 0:
            contour = measure.approximate_polygon(contour, tolerance)
        contour = contour - 1  # undo the padding
        if len(contour) < 3:
            continue
        flat = np.flip(contour, axis=1).ravel()  # (row, col) -> (x, y)
        polygons.append([round(float(v), 2) for v in flat])
    return polygons


def union(rles: Iterable[RLE]) -> RLE:
    items = [_as_coco(r) for r in rles]
    if not items:
        raise MaskError("union of no masks")
    merged = cocomask.merge(items, intersect=0)
    return {"size": [int(merged["size"][0]), int(merged["size"][1])], "counts": merged["counts"].decode("ascii")}


def subtract(rle: RLE, other: RLE) -> RLE:
    """Pixels of `rle` not in `other`."""
    a = decode(rle)
    b = decode(other)
    if a.shape != b.shape:
        raise MaskError(f"cannot subtract masks of sizes {b.shape} and {a.shape}")
    return encode(a & (1 - b))


def iou(a: RLE, b: RLE) -> float:
    return float(cocomask.iou([_as_coco(a)], [_as_coco(b)], [0])[0][0])

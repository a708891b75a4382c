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
    problem = size_problem(rle["size"], height=height, width=width)
    if problem:
        raise MaskError(problem)
    size = rle["size"]
    counts = rle["counts"]
    total = size[0] * size[1]
    if isinstance(counts, list):
        if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts) or sum(counts) != total:
            raise MaskError(f"uncompressed RLE counts must be non-negative integers summing to {total}")
        return
    if not isinstance(counts, (str, bytes)):
        raise MaskError("mask counts must be a string (compressed RLE) or a list of integers")
    try:
        raw = counts.encode("ascii") if isinstance(counts, str) else counts
    except UnicodeEncodeError as exc:
        raise MaskError("compressed RLE counts must be ASCII") from exc
    problem = counts_problems([raw], [total])[0]
    if problem:
        raise MaskError(problem.replace("{size}", f"{size[0]}x{size[1]}"))


def size_problem(size: object, *, height: int | None = None, width: int | None = None) -> str | None:
    """What is wrong with an RLE's `size` (for an image of height x width), or None."""
    if type(size) is list and len(size) == 2 and size[0] == height and size[1] == width and type(size[0]) is int and type(size[1]) is int:
        return None  # the common case, checked first: this runs for every imported mask
    if (
        not isinstance(size, (list, tuple))
        or len(size) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)
    ):
        return f"mask size must be two positive integers [height, width], got {size!r}"
    if height is not None and width is not None and (size[0], size[1]) != (height, width):
        return f"mask size {size[0]}x{size[1]} (h x w) differs from the image's {height}x{width}"
    return None


_ALPHABET = "compressed RLE counts contain characters outside the COCO alphabet"
_NOT_SIZE = "compressed RLE does not decode to {size} pixels"


def counts_problems(raws: Sequence[bytes], totals: Sequence[int]) -> list[str | None]:
    """Check many COCO compressed counts strings at once: for each, None or what is wrong with it
    (see _checked_runs)."""
    return _checked_runs(raws, totals)[0]


def counts_stats(raws: Sequence[bytes], heights: Sequence[int], widths: Sequence[int]) -> tuple[list[str | None], list[int], list[list[int]]]:
    """(problem, area, bbox) of many compressed counts strings at once, as pycocotools' rleArea and
    rleToBbox compute them (0 and [0, 0, 0, 0] for a refused one). The area comes from the runs the
    check parsed; the boxes from pycocotools' own toBbox, called once for all the masks that passed
    the check (never before: it trusts its input)."""
    n = len(raws)
    problems, parsed = _checked_runs(raws, [h * w for h, w in zip(heights, widths)])
    if parsed is None:
        return problems, [0] * n, [[0, 0, 0, 0] for _ in range(n)]
    runs, item_of, j, _, _ = parsed
    ok = np.array([p is None for p in problems])
    fg = (j % 2 == 1) & ok[item_of]  # the foreground (odd) runs
    area = np.bincount(item_of[fg], weights=runs[fg], minlength=n).astype(np.int64).tolist()
    if ok.all():  # the usual case: one toBbox for the lot
        sizes = {(h, w): [int(h), int(w)] for h, w in set(zip(heights, widths))}
        found = cocomask.toBbox([{"size": sizes[hw], "counts": raw} for hw, raw in zip(zip(heights, widths), raws)])
        return problems, area, found.astype(np.int64).tolist()
    good = np.flatnonzero(ok).tolist()
    boxes = [[0, 0, 0, 0] for _ in range(n)]
    if good:
        found = cocomask.toBbox([{"size": [int(heights[i]), int(widths[i])], "counts": raws[i]} for i in good])
        for i, box in zip(good, found.astype(np.int64).tolist()):
            boxes[i] = box
    return problems, area, boxes


def _checked_runs(raws: Sequence[bytes], totals: Sequence[int]):
    """Check many COCO compressed counts strings at once: for each, None or what is wrong with it.

    Parses the strings as pycocotools' rleFrString does, vectorised over all of them with NumPy
    (a Python loop over characters made imports 10x slower), and checks that the runs are
    non-negative and add up to the mask's `totals` pixels. pycocotools' decoder trusts its input
    and writes past its buffer otherwise, so every string is checked before pycocotools reads it.
    `{size}` in a message stands for the mask's size.
    """
    n = len(raws)
    if n == 0:
        return [], None
    problems = [None] * n
    lengths = np.fromiter(map(len, raws), dtype=np.int64, count=n)
    totals_arr = np.asarray(totals, dtype=np.int64)
    bad = lengths == 0
    if int(lengths.sum()) == 0:
        return [_NOT_SIZE] * n, None
    # uint8 arithmetic wraps: a character below "0" becomes > 63 as well as one above "o"
    c = np.frombuffer(b"".join(raws), dtype=np.uint8) - np.uint8(48)
    string_end = np.cumsum(lengths)  # one past each string's last character
    alphabet_bad = np.zeros(n, dtype=bool)
    outside = np.flatnonzero(c > 63)
    if len(outside):
        alphabet_bad[np.searchsorted(string_end, outside, side="right")] = True
        c = np.minimum(c, 63)
    is_end = c < 32  # no continuation bit: the last character of a number
    nonempty = np.flatnonzero(lengths > 0)
    last = string_end[nonempty] - 1
    bad[nonempty[~is_end[last]]] = True  # a number cut off at the end of its string
    is_end[last] = True  # numbers never run into the next string
    ends = np.flatnonzero(is_end)
    before = np.searchsorted(ends, string_end)  # numbers that end before each string does
    count = np.diff(before, prepend=0)
    first = before - count  # index of each item's first number
    item_of_number = np.repeat(np.arange(n), count)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    groups = ends - starts + 1
    if int(groups.max()) > 12:
        bad[item_of_number[groups > 12]] = True  # over 60 bits: no real mask has such a run
        groups = np.minimum(groups, 12)
    # x = sum of 5-bit groups; loop over the group position (runs rarely need more than 4 groups)
    x = (c[starts] & 0x1F).astype(np.int64)
    for position in range(1, int(groups.max())):
        has = np.flatnonzero(groups > position)
        x[has] += (c[starts[has] + position] & 0x1F).astype(np.int64) << (5 * position)
    negative = (c[ends] & 0x10) != 0
    x = np.where(negative, x - (np.int64(1) << (5 * groups)), x)
    # runs[j] = x[j] + runs[j-2] for j > 2: running sums of the odd and of the even (j >= 2)
    # numbers over all items at once, less each item's sum before its first number
    at_first = first[item_of_number]
    j = np.arange(len(ends)) - at_first
    odd = (j & 1).astype(bool)
    odd_sums = np.cumsum(np.where(odd, x, 0))
    even_sums = np.cumsum(np.where(odd | (j == 0), 0, x))
    runs = np.where(odd, odd_sums - odd_sums[at_first], np.where(j > 0, even_sums - even_sums[at_first], x))
    run_bad = (runs < 0) | (runs > totals_arr[item_of_number])
    bad[item_of_number[run_bad]] = True
    prefix = np.concatenate(([0], np.cumsum(np.where(run_bad, 0, runs))))
    sums = prefix[first + count] - prefix[np.minimum(first, len(ends))]
    bad |= sums != totals_arr
    for index in np.flatnonzero(bad | alphabet_bad).tolist():
        problems[index] = _ALPHABET if alphabet_bad[index] else _NOT_SIZE
    return problems, (runs, item_of_number, j, first, count)


def area(rle: RLE) -> int:
    return int(cocomask.area(_as_coco(rle)))


def bbox(rle: RLE) -> list[int]:
    """[x, y, w, h] of the mask's pixels (integers; all zero for an empty mask)."""
    x, y, w, h = cocomask.toBbox(_as_coco(rle)).tolist()
    return [int(x), int(y), int(w), int(h)]


# pycocotools rasterises at 5x scale into int and allocates one entry per scaled step along
# every edge: a coordinate of 1e9, inf or NaN overflows it (a segfault that killed workers), and a
# zigzag of huge edges asks for gigabytes. So coordinates stay within one image size of the image,
# and the outline's length is bounded before pycocotools sees a polygon.
MAX_POLYGON_OUTLINE = 2_000_000  # pixels of edge length (Chebyshev), all polygons of one mask


def polygons_check(polygons: object, height: int, width: int) -> list[np.ndarray]:
    """Raise MaskError unless `polygons` is a non-empty list of flat [x0, y0, x1, y1, ...] lists of
    finite numbers within the image (plus a margin of its size); returns them as float64 arrays."""
    if not isinstance(polygons, (list, tuple)) or not polygons:
        raise MaskError("polygons must be a non-empty list of lists of numbers")
    arrays = []
    outline = 0.0
    for index, poly in enumerate(polygons):
        if not isinstance(poly, (list, tuple)) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in poly
        ):
            raise MaskError(f"polygon {index} must be a list of numbers")
        if len(poly) < 6 or len(poly) % 2:
            raise MaskError(f"a polygon needs at least 3 points as an even list of numbers, got {len(poly)} numbers")
        try:
            points = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
        except OverflowError:
            raise MaskError(f"polygon {index}: a coordinate is too large") from None
        if not np.isfinite(points).all():
            raise MaskError(f"polygon {index}: coordinates must be finite numbers (got inf or NaN)")
        xs, ys = points[:, 0], points[:, 1]
        if xs.min() < -width or xs.max() > 2 * width or ys.min() < -height or ys.max() > 2 * height:
            raise MaskError(
                f"polygon {index}: coordinates must lie within the {width}x{height} image (with a margin of its size), "
                f"got x {xs.min():g}..{xs.max():g}, y {ys.min():g}..{ys.max():g}"
            )
        steps = np.abs(np.diff(np.vstack([points, points[:1]]), axis=0)).max(axis=1)
        outline += float(steps.sum())
        arrays.append(points.ravel())
    limit = max(MAX_POLYGON_OUTLINE, 8 * (height + width))
    if outline > limit:
        raise MaskError(f"the polygons' outline is {outline:.0f} pixels long, over the limit of {limit}")
    return arrays


def from_polygons(polygons: Sequence[Sequence[float]], height: int, width: int) -> RLE:
    """Rasterise one or more polygons (COCO flat lists) into one RLE, as pycocotools does.

    Coordinates are checked first (polygons_check): pycocotools crashes on extreme ones.
    """
    checked = polygons_check(polygons, height, width)
    rles = cocomask.frPyObjects([p.tolist() for p in checked], height, width)
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

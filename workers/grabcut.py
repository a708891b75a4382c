"""GrabCut (OpenCV, no torch): a box -> mask that needs no model, refined by positive / negative clicks,
or seeded by a model's mask (the model-backed assist's clicks go through here too).

Why a work area: GrabCut's cost grows with the pixels it models, so it runs on the box plus a
margin of background (outside the box is definite background anyway), scaled down to at most
WORK_PIXELS; the answer is scaled back up and the clicks' seeds are re-applied at full resolution,
so a click always changes the pixels under it. Stateless: every call gets the box and all clicks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from annotations.errors import ValidationFailed

# Measured on 2 cores shared with other work (bench/clicks.py's textured 1024x768 images, clicks after
# the box): 80,000 px took 130-360 ms a call, 40,000 px 56-135 ms with the same IoU (0.99 / 0.98);
# GrabCut's max-flow grows with texture, so the work area is what keeps a call under 300 ms.
WORK_PIXELS = 40_000
ITERATIONS = 3
MARGIN = 0.15  # background margin around the box, as a fraction of its longer side
CLICK_RADIUS = 4  # px at full resolution: the seed disk a click places
# A click also claims the pixels connected to it that have its colour, up to this fraction of the
# box's longer side away. Why: a 4 px seed barely moves GrabCut's colour models (its mixture weights
# follow pixel counts), so a negative click on a mat the box swallowed changed nothing; claiming
# the click's colour region gives the model the samples the person pointed at.
SEED_REACH = 0.2
SEED_TOLERANCE = (8, 40)  # per-channel colour range of that region: 2.5 local std, within these
# Colour spread (max - min per channel) under which a region counts as one colour.
FLAT_SPREAD = 3


class NoForeground(ValidationFailed):
    """GrabCut found nothing to separate from the background in the box."""


@dataclass(frozen=True)
class Click:
    x: float
    y: float
    positive: bool


def _rect_with_clicks(box: tuple[int, int, int, int], clicks: list[Click], w: int, h: int) -> tuple[int, int, int, int]:
    """The box grown to hold every positive click (a click outside the box says the object goes on)."""
    x1, y1, x2, y2 = box
    for c in clicks:
        if c.positive:
            x1, y1 = min(x1, int(c.x) - 2 * CLICK_RADIUS), min(y1, int(c.y) - 2 * CLICK_RADIUS)
            x2, y2 = max(x2, int(c.x) + 2 * CLICK_RADIUS + 1), max(y2, int(c.y) + 2 * CLICK_RADIUS + 1)
    return max(0, x1), max(0, y1), min(w, x2), min(h, y2)


def grabcut(
    rgb: np.ndarray, *, box: tuple[float, float, float, float], clicks: list[Click] | None = None,
    init: np.ndarray | None = None, iterations: int = ITERATIONS,
) -> np.ndarray:
    """A bool H x W mask of the object in `box` ([x, y, w, h], clipped to the image) of the RGB
    uint8 image. `clicks` are definite foreground (positive) or background seeds; `init` (H x W
    bool, a model's mask) replaces "probably foreground everywhere in the box" as the start.
    Raises NoForeground when the region is a single colour or nothing is left in the mask."""
    import cv2

    clicks = clicks or []
    h, w = rgb.shape[:2]
    bx, by, bw, bh = box
    x1, y1 = max(0, int(math.floor(bx))), max(0, int(math.floor(by)))
    x2, y2 = min(w, int(math.ceil(bx + bw))), min(h, int(math.ceil(by + bh)))
    if x2 - x1 < 1 or y2 - y1 < 1:
        raise ValidationFailed(f"the box {list(box)} has no pixels inside the {w}x{h} image")
    x1, y1, x2, y2 = _rect_with_clicks((x1, y1, x2, y2), clicks, w, h)
    margin = max(8, int(MARGIN * max(x2 - x1, y2 - y1)))
    wx1, wy1, wx2, wy2 = max(0, x1 - margin), max(0, y1 - margin), min(w, x2 + margin), min(h, y2 + margin)
    crop = np.ascontiguousarray(rgb[wy1:wy2, wx1:wx2, :3])
    inside = crop[y1 - wy1:y2 - wy1, x1 - wx1:x2 - wx1]
    if int((inside.max(axis=(0, 1)).astype(int) - inside.min(axis=(0, 1))).max()) <= FLAT_SPREAD:
        raise NoForeground("no foreground found: the box holds a single colour")

    ch, cw = crop.shape[:2]
    scale = min(1.0, math.sqrt(WORK_PIXELS / (ch * cw)))
    sw, sh = max(1, round(cw * scale)), max(1, round(ch * scale))
    small = cv2.resize(crop, (sw, sh), interpolation=cv2.INTER_AREA) if scale < 1 else crop
    sx, sy = sw / cw, sh / ch

    def to_small(x: float, y: float) -> tuple[int, int]:
        return min(sw - 1, int((x - wx1) * sx)), min(sh - 1, int((y - wy1) * sy))

    mask = np.full((sh, sw), cv2.GC_BGD, np.uint8)
    ix1, iy1 = to_small(x1, y1)
    ix2, iy2 = max(ix1 + 1, round((x2 - wx1) * sx)), max(iy1 + 1, round((y2 - wy1) * sy))
    if init is not None:
        seed = init[wy1:wy2, wx1:wx2].astype(np.uint8)
        seed = cv2.resize(seed, (sw, sh), interpolation=cv2.INTER_NEAREST) if scale < 1 else seed
        mask[iy1:iy2, ix1:ix2] = np.where(seed[iy1:iy2, ix1:ix2] > 0, cv2.GC_PR_FGD, cv2.GC_PR_BGD)
    else:
        mask[iy1:iy2, ix1:ix2] = cv2.GC_PR_FGD
    if not (mask == cv2.GC_BGD).any():
        # The box is the whole image: the frame is the best guess at background there is.
        mask[[0, -1], :] = cv2.GC_PR_BGD
        mask[:, [0, -1]] = cv2.GC_PR_BGD
    radius = max(1, round(CLICK_RADIUS * scale))
    reach = max(radius, round(SEED_REACH * max(ix2 - ix1, iy2 - iy1)))
    for c in clicks:
        label = int(cv2.GC_FGD if c.positive else cv2.GC_BGD)
        mask[_seed_region(small, to_small(c.x, c.y), reach)] = label
        cv2.circle(mask, to_small(c.x, c.y), radius, label, -1)
    if not ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).any():
        raise NoForeground("no foreground found: the model's mask and the clicks leave nothing in the box")

    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(small, mask, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    except cv2.error as exc:  # a colour model it cannot fit: one colour in or out of the box
        raise NoForeground(f"no foreground found ({str(exc).strip().splitlines()[-1]})") from None
    fg = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.uint8)
    if scale < 1:
        fg = (cv2.resize(fg * 255, (cw, ch), interpolation=cv2.INTER_LINEAR) >= 128).astype(np.uint8)
    fg = _keep_object(fg, [c for c in clicks if c.positive], wx1, wy1)
    out = np.zeros((h, w), bool)
    out[wy1:wy2, wx1:wx2] = fg > 0
    yy, xx = np.ogrid[:h, :w]
    for c in clicks:  # the seeds hold at full resolution whatever the scaling did
        r = CLICK_RADIUS
        cx, cy = int(c.x), int(c.y)
        ys, xs = slice(max(0, cy - r), cy + r + 1), slice(max(0, cx - r), cx + r + 1)
        disk = (yy[ys] - cy) ** 2 + (xx[:, xs] - cx) ** 2 <= r * r
        out[ys, xs] = np.where(disk, c.positive, out[ys, xs])
    if not out.any():
        raise NoForeground("no foreground found in the box")
    return out


def _seed_region(small: np.ndarray, at: tuple[int, int], reach: int) -> np.ndarray:
    """The pixels connected to `at` whose colour is within the local tolerance of its colour, no
    farther than `reach` (bool, the work area's shape)."""
    import cv2

    h, w = small.shape[:2]
    x, y = at
    patch = small[max(0, y - 2):y + 3, max(0, x - 2):x + 3].reshape(-1, 3).astype(np.float32)
    tol = float(np.clip(2.5 * patch.std(axis=0).max(), *SEED_TOLERANCE))
    x1, y1, x2, y2 = max(0, x - reach), max(0, y - reach), min(w, x + reach + 1), min(h, y + reach + 1)
    window = np.ascontiguousarray(small[y1:y2, x1:x2])
    window = cv2.GaussianBlur(window, (3, 3), 0)
    filled = np.zeros((y2 - y1 + 2, x2 - x1 + 2), np.uint8)
    flags = 4 | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (1 << 8)
    cv2.floodFill(window, filled, (x - x1, y - y1), (0, 0, 0), (tol,) * 3, (tol,) * 3, flags)
    yy, xx = np.ogrid[y1:y2, x1:x2]
    region = np.zeros((h, w), bool)
    region[y1:y2, x1:x2] = (filled[1:-1, 1:-1] > 0) & ((yy - y) ** 2 + (xx - x) ** 2 <= reach * reach)
    return region


def _keep_object(fg: np.ndarray, positives: list[Click], ox: int, oy: int) -> np.ndarray:
    """The largest connected part of the mask plus every part a positive click touches: GrabCut
    leaves specks of object-coloured background that no one wants in an object's mask."""
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if n <= 2:
        return fg
    keep = {1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))}
    for c in positives:
        x, y = int(c.x) - ox, int(c.y) - oy
        if 0 <= y < labels.shape[0] and 0 <= x < labels.shape[1] and labels[y, x] > 0:
            keep.add(int(labels[y, x]))
    return np.isin(labels, list(keep)).astype(np.uint8)

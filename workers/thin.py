"""Thin structures from a box and clicks, no model: wires, cables, stems, vessels, cracks (3-14 px wide,
long, curved), which GrabCut cannot do: in the box of a curved stripe the object is a few % of the
pixels, so GrabCut's "probably object" colour model is the background's and the stripe drowns in it.

How (the geodesic-path family of interactive segmentation, made for thin objects):
1. a **line response** per pixel: how much a pixel's colour differs from the colours on BOTH sides of
   it, a few px away, across 4 orientations (min of the two side distances, minus half the distance
   between the sides, so an edge between two regions scores ~0 and a stripe scores its contrast);
2. **minimal paths** on cost 1 / (1 + (response / l0)^2) (scikit-image `MCP_Geometric`): the cheapest
   path between the box's two far sides (left-right, top-bottom for a tall box) starts the structure;
   each positive click, then the box's other two sides (a tight box touches its object on all four),
   join it by their cheapest paths. Negative clicks are obstacles. Path pixels with a weak response (the last px to a box side, a
   short cut across background) are dropped;
3. the mask is **grown to the object's width** in a band around the paths by a local two-class
   rule: a pixel is object when its (slightly smoothed) colour lies past halfway from the local
   background colour (the band's outer ring, averaged with a Gaussian) to the local object colour
   (the paths' pixels, likewise) - the halfway point is where a soft edge crosses.

Whether a box holds a thin structure is measured, not guessed (`thin_score`, on the box scaled to at
most DECIDE_PIXELS): the median response on the box's seed path (between its far sides) over the 95th percentile of the
response away from it. On 48 images made like bench/clicks.py's (24 at 1024x768, 24 at 512x384, where
the same backgrounds are twice as busy), the 16 thin objects score 2.5-12.8 and the 32 textured blobs
at most 1.07 (THIN_SCORE 1.6 between, 1.5x from either). A box around a blob that also holds a
strong thin line would be taken for thin: method "grabcut" chooses GrabCut whatever the box holds.
Measured and dropped: GrabCut on the band (its colour models are global: IoU 0.84 vs 0.90 box only),
closing the mask or smoothing the decision map (+-0.005).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from annotations.errors import ValidationFailed

from .grabcut import Click, NoForeground

OFFSETS = (4, 7)  # px: where the two sides of a stripe are looked at ((4, 6, 8) was as good and 2x slower)
DIRECTIONS = ((1, 0), (0, 1), (1, 1), (1, -1))
PAD = max(OFFSETS)
THIN_SCORE = 1.6
BAND = 9  # px from the paths: how far the object may reach
RING = (8, 12)  # px from the paths: the local background samples (so objects up to ~14 px wide)
KEEP = 0.35  # a path pixel counts as object when its response is at least this part of the paths' median
OBSTACLE = 1e4  # cost inside a negative click's disk
NEGATIVE_RADIUS = 3
CLICK_WEIGHT = 4.0
MIN_SIDE = 2 * PAD  # px: a shorter box leaves no room for a path
# Above this many box pixels the work area is scaled down (a thin object in a huge box is wide anyway):
# a whole 1024x768 image as the box took 360-410 ms a call at 250,000 px on 2 shared cores, ~200 ms at
# this; bench/clicks.py's thin objects' boxes (48,000-76,000 px) run at full resolution.
MAX_WORK_PIXELS = 120_000
# Whether a box holds a thin structure is decided on the box scaled to at most this many pixels: a
# blob's box then costs GrabCut's call plus ~20-40 ms, whatever its size (at 40,000 px the thin
# objects' scores fell from 5.5-12.8 to 4.2-11.9).
DECIDE_PIXELS = 80_000


def line_response(rgb: np.ndarray) -> np.ndarray:
    """H x W float32: max over orientations and offsets of min(|c - a|, |c - b|) - |a - b| / 2, where
    c is a pixel's colour (Gaussian 1.2 px) and a, b the colours `d` px away on either side."""
    import cv2

    s = cv2.GaussianBlur(rgb.astype(np.float32), (0, 0), 1.2)
    h, w = s.shape[:2]
    p = cv2.copyMakeBorder(s, PAD, PAD, PAD, PAD, cv2.BORDER_REFLECT)
    best = np.zeros((h, w), np.float32)

    def shifted(dx: int, dy: int) -> np.ndarray:
        return p[PAD + dy:PAD + dy + h, PAD + dx:PAD + dx + w]

    def dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        d = a - b
        return np.sqrt(np.einsum("ijk,ijk->ij", d, d))

    for ux, uy in DIRECTIONS:
        n = math.hypot(ux, uy)
        for d in OFFSETS:
            ox, oy = round(ux * d / n), round(uy * d / n)
            a, b = shifted(ox, oy), shifted(-ox, -oy)
            r = np.minimum(dist(s, a), dist(s, b)) - 0.5 * dist(a, b)
            np.maximum(best, r, out=best)
    return best


def _path(cost: np.ndarray, starts: list[tuple[int, int]], ends: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The cheapest path from any start to the nearest (by cost) end, as (row, col) points."""
    from skimage.graph import MCP_Geometric

    mcp = MCP_Geometric(cost)
    costs, _ = mcp.find_costs(starts, ends, find_all_ends=False)
    end = min(ends, key=lambda e: costs[e])
    return mcp.traceback(end)


def _paint(tree: np.ndarray, points: list[tuple[int, int]]) -> None:
    rows, cols = zip(*points)
    tree[list(rows), list(cols)] = True


def ridge_score(response: np.ndarray, tree: np.ndarray) -> float:
    """Median response on the paths over the 95th percentile of the response away from them (> BAND px)."""
    import cv2

    away = cv2.distanceTransform((~tree).astype(np.uint8), cv2.DIST_L2, 5) > BAND
    if not away.any() or not tree.any():
        return 0.0
    # The floor (colour units of 0-441): a flat, noise-free background must not make any line "thin".
    return float(np.median(response[tree]) / max(2.0, float(np.percentile(response[away], 95))))


def _grow(crop: np.ndarray, core: np.ndarray, positives: np.ndarray, negatives: np.ndarray) -> np.ndarray:
    """The object around `core` (path pixels): past halfway from the local background colour to the
    local object colour, within BAND px, connected to the core."""
    import cv2

    f = crop.astype(np.float32)
    dist = cv2.distanceTransform((~core).astype(np.uint8), cv2.DIST_L2, 5)
    ring = (dist >= RING[0]) & (dist <= RING[1]) & ~positives & ~negatives

    def local_mean(m: np.ndarray, sigma: float) -> np.ndarray:
        num = cv2.GaussianBlur(f * m[..., None], (0, 0), sigma)
        den = cv2.GaussianBlur(m, (0, 0), sigma)
        return num / np.maximum(den, 1e-6)[..., None]

    # A click's own colour counts CLICK_WEIGHT times a path pixel's: the person pointed at it.
    near = cv2.dilate(core.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    claimed = cv2.dilate(positives.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))) > 0
    fg = local_mean(((near & ~negatives) + CLICK_WEIGHT * claimed).astype(np.float32), 3)
    bg = local_mean((ring + CLICK_WEIGHT * negatives).astype(np.float32), 8)
    smooth = cv2.GaussianBlur(f, (0, 0), 0.8)
    d = fg - bg
    t = np.einsum("ijk,ijk->ij", smooth - bg, d) / np.maximum(np.einsum("ijk,ijk->ij", d, d), 1e-6)
    mask = (dist <= BAND) & (t > 0.5)
    mask = (mask | positives) & ~negatives
    _, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    keep = np.unique(labels[(core | positives) & mask])
    return np.isin(labels, keep[keep > 0])


@dataclass
class _Work:
    """The box's work area at one scale: the crop (box plus a margin), where the box lies in it, and
    the line response and path cost inside the box."""
    crop: np.ndarray
    origin: tuple[int, int]  # (x, y) of the crop in the image
    size: tuple[int, int]  # (w, h) of the crop in the image, before scaling
    scale: float
    box: tuple[int, int, int, int]  # r1, c1, r2, c2 (inclusive) of the box in the crop
    response: np.ndarray  # inside the box
    cost: np.ndarray  # inside the box

    def at(self, x: float, y: float) -> tuple[int, int]:
        """Image (x, y) -> crop (row, col)."""
        ch, cw = self.crop.shape[:2]
        return (min(ch - 1, max(0, int((y - self.origin[1]) * self.scale))),
                min(cw - 1, max(0, int((x - self.origin[0]) * self.scale))))

    def sides(self) -> dict[str, list[tuple[int, int]]]:
        bh, bw = self.cost.shape
        return {"left": [(i, 0) for i in range(bh)], "right": [(i, bw - 1) for i in range(bh)],
                "top": [(0, j) for j in range(bw)], "bottom": [(bh - 1, j) for j in range(bw)]}

    def ends(self) -> tuple[str, str, str, str]:
        """The box's sides: the two across its longer dimension (the seed path joins them), then the others."""
        bh, bw = self.cost.shape
        return ("left", "right", "top", "bottom") if bw >= bh else ("top", "bottom", "left", "right")

    def seed_path(self) -> np.ndarray:
        """The cheapest path between the box's two far sides (left-right, or top-bottom for a tall box;
        bool, the box's shape)."""
        tree = np.zeros(self.cost.shape, bool)
        sides, (a, b, _, _) = self.sides(), self.ends()
        _paint(tree, _path(self.cost, sides[a], sides[b]))
        return tree


def _work(rgb: np.ndarray, rect: tuple[int, int, int, int], max_pixels: int) -> _Work:
    import cv2

    h, w = rgb.shape[:2]
    x1, y1, x2, y2 = rect
    m = PAD + RING[1]  # room for the response's side samples and the background ring
    wx1, wy1, wx2, wy2 = max(0, x1 - m), max(0, y1 - m), min(w, x2 + m), min(h, y2 + m)
    crop = np.ascontiguousarray(rgb[wy1:wy2, wx1:wx2, :3])
    scale = min(1.0, math.sqrt(max_pixels / ((x2 - x1) * (y2 - y1))))
    if scale < 1:
        crop = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))),
                          interpolation=cv2.INTER_AREA)
    ch, cw = crop.shape[:2]
    r1, c1 = min(ch - 1, int((y1 - wy1) * scale)), min(cw - 1, int((x1 - wx1) * scale))
    r2, c2 = min(ch - 1, int((y2 - 1 - wy1) * scale)), min(cw - 1, int((x2 - 1 - wx1) * scale))
    response = line_response(crop)[r1:r2 + 1, c1:c2 + 1]
    positive = np.maximum(response, 0)
    l0 = max(1.0, 0.3 * float(np.percentile(positive, 99.5)))  # the strongest lines' scale
    cost = (1.0 / (1.0 + (positive / l0) ** 2) + 0.01).astype(np.float64)
    return _Work(crop=crop, origin=(wx1, wy1), size=(wx2 - wx1, wy2 - wy1), scale=scale, box=(r1, c1, r2, c2),
                 response=response, cost=cost)


def _rect(rgb: np.ndarray, box: tuple[float, float, float, float], clicks: list[Click]) -> tuple[int, int, int, int]:
    h, w = rgb.shape[:2]
    bx, by, bw, bh = box
    x1, y1 = max(0, int(math.floor(bx))), max(0, int(math.floor(by)))
    x2, y2 = min(w, int(math.ceil(bx + bw))), min(h, int(math.ceil(by + bh)))
    for c in clicks:  # a positive click outside the box says the object goes on (as in GrabCut)
        if c.positive:
            x1, y1 = min(x1, int(c.x)), min(y1, int(c.y))
            x2, y2 = max(x2, int(c.x) + 1), max(y2, int(c.y) + 1)
    if max(x2 - x1, y2 - y1) < MIN_SIDE:
        raise ValidationFailed(
            f"the box {list(box)} is {x2 - x1}x{y2 - y1} px: a thin-structure path needs a side of at least "
            f"{MIN_SIDE} px (in a shorter one the path has zero length)")
    region = rgb[y1:y2, x1:x2, :3]
    if int((region.max(axis=(0, 1)).astype(int) - region.min(axis=(0, 1))).max()) <= 3:
        raise NoForeground("no foreground found: the box holds a single colour")
    return x1, y1, x2, y2


def thin_score(rgb: np.ndarray, *, box: tuple[float, float, float, float]) -> float:
    """ridge_score of the box's seed path, on the box scaled to at most DECIDE_PIXELS: whether
    the box holds a thin structure (>= THIN_SCORE). The box alone decides, so clicks never flip it."""
    work = _work(rgb, _rect(rgb, box, []), DECIDE_PIXELS)
    return ridge_score(work.response, work.seed_path())


def thin_mask(
    rgb: np.ndarray, *, box: tuple[float, float, float, float], clicks: list[Click] | None = None,
) -> np.ndarray:
    """The thin object in `box` ([x, y, w, h], clipped to the image) of the RGB uint8 image, refined by
    `clicks` (bool, the image's shape). Raises ValidationFailed for a box too small for a path,
    NoForeground when nothing is found."""
    import cv2

    clicks = clicks or []
    h, w = rgb.shape[:2]
    work = _work(rgb, _rect(rgb, box, clicks), MAX_WORK_PIXELS)
    crop, cost, inside = work.crop, work.cost, work.response
    r1, c1, r2, c2 = work.box
    ch, cw = crop.shape[:2]
    rows, cols = np.ogrid[:ch, :cw]
    negatives = np.zeros((ch, cw), bool)
    positives = np.zeros((ch, cw), bool)
    for c in clicks:
        r, k = work.at(c.x, c.y)
        if c.positive:
            positives[r, k] = True
        else:
            rad = max(1, round(NEGATIVE_RADIUS * work.scale))
            negatives |= (rows - r) ** 2 + (cols - k) ** 2 <= rad * rad
    cost[negatives[r1:r2 + 1, c1:c2 + 1]] = OBSTACLE

    # The path between the box's far sides starts the structure; the positive clicks, then the other
    # two sides (a tight box touches its object on all four), join it by their cheapest paths.
    tree = work.seed_path()
    for r, k in zip(*np.nonzero(positives[r1:r2 + 1, c1:c2 + 1])):
        if not tree[r, k]:
            _paint(tree, _path(cost, [(int(r), int(k))], list(zip(*np.nonzero(tree)))))
    sides = work.sides()
    for name in work.ends()[2:]:
        _paint(tree, _path(cost, list(zip(*np.nonzero(tree))), sides[name]))

    median = float(np.median(inside[tree]))
    core = np.zeros((ch, cw), bool)
    core[r1:r2 + 1, c1:c2 + 1] = tree & (inside >= KEEP * median) & (cost < OBSTACLE)
    core |= positives
    grown = _grow(crop, core, positives, negatives)
    limit = np.zeros((ch, cw), bool)
    limit[r1:r2 + 1, c1:c2 + 1] = True
    grown &= limit
    wx1, wy1 = work.origin
    if work.scale < 1:
        grown = cv2.resize(grown.astype(np.uint8) * 255, work.size, interpolation=cv2.INTER_LINEAR) >= 128
    out = np.zeros((h, w), bool)
    out[wy1:wy1 + work.size[1], wx1:wx1 + work.size[0]] = grown
    if not out.any():
        raise NoForeground("no thin structure found in the box")
    return out


def box_mask(
    rgb: np.ndarray, *, box: tuple[float, float, float, float], clicks: list[Click] | None = None,
    method: str = "auto",
) -> tuple[np.ndarray, str]:
    """The model-free box assist: (mask, "thin" | "grabcut"). "auto" answers with the thin-structure
    paths when the box holds a thin structure, else GrabCut; "thin" and "grabcut" choose."""
    from .grabcut import grabcut

    if method == "thin" or (method == "auto" and thin_score(rgb, box=box) >= THIN_SCORE):
        return thin_mask(rgb, box=box, clicks=clicks), "thin"
    return grabcut(rgb, box=box, clicks=clicks), "grabcut"

"""Synthetic shape datasets (circles, rectangles, triangles on noisy backgrounds) with exact
ground truth: a semantic label map and per-instance masks. For tests and benchmarks; uses
its own `numpy.random.Generator`, never global random state."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CLASS_NAMES: tuple[str, ...] = ("background", "circle", "rectangle", "triangle")

# Easy mode gives each class its own hue so a tiny net separates them in seconds;
# realistic mode draws random colours so the class must come from the shape.
_EASY_COLOURS = {1: (220, 60, 60), 2: (60, 200, 60), 3: (70, 90, 230)}


@dataclass
class SyntheticImage:
    image: np.ndarray  # H x W x 3 uint8
    label_map: np.ndarray  # H x W uint8, 0 = background, i = CLASS_NAMES[i]
    instances: list[tuple[int, np.ndarray]] = field(default_factory=list)  # (class, H x W bool)


def _shape_mask(kind: int, h: int, w: int, cy: float, cx: float, r: float, rng) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == 1:
        return (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2
    if kind == 2:
        ry, rx = r * rng.uniform(0.6, 1.0), r * rng.uniform(0.6, 1.0)
        return (np.abs(yy - cy) <= ry) & (np.abs(xx - cx) <= rx)
    # Triangle: the three half-planes of a (randomly rotated) equilateral triangle.
    angle = rng.uniform(0, 2 * np.pi)
    corners = [
        (cy + r * np.sin(angle + k * 2 * np.pi / 3), cx + r * np.cos(angle + k * 2 * np.pi / 3))
        for k in range(3)
    ]
    inside = np.ones((h, w), dtype=bool)
    for (y0, x0), (y1, x1) in zip(corners, corners[1:] + corners[:1]):
        # The centre is on the inside of every edge; keep the points on the same side.
        side_centre = (x1 - x0) * (cy - y0) - (y1 - y0) * (cx - x0)
        side = (x1 - x0) * (yy - y0) - (y1 - y0) * (xx - x0)
        inside &= side * np.sign(side_centre) >= 0
    return inside


def make_shapes(
    n: int,
    *,
    size: tuple[int, int] = (64, 64),
    max_shapes: int = 3,
    radius: tuple[float, float] | None = None,
    noise: float = 12.0,
    difficulty: str = "easy",
    seed: int | np.random.Generator = 0,
) -> list[SyntheticImage]:
    """`n` images of `size` (h, w) with 1..max_shapes shapes each.

    easy: class-coloured, non-overlapping shapes on a grey noisy background.
    realistic: random colours, textured background, shapes may overlap (instance masks are
    the visible parts; later shapes occlude earlier ones), stronger noise.
    """
    if difficulty not in ("easy", "realistic"):
        raise ValueError(f"difficulty must be 'easy' or 'realistic', got {difficulty!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    h, w = size
    r_lo, r_hi = radius or (min(h, w) * 0.12, min(h, w) * 0.25)
    images = []
    for _ in range(n):
        if difficulty == "easy":
            canvas = np.full((h, w, 3), 128.0, dtype=np.float32)
        else:
            base = rng.uniform(40, 200, size=3)
            yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
            freq = rng.uniform(0.05, 0.3, size=2)
            texture = 25 * np.sin(yy * freq[0] + rng.uniform(0, 6)) * np.cos(xx * freq[1])
            canvas = base[None, None, :] + texture[..., None]
        label_map = np.zeros((h, w), dtype=np.uint8)
        owner = np.full((h, w), -1, dtype=np.int32)  # which instance is visible per pixel
        kinds: list[int] = []
        occupied = np.zeros((h, w), dtype=bool)
        for _attempt in range(max_shapes * 10):
            if len(kinds) >= rng.integers(1, max_shapes + 1) and kinds:
                break
            kind = int(rng.integers(1, len(CLASS_NAMES)))
            r = rng.uniform(r_lo, r_hi)
            cy, cx = rng.uniform(r, h - r), rng.uniform(r, w - r)
            mask = _shape_mask(kind, h, w, cy, cx, r, rng)
            if mask.sum() < 9:
                continue
            if difficulty == "easy" and (mask & occupied).any():
                continue
            occupied |= mask
            colour = (
                np.array(_EASY_COLOURS[kind], dtype=np.float32)
                if difficulty == "easy"
                else rng.uniform(0, 255, size=3).astype(np.float32)
            )
            canvas[mask] = colour
            label_map[mask] = kind
            owner[mask] = len(kinds)
            kinds.append(kind)
        canvas += rng.normal(0, noise if difficulty == "easy" else noise * 1.5, size=canvas.shape)
        instances = [(kind, owner == i) for i, kind in enumerate(kinds) if (owner == i).sum() >= 9]
        images.append(
            SyntheticImage(
                image=np.clip(canvas, 0, 255).astype(np.uint8),
                label_map=label_map,
                instances=instances,
            )
        )
    return images

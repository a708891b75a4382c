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


CELL_CLASS_NAMES: tuple[str, ...] = ("background", "membrane", "mitochondrion")


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Zero-mean, unit-spread random field smoothed at `sigma` px."""
    from scipy.ndimage import gaussian_filter

    field_ = gaussian_filter(rng.normal(size=shape), sigma, mode="wrap")
    return field_ / (field_.std() + 1e-9)


def make_cells(n: int, *, size: tuple[int, int] = (512, 512), seed: int | np.random.Generator = 0) -> list[SyntheticImage]:
    """Electron-microscopy-like slices with thin structures, for training benchmarks.

    Cells are a Voronoi tessellation warped by a smooth displacement field; class 1 is the
    membrane between cells, 1-3 px wide (its width varies along it) and of varying contrast,
    in places nearly gone; class 2 is a few dark textured mitochondria inside some cells (a
    rare class). Distractors that are not labelled: dark vesicles and a grainy cytoplasm
    texture. Then optical blur and noise. Grey images returned as RGB; exact label maps.
    """
    from scipy.ndimage import binary_dilation, gaussian_filter
    from scipy.spatial import cKDTree

    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    images = []
    for _ in range(n):
        cells = max(4, int(rng.poisson(h * w / rng.uniform(3000, 6000))))
        seeds = rng.uniform(0, 1, size=(cells, 2)) * (h, w)
        warp = rng.uniform(3, 8)
        py = yy + warp * _smooth_noise(rng, (h, w), 18)
        px = xx + warp * _smooth_noise(rng, (h, w), 18)
        owner = cKDTree(seeds).query(np.stack([py.ravel(), px.ravel()], 1))[1].reshape(h, w)
        # The 1-px line where the owning cell changes, widened to 2 or 3 px where a smooth
        # random field says so: membranes 1-3 px wide, varying along their length.
        line = np.zeros((h, w), dtype=bool)
        line[1:, :] |= owner[1:, :] != owner[:-1, :]
        line[:, 1:] |= owner[:, 1:] != owner[:, :-1]
        width = _smooth_noise(rng, (h, w), 25)
        membrane = line | (binary_dilation(line, np.ones((2, 2), bool)) & (width > -0.3))
        membrane |= binary_dilation(line, np.ones((3, 3), bool)) & (width > 0.7)
        label = np.zeros((h, w), dtype=np.uint8)
        label[membrane] = 1

        interior = rng.uniform(150, 205, size=cells)[owner]
        image = interior + 14 * _smooth_noise(rng, (h, w), 1.5) + 8 * _smooth_noise(rng, (h, w), 6)
        # Membranes: dark, with contrast that fades in places (the hard part of real slices).
        contrast = np.clip(70 + 35 * _smooth_noise(rng, (h, w), 30), 12, 120)
        image[membrane] -= contrast[membrane]

        for cell in range(cells):
            if rng.random() > 0.3:
                continue
            cy, cx = seeds[cell]
            ry, rx = rng.uniform(5, 14), rng.uniform(8, 22)
            angle = rng.uniform(0, np.pi)
            dy, dx = yy - cy, xx - cx
            u = dx * np.cos(angle) + dy * np.sin(angle)
            v = -dx * np.sin(angle) + dy * np.cos(angle)
            blob = ((u / rx) ** 2 + (v / ry) ** 2 <= 1) & (owner == cell) & ~membrane
            if blob.sum() < 20:
                continue
            label[blob] = 2
            cristae = 18 * np.sin(u * rng.uniform(0.8, 1.4))  # inner stripes
            image[blob] = (rng.uniform(85, 115) + cristae)[blob]

        for _vesicle in range(int(rng.integers(10, 40))):  # unlabelled dark rings: look like membrane
            cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(2, 5)
            ring = np.abs(np.hypot(yy - cy, xx - cx) - r) < 0.9
            image[ring & (label == 0)] -= rng.uniform(30, 70)

        image = gaussian_filter(image, rng.uniform(0.5, 1.1))
        image += rng.normal(0, rng.uniform(6, 12), size=image.shape)
        grey = np.clip(image, 0, 255).astype(np.uint8)
        images.append(SyntheticImage(image=np.repeat(grey[..., None], 3, axis=2), label_map=label))
    return images

"""Superpixels of an image at several granularities (scikit-image, no torch), stored in media storage.

Made by the thumbnails job for new uploads and on demand (workers.default.superpixels) for older
images. Images longer than annotations.superpixels.GRID_MAX_SIDE are averaged over f x f blocks
first (edges replicated up to a whole block), so every superpixel is a union of whole blocks and
maps back to image pixels exactly (annotations/superpixels.py has the rule).

Method: Felzenszwalb, chosen over SLIC by bench/clicks.py (README "Assists"): on its textured
synthetic set a robot needs far fewer clicks with Felzenszwalb's regions, which follow colour
(a coarse one often covers a whole textured object), than with SLIC's compact, evenly sized
cells, which need one click per cell; both take about the same time. Felzenszwalb's granularity
is its `scale` (and a minimum size per level), so the count of segments varies with the image.
"""
from __future__ import annotations

import math
import time

import numpy as np

from annotations import media
from annotations.models import Image
from annotations.superpixels import grid_factor, superpixels_read, superpixels_write

METHOD = "felzenszwalb"
# Mean superpixel side in grid pixels, coarse to fine ([ and ] step through them in the editor).
LEVEL_SIDES = (48, 24, 12)
SLIC_COMPACTNESS = 10.0
# No smoothing first: sigma 1 moves edges by a pixel (best-union IoU of a clean disk 0.955 instead
# of 1.0). But on fine texture unsmoothed SLIC splits segments into specks that its connectivity
# pass merges into one giant segment (a noisy 1024x768 image gave 1 segment for 341 asked), so a
# level that comes out with under a third of the segments asked for is redone with this sigma.
SLIC_SIGMA = 1.0
# Felzenszwalb's scale per level (larger: coarser), with a minimum segment of side**2 / 8 grid pixels.
FELZENSZWALB_SCALES = (400.0, 120.0, 30.0)


def block_mean(rgb: np.ndarray, f: int) -> np.ndarray:
    """The image averaged over f x f blocks, the last row/column of blocks padded by replication."""
    if f == 1:
        return rgb
    h, w = rgb.shape[:2]
    gh, gw = math.ceil(h / f), math.ceil(w / f)
    padded = np.pad(rgb, ((0, gh * f - h), (0, gw * f - w), (0, 0)), mode="edge")
    return padded.reshape(gh, f, gw, f, 3).mean(axis=(1, 3)).round().astype(np.uint8)


def segment(grid_rgb: np.ndarray, *, method: str = METHOD) -> list[tuple[np.ndarray, dict]]:
    """Label grids (coarse to fine) of an RGB uint8 grid image, each labelled 0..n-1."""
    from skimage.segmentation import felzenszwalb, slic

    h, w = grid_rgb.shape[:2]
    levels = []
    for i, side in enumerate(LEVEL_SIDES):
        if method == "slic":
            n = max(1, round(h * w / side**2))
            sigma = 0.0
            labels = slic(grid_rgb, n_segments=n, compactness=SLIC_COMPACTNESS, sigma=sigma, start_label=0)
            if labels.max() + 1 < n / 3:
                sigma = SLIC_SIGMA
                labels = slic(grid_rgb, n_segments=n, compactness=SLIC_COMPACTNESS, sigma=sigma, start_label=0)
            about = {"side": side, "sigma": sigma}
        elif method == "felzenszwalb":
            scale = FELZENSZWALB_SCALES[i]
            labels = felzenszwalb(grid_rgb, scale=scale, sigma=0.8, min_size=max(4, side * side // 8))
            about = {"side": side, "scale": scale}
        else:
            raise ValueError(f"unknown superpixel method {method!r}")
        _, dense = np.unique(labels, return_inverse=True)  # 0..n-1 with no gaps
        levels.append((dense.reshape(h, w).astype(np.int32), about))
    return levels


def superpixels_make(*, image: Image, force: bool = False) -> dict:
    """Compute and store the image's superpixels unless a current file exists; idempotent.
    Returns the stored document."""
    if not force:
        existing = superpixels_read(image=image)
        if existing is not None:
            return existing
    from PIL import Image as PILImage

    started = time.perf_counter()
    with media.open_read(image.file.name) as source, PILImage.open(source) as pil:
        rgb = np.asarray(pil.convert("RGB"))
    grid = block_mean(rgb, grid_factor(image.width, image.height))
    levels = segment(grid)
    superpixels_write(image=image, method=METHOD, levels=levels,
                      params={"ms": round((time.perf_counter() - started) * 1000, 1)})
    doc = superpixels_read(image=image)
    assert doc is not None
    return doc

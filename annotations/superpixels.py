"""Superpixel files: where an image's superpixels live in media storage, their format, reading them.

Computing them (scikit-image) is the worker's job (workers/superpixels.py); this module only knows
the format, so the web process can serve a stored file without importing anything heavy.

Format (one JSON file per image content, `superpixels/<sha[:2]>/<sha256>.json`, the API's answer
as is): the image is segmented on a grid of at most GRID_MAX_SIDE px a side. Grid cell (gx, gy)
covers image pixels x in [gx*f, gx*f + f), y in [gy*f, gy*f + f), f = `factor` (an integer, 1 for
images up to GRID_MAX_SIDE), so image pixel (x, y) belongs to the superpixel
`labels[(y // f) * grid_w + (x // f)]`: exact, with no resampling to disagree about. Each level's
labels are uint16 little-endian, row-major, zlib-compressed, then base64.
"""
from __future__ import annotations

import base64
import json
import math
import zlib
from typing import Any

import numpy as np

from . import media
from .models import Image

FORMAT = 1
GRID_MAX_SIDE = 1024


def grid_factor(width: int, height: int) -> int:
    """The integer block size f that brings the longer side to at most GRID_MAX_SIDE."""
    return max(1, math.ceil(max(width, height) / GRID_MAX_SIDE))


def grid_size(width: int, height: int) -> tuple[int, int]:
    """(grid_h, grid_w) for an image of width x height."""
    f = grid_factor(width, height)
    return math.ceil(height / f), math.ceil(width / f)


def superpixels_name(sha256: str) -> str:
    """The stored name (annotations/media.py) of an image's superpixels."""
    return f"superpixels/{sha256[:2]}/{sha256}.json"


def superpixels_exist(sha256: str) -> bool:
    return media.exists(superpixels_name(sha256))


def superpixels_write(
    *, image: Image, method: str, levels: list[tuple[np.ndarray, dict[str, Any]]], params: dict[str, Any] | None = None,
) -> str:
    """Store the label grids of every level (coarse to fine) with what describes each; atomic."""
    gh, gw = grid_size(image.width, image.height)
    encoded = []
    for labels, about in levels:
        if labels.shape != (gh, gw):
            raise ValueError(f"superpixel labels are {labels.shape[0]}x{labels.shape[1]}, the grid is {gh}x{gw}")
        if int(labels.max()) >= 2**16:
            raise ValueError(f"{int(labels.max()) + 1} superpixels do not fit 16 bits")
        raw = np.ascontiguousarray(labels, dtype="<u2").tobytes()
        encoded.append({**about, "segments": int(labels.max()) + 1,
                        "labels": base64.b64encode(zlib.compress(raw, 6)).decode("ascii")})
    doc = {"format": FORMAT, "method": method, "params": params or {}, "image_size": [image.height, image.width],
           "grid_size": [gh, gw], "factor": grid_factor(image.width, image.height), "levels": encoded}
    return media.save(superpixels_name(image.sha256), json.dumps(doc, separators=(",", ":")).encode())


def superpixels_read(*, image: Image) -> dict[str, Any] | None:
    """The stored superpixels of `image`, or None when there are none (or an older format)."""
    try:
        doc = json.loads(media.read_bytes(superpixels_name(image.sha256)))
    except (FileNotFoundError, ValueError):
        return None
    if doc.get("format") != FORMAT or doc.get("image_size") != [image.height, image.width]:
        return None
    return doc


def level_labels(doc: dict[str, Any], level: int) -> np.ndarray:
    """The grid of labels (grid_h x grid_w, int) of one level of a stored document."""
    gh, gw = doc["grid_size"]
    raw = zlib.decompress(base64.b64decode(doc["levels"][level]["labels"]))
    return np.frombuffer(raw, dtype="<u2").reshape(gh, gw).astype(np.int32)


def image_labels(doc: dict[str, Any], level: int) -> np.ndarray:
    """Per image pixel (H x W) superpixel labels of one level: the grid mapped back exactly."""
    h, w = doc["image_size"]
    f = doc["factor"]
    grid = level_labels(doc, level)
    return np.repeat(np.repeat(grid, f, axis=0), f, axis=1)[:h, :w]

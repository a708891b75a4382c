"""Made-up images for the assist tests: a two-colour image (a disk on a plain background), a
single-colour one, and one whose object has a second colour that the background also has."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image as PILImage

from annotations import ingest
from annotations.models import Image, Project

RED, BLUE, GREEN, GREY = (220, 40, 40), (40, 60, 200), (40, 180, 60), (128, 128, 128)


def disk(h: int, w: int, cx: float, cy: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return (xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2 <= r * r


def two_colour(h: int = 150, w: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """A red disk on blue: (rgb, the disk's mask)."""
    truth = disk(h, w, 100, 75, 40)
    rgb = np.empty((h, w, 3), np.uint8)
    rgb[:] = BLUE
    rgb[truth] = RED
    return rgb, truth


def disk_on_a_mat(h: int = 150, w: int = 200) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int], tuple[int, int]]:
    """A red disk on a blue mat on green: a box drawn around the mat gives GrabCut a background of
    green only, so the blue mat looks like object until a negative click on it says otherwise.
    Returns (rgb, the disk, the mat's box [x, y, w, h], a point of the mat outside the disk)."""
    truth = disk(h, w, 90, 75, 40)
    rgb = np.empty((h, w, 3), np.uint8)
    rgb[:] = GREEN
    rgb[15:135, 30:150] = BLUE
    rgb[truth] = RED
    return rgb, truth, (30, 15, 120, 120), (40, 25)


def store(project: Project, rgb: np.ndarray, *, name: str = "made-up.png", thumbnails: bool = False) -> Image:
    buffer = io.BytesIO()
    PILImage.fromarray(rgb).save(buffer, format="PNG")
    buffer.seek(0)
    result = ingest.images_import(project=project, user=None, files=[(name, buffer)], make_thumbnails=thumbnails)
    return result.created[0]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(bool), b.astype(bool)
    return float((a & b).sum() / max(1, (a | b).sum()))


def thin_stripe(h: int = 240, w: int = 320, seed: int = 7, amplitude: float = 60) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int], list[tuple[int, int]]]:
    """A curved stripe 6 px wide (one period of a sine of `amplitude` px across the image), greenish with soft edges,
    on a background of smooth random colour blobs with noise: the box around it is ~95 % background of
    many colours, which is what drowns GrabCut. Returns (rgb, the stripe, its box [x, y, w, h] padded
    5 px, three points on its centre line)."""
    import cv2

    rng = np.random.default_rng(seed)
    field = cv2.resize(rng.uniform(40, 215, (5, 7, 3)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    xs = np.arange(30, w - 30, 4)
    ys = h / 2 + amplitude * np.sin((xs - 30) / (w - 60) * 2 * np.pi)
    line = np.zeros((h, w), np.uint8)
    cv2.polylines(line, [np.stack([xs, ys], 1).astype(np.int32)], False, 1, thickness=6, lineType=cv2.LINE_AA)
    truth = line > 0
    alpha = cv2.GaussianBlur(truth.astype(np.float32), (0, 0), 1.0)[..., None]
    colour = np.array([60.0, 200.0, 110.0]) + rng.normal(0, 12, (h, w, 1))
    rgb = field * (1 - alpha) + colour * alpha + rng.normal(0, 6, (h, w, 3))
    yy, xx = np.nonzero(truth)
    box = (int(xx.min()) - 5, int(yy.min()) - 5, int(xx.max() - xx.min()) + 11, int(yy.max() - yy.min()) + 11)
    points = [(int(x), int(round(h / 2 + amplitude * np.sin((x - 30) / (w - 60) * 2 * np.pi)))) for x in (80, 160, 240)]
    return np.clip(rgb, 0, 255).astype(np.uint8), truth, box, points

"""Helpers the annotation-document API tests share."""
from __future__ import annotations

import numpy as np


def rect(image, x0, y0, x1, y1) -> np.ndarray:
    """A bitmap of `image`'s size with the rectangle [x0, x1) x [y0, y1) set."""
    bitmap = np.zeros((image.height, image.width), np.uint8)
    bitmap[y0:y1, x0:x1] = 1
    return bitmap


def document_url(image) -> str:
    return f"/api/images/{image.pk}/annotations/"

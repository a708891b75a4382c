"""The model-free assists' task bodies (default queue, no torch): a box and clicks on a stored image ->
the thin-structure paths (workers/thin.py) when the box holds a thin object, else GrabCut; and an
image's superpixels made on demand."""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from annotations import masks, media
from annotations.errors import NotFound
from annotations.models import Image

from .grabcut import Click
from .superpixels import superpixels_make
from .thin import box_mask


def image_rgb(image: Image) -> np.ndarray:
    from PIL import Image as PILImage

    with media.open_read(image.file.name) as source, PILImage.open(source) as pil:
        return np.asarray(pil.convert("RGB"))


def clicks_from(raw: list[dict[str, Any]] | None) -> list[Click]:
    return [Click(float(c["x"]), float(c["y"]), bool(c["positive"])) for c in raw or []]


def grabcut_answer(
    *, image_id: int, box_xywh: list[float], clicks: list[dict[str, Any]] | None, method: str = "auto",
) -> dict:
    """{mask, area, method ("thin" or "grabcut"), model_version, ms} for the object in the box, refined
    by the clicks; `method` "auto" lets the box's content choose (workers.thin.box_mask)."""
    started = time.perf_counter()
    image = Image.objects.filter(pk=image_id).first()
    if image is None:
        raise NotFound(f"image {image_id} not found")
    bitmap, used = box_mask(image_rgb(image), box=tuple(box_xywh), clicks=clicks_from(clicks), method=method)
    rle = masks.encode(bitmap.astype(np.uint8))
    return {"mask": rle, "area": masks.area(rle), "method": used, "model_version": None,
            "ms": round((time.perf_counter() - started) * 1000, 1)}


def superpixels_answer(*, image_id: int) -> dict:
    """Makes the image's superpixels file when it is missing; answers how long that took."""
    started = time.perf_counter()
    image = Image.objects.filter(pk=image_id).first()
    if image is None:
        raise NotFound(f"image {image_id} not found")
    superpixels_make(image=image)
    return {"ms": round((time.perf_counter() - started) * 1000, 1)}

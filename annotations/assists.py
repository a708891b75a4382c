"""Assists asked for by the editor, in two kinds behind one API (DESIGN "Assists"):
- model-free: a box refined by clicks (workers.default.grabcut): thin-structure paths when the box
  holds a thin object (wires, stems, cracks), else GrabCut; and superpixels
  (stored files, made on demand by workers.default.superpixels); the magic wand runs in the browser;
- model-backed: a model version's mask for a box, its clicks refined through GrabCut seeded with
  that mask (workers.gpu.assist).
This module checks what the editor sends, picks which kind answers, and waits for the worker's
answer through annotations.jobs.task_call, so the web process imports neither torch nor OpenCV.
"""
from __future__ import annotations

import time
from typing import Any

from django.conf import settings

from . import selectors
from .errors import Conflict, DomainError, NotFound, ValidationFailed
from .jobs import ASSIST_TASK, task_call
from .models import Image, LabelClass
from .superpixels import superpixels_read

GRABCUT_TASK = "workers.default.grabcut"
SUPERPIXELS_TASK = "workers.default.superpixels"
ASSIST_TIMEOUT_S = 60
SUPERPIXELS_TIMEOUT_S = 300
METHODS = ("auto", "grabcut", "thin", "model")
MODEL_FREE = ("grabcut", "thin")
MAX_CLICKS = 100


def _answer(raw: dict[str, Any]) -> dict[str, Any]:
    """A worker's answer, or its refusal raised as the DomainError it was on the worker."""
    if "error" in raw:
        error = DomainError(raw["error"])
        error.status = raw.get("status", 400)
        raise error
    return raw


def _check_image(image: Image) -> None:
    if image.width * image.height > settings.LABELER_MAX_IMAGE_PIXELS:
        raise ValidationFailed(
            f"image {image.pk} is {image.width}x{image.height}, more than the {settings.LABELER_MAX_IMAGE_PIXELS:,} "
            "pixels an assist works on (LABELER_MAX_IMAGE_PIXELS)")


def _check_box(image: Image, box: list[float]) -> list[float]:
    """The box ([x, y, w, h]) clipped to the image; refused when empty or wholly outside."""
    x, y, w, h = (float(v) for v in box)
    if w < 1 or h < 1:
        raise ValidationFailed(f"the box {box} is empty: it needs a width and a height of at least 1 px")
    x1, y1 = max(0.0, x), max(0.0, y)
    x2, y2 = min(float(image.width), x + w), min(float(image.height), y + h)
    if x2 - x1 < 1 or y2 - y1 < 1:
        raise ValidationFailed(f"the box {box} lies outside the {image.width}x{image.height} image")
    return [x1, y1, x2 - x1, y2 - y1]


def _check_clicks(image: Image, clicks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if len(clicks) > MAX_CLICKS:
        raise ValidationFailed(f"{len(clicks)} clicks: at most {MAX_CLICKS}")
    for i, c in enumerate(clicks):
        if not (0 <= c["x"] < image.width and 0 <= c["y"] < image.height):
            raise ValidationFailed(f"click {i} at ({c['x']:g}, {c['y']:g}) lies outside the {image.width}x{image.height} image")
    return [{"x": float(c["x"]), "y": float(c["y"]), "positive": bool(c["positive"])} for c in clicks]


def _check_class(image: Image, label_class: int | None) -> None:
    if label_class is not None and not LabelClass.objects.filter(pk=label_class, project_id=image.project_id).exists():
        raise ValidationFailed(f"label class {label_class} is not a class of this project")


def box_to_mask(
    *, image: Image, box: list[float], clicks: list[dict[str, Any]] | None = None, label_class: int | None = None,
    model_version: int | None = None, method: str = "auto",
) -> dict[str, Any]:
    """The mask of the object inside `box` ([x, y, w, h]), refined by `clicks` ({x, y, positive}), as
    {mask, area, method, model_version, ms}. `method` "auto" asks `model_version` (default: the
    project's newest) when the project has one, else the model-free assist, which answers with the
    thin-structure paths when the box holds a thin object and with GrabCut otherwise; "grabcut",
    "thin" and "model" choose."""
    if method not in METHODS:
        raise ValidationFailed(f"unknown assist method {method!r}: one of {', '.join(METHODS)}")
    _check_image(image)
    clipped = _check_box(image, box)
    seeds = _check_clicks(image, clicks or [])
    _check_class(image, label_class)
    if method in MODEL_FREE and model_version is not None:
        raise ValidationFailed(f"model_version is for the model's assist, not for method {method}")
    version = None
    if model_version is not None:
        version = selectors.model_version_get(project=image.project, version_id=model_version)
    elif method not in MODEL_FREE:
        version = image.project.model_versions.order_by("-created_at", "-pk").first()
        if version is None and method == "model":
            raise Conflict("no model version in this project yet: train or register one, or use GrabCut (method grabcut)")
    if version is None:
        free = method if method in MODEL_FREE else "auto"
        return _answer(task_call(GRABCUT_TASK, [image.pk, clipped, seeds, free], timeout_s=ASSIST_TIMEOUT_S))
    return _answer(task_call(ASSIST_TASK, [image.pk, clipped, label_class, version.pk, seeds], timeout_s=ASSIST_TIMEOUT_S))


def superpixels_get(*, image: Image) -> dict[str, Any]:
    """The image's stored superpixels (annotations/superpixels.py's format) with `ms` and `computed`
    (whether they were made for this request: images uploaded before the superpixel tool existed)."""
    started = time.perf_counter()
    _check_image(image)
    doc = superpixels_read(image=image)
    computed = doc is None
    if doc is None:
        _answer(task_call(SUPERPIXELS_TASK, [image.pk], timeout_s=SUPERPIXELS_TIMEOUT_S))
        doc = superpixels_read(image=image)
        if doc is None:
            raise NotFound(f"the worker made no superpixels for image {image.pk}")
    return {**doc, "computed": computed, "ms": round((time.perf_counter() - started) * 1000, 1)}

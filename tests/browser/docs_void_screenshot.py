"""Writes docs/editor-void.png (the README's picture of the void region). Not part of the suite
(no test_ prefix):

    .venv/bin/python -m pytest tests/browser/docs_void_screenshot.py
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage, ImageFilter

from annotations import ingest, masks, services

from .conftest import image_point, open_editor
from .docs_screenshot import _street

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "editor-void.png"


def _band(mask: np.ndarray, width: int) -> np.ndarray:
    """VOC-style void: a band of `width` pixels along the mask's boundary."""
    img = PILImage.fromarray(mask * 255)
    grown = np.asarray(img.filter(ImageFilter.MaxFilter(2 * width + 1)), np.uint8) > 0
    shrunk = np.asarray(img.filter(ImageFilter.MinFilter(2 * width + 1)), np.uint8) > 0
    return (grown & ~shrunk).astype(np.uint8)


def test_it_writes_the_void_screenshot(login_page, live_server, owner, project):
    car = services.label_class_create(project=project, name="car", kind="instance", color="#ff6b35", hotkey="1")
    services.label_class_create(project=project, name="person", kind="instance", color="#4dabf7", hotkey="2")
    road = services.label_class_create(project=project, name="road", kind="semantic", color="#9775fa", hotkey="3")
    jpeg, shapes = _street()
    image = ingest.images_import(project=project, user=owner, files=[("street_0042.jpg", io.BytesIO(jpeg))], make_thumbnails=False).created[0]
    void = _band(shapes["car_a"], 4) | _band(shapes["car_b"], 4)
    void[0:120, 760:960] = 1  # an unlabelled blurred corner
    services.annotation_document_save(image=image, user=owner, version=image.annotation_version, annotations=[
        {"label_class": road.id, "mask": masks.encode(shapes["road"]), "z_order": 0},
        {"label_class": car.id, "mask": masks.encode(shapes["car_a"] & (1 - void)), "z_order": 1},
        {"label_class": car.id, "mask": masks.encode(shapes["car_b"] & (1 - void)), "z_order": 2},
    ], void=masks.encode(void))
    page = login_page(owner)
    open_editor(page, live_server, image)
    page.keyboard.press("Shift+V")  # the void tool, hovering the person's edge
    page.mouse.move(*image_point(page, 490, 400))
    page.wait_for_timeout(300)
    DOCS.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS))

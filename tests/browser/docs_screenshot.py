"""Writes docs/editor.png (the README's screenshot). Not part of the suite (no test_ prefix):

    .venv/bin/python -m pytest tests/browser/docs_screenshot.py
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage, ImageDraw, ImageFilter

from annotations import ingest, masks, services
from annotations.models import ModelVersion

from .conftest import image_point, open_editor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "editor.png"
W, H = 960, 640


def _street() -> tuple[bytes, dict[str, np.ndarray]]:
    """A synthetic street: sky, road, two cars, a person; returns the JPEG and the shapes' masks."""
    img = PILImage.new("RGB", (W, H), (135, 170, 205))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 300, W, H], fill=(95, 100, 92))
    d.polygon([(300, 640), (660, 640), (520, 300), (440, 300)], fill=(70, 70, 74))
    shapes: dict[str, list] = {
        "car_a": [(120, 380), (330, 380), (350, 470), (100, 470)],
        "car_b": [(600, 400), (820, 400), (850, 500), (580, 500)],
        "person": [(470, 330), (505, 330), (515, 470), (460, 470)],
    }
    colors = {"car_a": (180, 40, 40), "car_b": (40, 60, 160), "person": (220, 190, 150)}
    for name, poly in shapes.items():
        d.polygon(poly, fill=colors[name])
    img = img.filter(ImageFilter.GaussianBlur(1.2))
    rng = np.random.default_rng(3)
    arr = np.clip(np.asarray(img, np.float32) + rng.normal(0, 1.5, (H, W, 3)), 0, 255).astype(np.uint8)
    out = {}
    for name, poly in shapes.items():
        m = PILImage.new("L", (W, H), 0)
        ImageDraw.Draw(m).polygon(poly, fill=1)
        out[name] = np.asarray(m, np.uint8)
    road = PILImage.new("L", (W, H), 0)
    ImageDraw.Draw(road).polygon([(300, 640), (660, 640), (520, 300), (440, 300)], fill=1)
    out["road"] = np.asarray(road, np.uint8) & (1 - out["person"])
    buf = io.BytesIO()
    PILImage.fromarray(arr).save(buf, "JPEG", quality=90)
    return buf.getvalue(), out


def test_it_writes_the_readme_screenshot(login_page, live_server, owner, project):
    car = services.label_class_create(project=project, name="car", kind="instance", color="#ff6b35", hotkey="1")
    person = services.label_class_create(project=project, name="person", kind="instance", color="#4dabf7", hotkey="2")
    road = services.label_class_create(project=project, name="road", kind="semantic", color="#9775fa", hotkey="3")
    services.label_class_create(project=project, name="sky", kind="semantic", color="#63e6be", hotkey="4")
    jpeg, shapes = _street()
    image = ingest.images_import(project=project, user=owner, files=[("street_0042.jpg", io.BytesIO(jpeg))], make_thumbnails=False).created[0]
    services.annotation_document_save(image=image, user=owner, version=image.annotation_version, annotations=[
        {"label_class": road.id, "mask": masks.encode(shapes["road"]), "z_order": 0},
        {"label_class": car.id, "mask": masks.encode(shapes["car_a"]), "z_order": 1},
    ])
    model = ModelVersion.objects.create(project=project, name="maskrcnn-v3", architecture="maskrcnn")
    services.proposals_replace(image=image, model_version=model, proposals=[
        services.Proposal(label_class_id=car.id, rle=masks.encode(shapes["car_b"]), score=0.94),
        services.Proposal(label_class_id=person.id, rle=masks.encode(shapes["person"]), score=0.81),
    ])
    page = login_page(owner)
    open_editor(page, live_server, image)
    page.locator(".lbl-item").nth(0).click()
    # The superpixel tool, hovering over the unlabelled blue car: its superpixel outlined.
    page.keyboard.press("s")
    page.wait_for_function("() => window.labelerEditor.editor.superpixelData !== null")
    page.keyboard.press("[")
    page.mouse.move(*image_point(page, 700, 450))
    page.wait_for_timeout(300)
    DOCS.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS))
    assert DOCS.stat().st_size > 10_000

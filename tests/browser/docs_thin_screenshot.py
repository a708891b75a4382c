"""Writes docs/assist-thin.png (the README's picture of the box tool on a thin object: the
thin-structure paths' mask after the box and one click where the stripe crosses a background of its
own colour, and the toast saying what made it). Not part of the suite (no test_ prefix):

    .venv/bin/python -m pytest tests/browser/docs_thin_screenshot.py
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from annotations import services

from ..assist_support import store, thin_stripe
from .conftest import image_point, open_editor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "assist-thin.png"


def test_it_writes_the_thin_assist_screenshot(login_page, live_server, owner, project):
    services.label_class_create(project=project, name="cable", kind="instance", color="#ff6b35", hotkey="1")
    rgb, _, (bx, by, bw, bh), _ = thin_stripe(h=480, w=640, seed=11, amplitude=120)
    image = store(project, rgb, name="cable.png")
    page = login_page(owner)
    open_editor(page, live_server, image)
    page.keyboard.press("1")
    page.keyboard.press("x")
    before = page.evaluate("() => window.labelerEditor.editor.doc.revision")
    page.mouse.move(*image_point(page, bx, by))
    page.mouse.down()
    page.mouse.move(*image_point(page, bx + bw, by + bh), steps=5)
    page.mouse.up()
    page.wait_for_function("(r) => window.labelerEditor.editor.doc.revision > r", arg=before)
    x = 213  # the stripe's centre line crosses green there: the box alone leaves a gap
    before = page.evaluate("() => window.labelerEditor.editor.doc.revision")
    page.mouse.click(*image_point(page, x, round(240 + 120 * np.sin((x - 30) / 580 * 2 * np.pi))))
    page.wait_for_function("(r) => window.labelerEditor.editor.doc.revision > r", arg=before)
    page.wait_for_timeout(300)
    DOCS.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS))
    # The made-up photo's noise makes a 1.3 MB PNG; 256 dithered colours keep its look in a fraction.
    from PIL import Image as PILImage

    with PILImage.open(DOCS) as shot:
        rgb = shot.convert("RGB")
        palette = rgb.quantize(256)  # the palette; dithering applies only when one is given
        rgb.quantize(palette=palette, dither=PILImage.Dither.FLOYDSTEINBERG).save(DOCS, optimize=True)

"""The photo's downscaled copies (frontend/src/render/photo-levels.ts) in a real browser: the levels
worker makes both (half and quarter size) off the main thread, where Chromium resized them in a
40 ms task of the page's after the open; the image layer at fit shows exactly the half-size copy
that the main thread makes the same way from the same bytes, and 1:1 exactly the photo.
"""
from __future__ import annotations

import pytest

from .conftest import open_editor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LEVELS = """() => {
    const r = window.labelerEditor.editor.renderer;
    return {madeBy: r.levelsMadeBy, count: r.levelCount};
}"""

# The image layer against the photo (level 1) or its half-size copy (0.5) made here on the main
# thread from the same bytes, drawn as the renderer draws it.
COMPARE = """async (level) => {
    const ed = window.labelerEditor.editor;
    await ed.renderer.settled();
    const layer = document.querySelector('.lbl-layer-image');
    const blob = await (await fetch(document.getElementById('editor').dataset.imageUrl)).blob();
    const full = await createImageBitmap(blob);
    const w = ed.doc.width, h = ed.doc.height;
    const source = level === 1 ? full : await createImageBitmap(full, {resizeWidth: Math.round(w * level), resizeHeight: Math.round(h * level), resizeQuality: 'medium'});
    const ref = document.createElement('canvas');
    ref.width = layer.width; ref.height = layer.height;
    const g = ref.getContext('2d');
    g.imageSmoothingEnabled = ed.view.scale < 2; g.imageSmoothingQuality = 'low';
    const k = ed.view.scale / level;
    g.setTransform(k, 0, 0, k, ed.view.offsetX, ed.view.offsetY);
    g.drawImage(source, 0, 0);
    const a = layer.getContext('2d').getImageData(0, 0, layer.width, layer.height).data;
    const b = g.getImageData(0, 0, ref.width, ref.height).data;
    let differ = 0, painted = 0;
    for (let i = 0; i < a.length; i++) { if (a[i] !== b[i]) differ++; if (i % 4 === 3 && a[i]) painted++; }
    return {differ, painted, scale: ed.view.scale};
}"""


def test_the_levels_worker_makes_both_copies_and_fit_shows_the_half_size_one_and_one_to_one_the_photo(login_page, live_server, owner, make_image):
    image = make_image(2400, 1600)
    page = login_page(owner)
    open_editor(page, live_server, image)
    page.wait_for_function("() => window.labelerEditor.editor.renderer.levelCount === 2")
    page.wait_for_function("() => window.labelerEditor.editor.renderer.levelsMadeBy !== null")
    assert page.evaluate(LEVELS) == {"madeBy": "worker", "count": 2}
    shown = page.evaluate(COMPARE, 0.5)
    assert 0.25 < shown["scale"] <= 0.5  # the half-size level is the one drawn at fit
    assert shown["painted"] > 500_000  # the photo covers most of the stage
    assert shown["differ"] == 0
    page.keyboard.press("0")  # 1:1: the photo itself
    actual = page.evaluate(COMPARE, 1)
    assert actual["scale"] == 1 and actual["painted"] > 500_000
    assert actual["differ"] == 0
    assert page.js_errors == []


def test_a_photo_too_small_for_levels_opens_without_any(login_page, live_server, owner, make_image):
    image = make_image(400, 300)  # half size would be under 256 pixels a side
    page = login_page(owner)
    open_editor(page, live_server, image)
    page.wait_for_function("() => window.labelerEditor.editor.renderer.levelsMadeBy !== null")
    assert page.evaluate(LEVELS) == {"madeBy": "none", "count": 0}
    assert page.js_errors == []

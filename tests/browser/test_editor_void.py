"""The void (ignore) region in the editor, in a real browser: shown hatched from the document,
hidden and shown from its legend row, painted with the void tool (Shift+V), erased with Alt and the
right button, undone, saved, and compared pixel for pixel with what the server stored.

Expected masks come from the brush's documented pixel rule (test_editor.capsule); the hatch colours
and period from frontend/src/void-layer.ts and the renderer (period = max(6, round(long side / 250))).
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from rest_framework.test import APIClient

from annotations import masks, services

from .conftest import client_to_image, image_point, open_editor, wait_saved
from .test_editor import H, W, capsule, server_masks, stroke

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PERIOD = 6  # the renderer's hatch period for a 200x150 image
LIGHT, DARK, ALPHA = (235, 235, 235), (70, 70, 70), 200


def server_void(user, image) -> np.ndarray:
    api = APIClient()
    api.force_authenticate(user)
    body = api.get(f"/api/images/{image.id}/annotations/").json()
    return np.zeros((H, W), np.uint8) if body["void"] is None else masks.decode(body["void"])


def in_browser_void(page) -> np.ndarray:
    rle = page.evaluate("() => window.labelerEditor.editor.doc.voidLayer.mask.toRle()")
    return masks.decode(rle)


def mask_layer_pixel(page, x: int, y: int) -> tuple[int, int, int, int]:
    """The RGBA the mask canvas shows at the centre of image pixel (x, y)."""
    return tuple(page.evaluate(
        """([x, y]) => {
            const ed = window.labelerEditor.editor;
            const c = document.querySelector('.lbl-layer-masks');
            const s = ed.view.toScreen(x + 0.5, y + 0.5);
            const d = window.devicePixelRatio || 1;
            return Array.from(c.getContext('2d').getImageData(Math.floor(s.x * d), Math.floor(s.y * d), 1, 1).data);
        }""",
        [x, y],
    ))


def next_frame(page) -> None:
    """Waits until the editor has drawn what is pending (it draws in requestAnimationFrame)."""
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")


def hatch_at(x: int, y: int) -> tuple[int, int, int]:
    return LIGHT if (x - y) % PERIOD < PERIOD // 2 else DARK


def assert_hatched(page, points) -> None:
    for x, y in points:
        r, g, b, a = mask_layer_pixel(page, x, y)
        want = hatch_at(x, y)
        assert abs(a - ALPHA) <= 1 and all(abs(c - w) <= 2 for c, w in zip((r, g, b), want)), ((x, y), (r, g, b, a), want)


def void_row_pixels(page) -> int:
    return int(page.locator(".lbl-void").get_attribute("data-void-pixels"))


def test_it_shows_paints_erases_undoes_and_saves_the_void_region_pixel_exact(login_page, live_server, owner, car, road, make_image):
    image = make_image(W, H)
    start = np.zeros((H, W), np.uint8)
    start[10:40, 10:60] = 1
    services.annotation_document_save(image=image, user=owner, version=image.annotation_version, annotations=[], void=masks.encode(start))
    page = login_page(owner)
    open_editor(page, live_server, image)
    page.keyboard.press("0")  # 1:1, whole-pixel offsets

    # Shown: hatched in light and dark grey stripes where void, clear elsewhere; counted in its legend row.
    assert np.array_equal(in_browser_void(page), start)
    next_frame(page)
    assert_hatched(page, [(10, 10), (11, 10), (12, 10), (13, 10), (14, 10), (15, 10), (30, 25), (59, 39)])
    assert mask_layer_pixel(page, 100, 100)[3] == 0
    assert mask_layer_pixel(page, 60, 20)[3] == 0
    assert void_row_pixels(page) == 30 * 50
    assert "Void" in page.locator(".lbl-void").inner_text()

    # The legend row's eye hides and shows it.
    page.locator("[data-action='void-visibility']").click()
    next_frame(page)
    assert mask_layer_pixel(page, 30, 25)[3] == 0
    page.locator("[data-action='void-visibility']").click()
    next_frame(page)
    assert_hatched(page, [(30, 25)])

    # The help lists the void tool's key; Shift+V picks it; a drag paints void with the brush's size (12).
    page.keyboard.press("?")
    assert "Shift+V" in page.locator(".lbl-help").inner_text() and "Void (ignore) region" in page.locator(".lbl-help").inner_text()
    page.keyboard.press("Escape")
    page.keyboard.press("Shift+V")
    assert "is-active" in (page.locator("[data-tool='void']").get_attribute("class") or "")
    a, b = stroke(page, (100, 90), (170, 90))
    painted = start | capsule(a, b, 12)
    assert np.array_equal(in_browser_void(page), painted)
    assert page.locator(".lbl-status").get_attribute("data-save-state") == "dirty"
    next_frame(page)
    assert_hatched(page, [(100, 90), (140, 95), (170, 85)])
    assert page.locator(".lbl-item").count() == 0  # void is no annotation

    # Alt-drag erases across the first region.
    page.keyboard.down("Alt")
    ea, eb = stroke(page, (30, 0), (30, 60), steps=8)
    page.keyboard.up("Alt")
    erased = painted & (1 - capsule(ea, eb, 12))
    assert np.array_equal(in_browser_void(page), erased)
    next_frame(page)
    assert mask_layer_pixel(page, 30, 25)[3] == 0

    # So does a right-button drag.
    ra = tuple(round(v) for v in image_point(page, 165, 80))
    rb = tuple(round(v) for v in image_point(page, 165, 100))
    page.mouse.move(*ra)
    page.mouse.down(button="right")
    page.mouse.move(*rb, steps=5)
    page.mouse.up(button="right")
    right_erased = erased & (1 - capsule(client_to_image(page, *ra), client_to_image(page, *rb), 12))
    assert np.array_equal(in_browser_void(page), right_erased)
    assert void_row_pixels(page) == int(right_erased.sum())

    # Undo takes back one stroke at a time, redo puts it back.
    page.keyboard.press("Control+z")
    assert np.array_equal(in_browser_void(page), erased)
    page.keyboard.press("Control+z")
    assert np.array_equal(in_browser_void(page), painted)
    assert void_row_pixels(page) == int(painted.sum())
    page.keyboard.press("Control+Shift+z")
    page.keyboard.press("Control+Shift+z")
    assert np.array_equal(in_browser_void(page), right_erased)

    bodies: list[dict] = []
    page.on("request", lambda r: bodies.append(json.loads(r.post_data)) if r.method in ("PUT", "PATCH") and "/annotations/" in r.url else None)
    page.keyboard.press("Control+s")
    wait_saved(page)
    assert np.array_equal(server_void(owner, image), right_erased)
    assert "void" in bodies[-1]

    # Reloaded, the editor shows what the server holds; a save without void edits leaves it out.
    page.reload()
    page.wait_for_selector("#editor[data-ready='true']")
    assert np.array_equal(in_browser_void(page), right_erased)
    page.keyboard.press("0")
    page.keyboard.press("2")
    page.keyboard.press("b")
    stroke(page, (20, 120), (60, 120))
    page.keyboard.press("Control+s")
    wait_saved(page)
    assert "void" not in bodies[-1]
    assert np.array_equal(server_void(owner, image), right_erased)
    assert [a["label_class"] for a in server_masks(owner, image)] == [road.id]
    assert page.js_errors == []

"""The model-free assist tools in a real browser: superpixel painting, magic wand, GrabCut box and
clicks, the thin-structure paths for a thin object's box. Each saved mask is compared pixel for pixel
with what the tool must give, computed here from the same inputs: the union of the chosen superpixels
(from the stored superpixel file), the flood-fill region (the wand's documented colour rule),
GrabCut's or the paths' mask for the box and clicks the editor sent (the worker's own functions)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from annotations import superpixels as spx
from workers.grabcut import Click, grabcut
from workers.thin import thin_mask

from ..assist_support import disk_on_a_mat, iou, store, thin_stripe, two_colour
from .conftest import client_to_image, image_point, open_editor, wait_saved
from .test_editor import server_masks

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def js_round(v: float) -> int:
    return math.floor(v + 0.5)


def client(page, x: float, y: float) -> tuple[int, int]:
    return tuple(round(v) for v in image_point(page, x, y))


def revision(page) -> int:
    return page.evaluate("() => window.labelerEditor.editor.doc.revision")


def wait_revision_after(page, before: int) -> None:
    page.wait_for_function("(r) => window.labelerEditor.editor.doc.revision > r", arg=before)


def save(page) -> None:
    page.keyboard.press("Control+s")
    wait_saved(page)


def alt_click(page, cx: int, cy: int) -> None:
    page.keyboard.down("Alt")
    page.mouse.click(cx, cy)
    page.keyboard.up("Alt")


def textured(h: int = 150, w: int = 200) -> np.ndarray:
    """Patches of colour with soft noise: superpixels with edges worth following."""
    rng = np.random.default_rng(3)
    base = rng.integers(30, 230, size=(5, 6, 3))
    rgb = np.kron(base, np.ones((30, 34, 1)))[:h, :w].astype(np.float64)
    return np.clip(rgb + rng.normal(0, 4, rgb.shape), 0, 255).astype(np.uint8)


def test_superpixel_clicks_drags_and_alt_save_the_union_of_those_superpixels(login_page, live_server, owner, car):
    image = store(car.project, textured())
    assert not spx.superpixels_exist(image.sha256)  # made on demand, through the API
    page = login_page(owner)
    open_editor(page, live_server, image)
    page.keyboard.press("1")
    page.keyboard.press("s")
    page.wait_for_function("() => window.labelerEditor.editor.superpixelData !== null")
    page.keyboard.press("[")  # finer: the finest of three levels
    level = page.evaluate("() => window.labelerEditor.editor.state.value.superpixelLevel")
    assert level == 2 and page.locator("[data-control='granularity']").input_value() == "2"
    doc = spx.superpixels_read(image=image)
    labels = spx.image_labels(doc, level)

    # Hover outlines the superpixel under the pointer; each lookup takes well under 1 ms.
    hx, hy = client(page, 40, 40)
    page.mouse.move(hx, hy)
    seen = client_to_image(page, hx, hy)
    hover = page.evaluate("() => { const t = window.labelerEditor.editor.tools.get('superpixel'); return [t.hover, t.lastLookupMs]; }")
    assert hover[0] == {"level": level, "label": int(labels[int(seen[1]), int(seen[0])])} and hover[1] < 1
    per_lookup = page.evaluate("""() => {
        const sp = window.labelerEditor.editor.superpixelData; let s = 0; const t0 = performance.now();
        for (let i = 0; i < 100000; i++) s += sp.labelAt(2, (i * 7) % 200, (i * 13) % 150);
        return (performance.now() - t0) / 100000; }""")
    assert per_lookup < 0.01

    chosen: set[int] = set()
    # A click.
    cx, cy = client(page, 40, 40)
    page.mouse.click(cx, cy)
    x, y = client_to_image(page, cx, cy)
    chosen.add(int(labels[int(y), int(x)]))
    # A horizontal drag: every pixel column between its ends is sampled, so every superpixel on the row.
    ax, ay = client(page, 90, 100)
    bx, _ = client(page, 170, 100)
    page.mouse.move(ax, ay)
    page.mouse.down()
    page.mouse.move(bx, ay, steps=12)
    page.mouse.up()
    (x0, y0), (x1, _) = client_to_image(page, ax, ay), client_to_image(page, bx, ay)
    chosen |= {int(v) for v in labels[int(y0), int(x0):int(x1) + 1]}
    # Alt-click removes one of the dragged superpixels.
    rx, ry = client(page, 130, 100)
    alt_click(page, rx, ry)
    x, y = client_to_image(page, rx, ry)
    removed = int(labels[int(y), int(x)])
    assert removed in chosen
    chosen.discard(removed)
    save(page)
    (stored,) = server_masks(owner, image)
    expected = np.isin(labels, sorted(chosen))
    from annotations import masks

    assert np.array_equal(masks.decode(stored["mask"]).astype(bool), expected)
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+z")
    assert page.evaluate("() => window.labelerEditor.editor.doc.list().length") == 0
    assert not page.js_errors


def test_the_wand_saves_the_flood_fill_region_and_shift_takes_every_match(login_page, live_server, owner, car):
    h, w = 150, 200
    rgb = np.empty((h, w, 3), np.uint8)
    rgb[:] = (120, 120, 120)
    rgb[20:60, 20:70] = (200, 30, 30)
    rgb[30:50, 30:50] = (210, 40, 25)  # within 10 of the square around it
    rgb[90:130, 120:180] = (195, 35, 30)  # the same red, apart
    image = store(car.project, rgb)
    page = login_page(owner)
    open_editor(page, live_server, image)
    page.keyboard.press("1")
    page.keyboard.press("w")
    page.evaluate("""() => { const s = document.querySelector("[data-control='tolerance']");
        s.value = '10'; s.dispatchEvent(new Event('input')); }""")
    assert page.evaluate("() => window.labelerEditor.editor.state.value.tolerance") == 10
    cx, cy = client(page, 25, 25)
    page.mouse.click(cx, cy)
    x, y = client_to_image(page, cx, cy)
    seed = rgb[int(y), int(x)].astype(int)
    near = (np.abs(rgb.astype(int) - seed).max(axis=2) <= 10)
    from scipy import ndimage

    parts, _ = ndimage.label(near)  # 4-connected by default
    contiguous = parts == parts[int(y), int(x)]
    assert page.evaluate("() => window.labelerEditor.editor.tools.get('wand').lastMs") < 30
    save(page)
    from annotations import masks

    (stored,) = server_masks(owner, image)
    assert np.array_equal(masks.decode(stored["mask"]).astype(bool), contiguous)
    assert contiguous[35, 35] and not contiguous[100, 150]
    # Shift: the same colour everywhere, into the same (selected) annotation.
    page.keyboard.down("Shift")
    page.mouse.click(cx, cy)
    page.keyboard.up("Shift")
    save(page)
    (stored,) = server_masks(owner, image)
    assert np.array_equal(masks.decode(stored["mask"]).astype(bool), contiguous | near)
    assert not page.js_errors


def _drag_box(page, a: tuple[int, int], b: tuple[int, int]) -> list[int]:
    ca, cb = client(page, *a), client(page, *b)
    before = revision(page)
    page.mouse.move(*ca)
    page.mouse.down()
    page.mouse.move(*cb, steps=5)
    page.mouse.up()
    wait_revision_after(page, before)
    (x0, y0), (x1, y1) = client_to_image(page, *ca), client_to_image(page, *cb)
    return [js_round(min(x0, x1)), js_round(min(y0, y1)), js_round(abs(x1 - x0)), js_round(abs(y1 - y0))]


def _boxed(login_page, live_server, owner, car, rgb, a: tuple[int, int], b: tuple[int, int]):
    """An editor on a new image of `rgb`, class 1 and the box tool picked, a box dragged from `a` to
    `b` and its answer in: (page, image, the box in image pixels)."""
    image = store(car.project, rgb)
    page = login_page(owner)
    open_editor(page, live_server, image)
    page.keyboard.press("1")
    page.keyboard.press("x")
    return page, image, _drag_box(page, a, b)


def test_the_box_without_a_model_saves_grabcuts_mask(login_page, live_server, owner, car):
    rgb, truth = two_colour()
    page, image, box = _boxed(login_page, live_server, owner, car, rgb, (52, 27), (150, 125))
    assert "GrabCut" in page.locator(".lbl-toast").inner_text()
    save(page)
    from annotations import masks

    (stored,) = server_masks(owner, image)
    got = masks.decode(stored["mask"]).astype(bool)
    assert np.array_equal(got, grabcut(rgb, box=tuple(box)))
    assert iou(got, truth) > 0.98 and stored["source"] == "human"
    assert not page.js_errors


def test_alt_clicks_after_the_box_improve_the_mask(login_page, live_server, owner, car):
    rgb, truth, (bx, by, bw, bh), _ = disk_on_a_mat()
    page, image, box = _boxed(login_page, live_server, owner, car, rgb, (bx, by), (bx + bw, by + bh))

    def current() -> np.ndarray:
        key = page.evaluate("() => window.labelerEditor.editor.doc.list()[0].key")
        rle = page.evaluate("(k) => window.labelerEditor.maskRle(k)", key)
        from annotations import masks

        return masks.decode(rle).astype(bool)

    ious = [iou(current(), truth)]
    clicks = []
    for point in [(40, 25), (140, 125)]:
        cx, cy = client(page, *point)
        before = revision(page)
        alt_click(page, cx, cy)
        wait_revision_after(page, before)
        x, y = client_to_image(page, cx, cy)
        clicks.append(Click(x, y, False))
        ious.append(iou(current(), truth))
    assert ious[0] < 0.5 and ious[-1] > 0.95 and ious == sorted(ious), ious
    assert page.evaluate("() => window.labelerEditor.editor.doc.list().length") == 1  # refined, not added
    save(page)
    from annotations import masks

    (stored,) = server_masks(owner, image)
    assert np.array_equal(masks.decode(stored["mask"]).astype(bool), grabcut(rgb, box=tuple(box), clicks=clicks))
    page.keyboard.press("Control+z")  # one undo step per answer
    assert abs(iou(current(), truth) - ious[1]) < 1e-9
    assert not page.js_errors


def test_the_box_around_a_thin_stripe_saves_the_paths_mask_and_a_click_refines_it(login_page, live_server, owner, car):
    rgb, truth, (bx, by, bw, bh), points = thin_stripe()
    page, image, box = _boxed(login_page, live_server, owner, car, rgb, (bx, by), (bx + bw, by + bh))
    assert "thin-structure paths" in page.locator(".lbl-toast").inner_text()
    cx, cy = client(page, *points[1])
    before = revision(page)
    page.mouse.click(cx, cy)
    wait_revision_after(page, before)
    x, y = client_to_image(page, cx, cy)
    assert page.evaluate("() => window.labelerEditor.editor.doc.list().length") == 1  # refined, not added
    save(page)
    from annotations import masks

    (stored,) = server_masks(owner, image)
    got = masks.decode(stored["mask"]).astype(bool)
    assert np.array_equal(got, thin_mask(rgb, box=tuple(box), clicks=[Click(x, y, True)]))
    assert iou(got, truth) >= 0.85
    assert not page.js_errors

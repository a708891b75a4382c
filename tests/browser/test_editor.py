"""The editor in a real browser: paint, polygon, erase, undo/redo, save, reload; proposals; conflicts.

Expected masks are computed here independently with the editor's documented pixel rule (a pixel
belongs to a shape when its centre does) and compared with what the server stored.
"""
from __future__ import annotations

import numpy as np
import pytest
from rest_framework.test import APIClient

from annotations import masks, services
from annotations.models import Annotation, ModelVersion

from .conftest import client_to_image, image_point, open_editor, wait_saved

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

W, H = 200, 150


def capsule(a: tuple[float, float], b: tuple[float, float], r: float) -> np.ndarray:
    """Same arithmetic as frontend/src/raster.ts paintCapsule, in float64."""
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float64)
    px, py = xs + 0.5, ys + 0.5
    dx, dy = b[0] - a[0], b[1] - a[1]
    len2 = dx * dx + dy * dy
    t = np.clip(((px - a[0]) * dx + (py - a[1]) * dy) / len2, 0, 1) if len2 > 0 else np.zeros_like(px)
    ex = px - (a[0] + t * dx)
    ey = py - (a[1] + t * dy)
    return (ex * ex + ey * ey <= r * r).astype(np.uint8)


def stroke(page, a: tuple[int, int], b: tuple[int, int], steps: int = 10) -> tuple[tuple[float, float], tuple[float, float]]:
    """Drags from image point a to b; returns the image points the editor saw at both ends."""
    ca = tuple(round(v) for v in image_point(page, *a))
    cb = tuple(round(v) for v in image_point(page, *b))
    page.mouse.move(*ca)
    page.mouse.down()
    page.mouse.move(*cb, steps=steps)
    page.mouse.up()
    return client_to_image(page, *ca), client_to_image(page, *cb)


def click_at(page, x: int, y: int) -> tuple[float, float]:
    c = tuple(round(v) for v in image_point(page, x, y))
    page.mouse.click(*c)
    return client_to_image(page, *c)


def server_masks(user, image) -> list[dict]:
    api = APIClient()
    api.force_authenticate(user)
    response = api.get(f"/api/images/{image.id}/annotations/")
    assert response.status_code == 200
    return response.json()["annotations"]


def bitmap(annotation: dict) -> np.ndarray:
    return masks.decode(annotation["mask"])


def in_browser_mask(page, key: int) -> np.ndarray:
    rle = page.evaluate("(k) => window.labelerEditor.maskRle(k)", key)
    return masks.decode(rle)


def keys_by_class(page) -> dict[int, list[int]]:
    return page.evaluate(
        """() => {
            const out = {};
            for (const i of window.labelerEditor.editor.doc.list()) (out[i.labelClass] ??= []).push(i.key);
            return out;
        }"""
    )


def test_it_paints_polygons_erases_undoes_and_saves_pixel_exact(login_page, live_server, owner, car, road, make_image):
    image = make_image(W, H)
    page = login_page(owner)
    open_editor(page, live_server, image)
    page.keyboard.press("0")  # 1:1, whole-pixel offsets

    # Brush on the semantic class: one stroke.
    page.keyboard.press("2")
    page.keyboard.press("b")
    a, b = stroke(page, (20, 30), (120, 30))
    road_expected = capsule(a, b, 12)

    # Polygon on the instance class, with one vertex dragged into place before closing.
    page.keyboard.press("1")
    page.keyboard.press("p")
    corners = [click_at(page, 130, 80), click_at(page, 180, 80), click_at(page, 170, 135), click_at(page, 130, 130)]
    wrong = tuple(round(v) for v in image_point(page, 170, 135))
    right = tuple(round(v) for v in image_point(page, 180, 130))
    page.mouse.move(*wrong)
    page.mouse.down()
    page.mouse.move(*right, steps=4)
    page.mouse.up()
    corners[2] = client_to_image(page, *right)
    click_at(page, 130, 80)  # the first vertex closes the polygon
    assert [tuple(map(round, c)) for c in corners] == [(130, 80), (180, 80), (180, 130), (130, 130)]
    car_expected = np.zeros((H, W), np.uint8)
    car_expected[80:130, 130:180] = 1

    # Eraser across the road stroke (road is selected again by its hotkey).
    page.keyboard.press("2")
    page.keyboard.press("e")
    ea, eb = stroke(page, (60, 10), (60, 50), steps=8)
    road_erased = road_expected & (1 - capsule(ea, eb, 12))

    groups = keys_by_class(page)
    road_key, car_key = groups[str(road.id)][0], groups[str(car.id)][0]
    assert np.array_equal(in_browser_mask(page, road_key), road_erased)
    page.keyboard.press("Control+z")
    assert np.array_equal(in_browser_mask(page, road_key), road_expected)
    page.keyboard.press("Control+z")  # the polygon goes away
    assert keys_by_class(page).get(str(car.id)) is None
    page.keyboard.press("Control+Shift+z")
    page.keyboard.press("Control+Shift+z")
    assert np.array_equal(in_browser_mask(page, road_key), road_erased)
    assert np.array_equal(in_browser_mask(page, car_key), car_expected)

    patches: list[str] = []
    # (status PATCHes of the image; the save itself is a PATCH of its annotation document)
    page.on("request", lambda r: patches.append(r.url) if r.method == "PATCH" and not r.url.endswith("/annotations/") else None)
    page.keyboard.press("Control+s")
    wait_saved(page)
    # The save moved the new image to in progress on the server; the editor shows it, sending nothing more.
    page.wait_for_selector(".lbl-image-status:text-is('in progress')")
    image.refresh_from_db()
    assert image.status == "in_progress" and patches == []

    stored = {a["label_class"]: a for a in server_masks(owner, image)}
    assert set(stored) == {road.id, car.id}
    assert np.array_equal(bitmap(stored[road.id]), road_erased)
    assert np.array_equal(bitmap(stored[car.id]), car_expected)
    assert stored[car.id]["source"] == "human" and stored[car.id]["is_proposal"] is False

    # Reload: the editor shows what the server holds, pixel for pixel.
    page.reload()
    page.wait_for_selector("#editor[data-ready='true']")
    assert page.locator(".lbl-item").count() == 2
    groups = keys_by_class(page)
    assert np.array_equal(in_browser_mask(page, groups[str(road.id)][0]), road_erased)
    assert np.array_equal(in_browser_mask(page, groups[str(car.id)][0]), car_expected)
    assert page.js_errors == []


def _proposals(image, project, car, count: int = 2):
    model = ModelVersion.objects.create(project=project, name="maskrcnn-v1", architecture="maskrcnn")
    proposals = []
    for i in range(count):
        bm = np.zeros((H, W), np.uint8)
        bm[20 + 40 * i: 50 + 40 * i, 30: 90] = 1
        proposals.append(services.Proposal(label_class_id=car.id, rle=masks.encode(bm), score=0.9 - 0.1 * i))
    services.proposals_replace(image=image, model_version=model, proposals=proposals)
    return model


def test_it_accepts_the_selected_proposal_then_all(login_page, live_server, owner, project, car, make_image):
    image = make_image(W, H)
    _proposals(image, project, car)
    page = login_page(owner)
    open_editor(page, live_server, image)
    assert page.locator(".lbl-item.is-proposal").count() == 2
    assert "maskrcnn-v1 · 0.90" in page.locator(".lbl-instances").inner_text()

    page.locator(".lbl-item.is-proposal").last.click()  # the first proposal (list is top-down)
    page.keyboard.press("c")
    assert page.locator(".lbl-item.is-proposal").count() == 1
    page.keyboard.press("Control+s")
    wait_saved(page)
    rows = list(Annotation.objects.filter(image=image).order_by("score"))
    assert [r.is_proposal for r in rows] == [True, False]  # 0.8 still a proposal, 0.9 accepted
    assert all(r.source == "model" and r.model_version is not None for r in rows)

    page.keyboard.press("Shift+C")
    page.keyboard.press("Control+s")
    wait_saved(page)
    assert not Annotation.objects.filter(image=image, is_proposal=True).exists()
    assert page.locator(".lbl-item.is-proposal").count() == 0


def teammate_saves_a_square(image, teammate, car) -> np.ndarray:
    """Someone else saves the image while the editor has it open; returns their mask."""
    theirs = np.zeros((H, W), np.uint8)
    theirs[5:15, 5:15] = 1
    services.annotation_document_save(
        image=image, user=teammate, version=image.annotation_version,
        annotations=[{"label_class": car.id, "mask": masks.encode(theirs), "z_order": 0}],
    )
    return theirs


def test_it_keeps_the_users_work_on_conflict_and_overwrites_on_keep_mine(login_page, live_server, owner, teammate, car, road, make_image):
    image = make_image(W, H)
    page = login_page(owner)
    open_editor(page, live_server, image)
    page.keyboard.press("0")
    page.keyboard.press("2")
    a, b = stroke(page, (40, 60), (150, 60))
    mine = capsule(a, b, 12)

    teammate_saves_a_square(image, teammate, car)  # meanwhile, on the same image

    page.keyboard.press("Control+s")
    banner = page.locator(".lbl-banner")
    banner.wait_for(state="visible")
    assert "Someone else saved" in banner.inner_text()
    assert page.locator(".lbl-status").get_attribute("data-save-state") == "conflict"
    road_key = keys_by_class(page)[str(road.id)][0]
    assert np.array_equal(in_browser_mask(page, road_key), mine)  # nothing lost

    page.locator("[data-action='keep-mine']").click()
    wait_saved(page)
    stored = server_masks(owner, image)
    assert [a["label_class"] for a in stored] == [road.id]
    assert np.array_equal(bitmap(stored[0]), mine)


def test_it_reloads_theirs_on_request(login_page, live_server, owner, teammate, car, road, make_image):
    image = make_image(W, H)
    page = login_page(owner)
    open_editor(page, live_server, image)
    page.keyboard.press("2")
    stroke(page, (40, 60), (150, 60))
    theirs = teammate_saves_a_square(image, teammate, car)
    page.keyboard.press("Control+s")
    page.locator(".lbl-banner").wait_for(state="visible")
    page.on("dialog", lambda d: d.accept())
    page.locator("[data-action='reload-theirs']").click()
    wait_saved(page)
    groups = keys_by_class(page)
    assert list(groups) == [str(car.id)]
    assert np.array_equal(in_browser_mask(page, groups[str(car.id)][0]), theirs)


def test_box_assist_shows_the_servers_message_when_the_model_is_asked_for_and_none_exists(login_page, live_server, owner, car, make_image):
    image = make_image(W, H)
    page = login_page(owner)
    open_editor(page, live_server, image)
    page.select_option("[data-control='assist-method']", "model")
    page.keyboard.press("1")
    page.keyboard.press("x")
    stroke(page, (30, 30), (90, 80), steps=4)
    toast = page.locator(".lbl-toast.is-error")
    toast.wait_for(state="visible")
    assert "no model version" in toast.inner_text()
    assert page.locator(".lbl-item").count() == 0


def test_fill_closes_a_ring_and_navigation_saves_before_leaving(login_page, live_server, owner, car, make_image):
    first = make_image(W, H)
    second = make_image(W, H)
    ring = np.zeros((H, W), np.uint8)
    ring[40:100, 50:130] = 1
    ring[50:90, 60:120] = 0  # a closed outline with a hole
    services.annotation_document_save(image=first, user=owner, version=0, annotations=[
        {"label_class": car.pk, "mask": masks.encode(ring)}])
    page = login_page(owner)
    open_editor(page, live_server, first)
    page.evaluate("() => window.labelerEditor.editor.doc.select(window.labelerEditor.editor.doc.list()[0].key)")
    page.keyboard.press("g")
    click_at(page, 90, 70)
    filled = np.zeros((H, W), np.uint8)
    filled[40:100, 50:130] = 1
    (key,) = [i for ids in keys_by_class(page).values() for i in ids]
    assert np.array_equal(in_browser_mask(page, key), filled)
    page.keyboard.press("d")  # saves, then opens the next image
    page.wait_for_url(f"**/images/{second.id}/edit/")
    (stored,) = server_masks(owner, first)
    assert np.array_equal(bitmap(stored), filled)
    assert not page.js_errors


def test_shift_d_opens_the_most_uncertain_unlabeled_image(login_page, live_server, owner, car, make_image):
    from annotations.models import Image

    images = [make_image(W, H) for _ in range(3)]
    Image.objects.filter(pk=images[1].pk).update(uncertainty=0.1)
    Image.objects.filter(pk=images[2].pk).update(uncertainty=0.8)
    page = login_page(owner)
    open_editor(page, live_server, images[0])
    page.keyboard.press("Shift+D")
    page.wait_for_url(f"**/images/{images[2].id}/edit/")


def _editor_with_an_unsaved_car_stroke(login_page, live_server, owner, make_image):
    """A new image open in the editor with one brush stroke of class 1 (car), not saved yet."""
    image = make_image(W, H)
    page = login_page(owner)
    open_editor(page, live_server, image)
    page.keyboard.press("1")
    page.keyboard.press("b")
    stroke(page, (30, 30), (80, 60))
    return page, image


def test_leaving_with_unsaved_work_asks_first(login_page, live_server, owner, car, make_image):
    page, _ = _editor_with_an_unsaved_car_stroke(login_page, live_server, owner, make_image)
    dialogs: list[str] = []

    def dismiss(dialog):
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.close(run_before_unload=True)
    page.wait_for_timeout(300)
    assert dialogs == ["beforeunload"]


def test_it_saves_by_itself_a_few_seconds_after_the_last_edit(login_page, live_server, owner, car, make_image):
    page, image = _editor_with_an_unsaved_car_stroke(login_page, live_server, owner, make_image)
    assert server_masks(owner, image) == []
    wait_saved(page)  # no Ctrl+S: the idle autosave
    (stored,) = server_masks(owner, image)
    (key,) = [i for ids in keys_by_class(page).values() for i in ids]
    assert np.array_equal(bitmap(stored), in_browser_mask(page, key))


def test_the_keys_buttons_and_help_all_follow_the_keymap(login_page, live_server, owner, car, make_image):
    image = make_image(W, H)
    page = login_page(owner)
    open_editor(page, live_server, image)
    page.keyboard.press("?")
    help_box = page.locator(".lbl-help")
    help_box.wait_for(state="visible")
    assert "Ctrl+Shift+Z / Ctrl+Y" in help_box.inner_text()
    page.keyboard.press("Escape")
    assert help_box.count() == 0

    polygon = page.locator("[data-tool='polygon']")
    assert polygon.get_attribute("title") == "Polygon (P)"
    polygon.click()
    assert "is-active" in (polygon.get_attribute("class") or "")
    page.keyboard.press("0")
    page.keyboard.press("1")
    for x, y in [(30, 30), (90, 30), (90, 90)]:
        click_at(page, x, y)
    page.keyboard.press("Enter")  # closes the polygon
    assert page.locator(".lbl-item").count() == 1
    assert page.locator("[data-action='undo']").is_enabled()
    page.keyboard.press("Control+z")
    assert page.locator(".lbl-item").count() == 0
    assert page.locator("[data-action='undo']").is_disabled()
    assert not page.js_errors

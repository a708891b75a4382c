"""The editor's delta saves in a real browser: a save sends only what changed (one edited mask
among many, one deletion, one reorder), the server keeps every other row as it was, a reload shows
the stored masks pixel for pixel, and two tabs saving deltas on the same version meet the 409 rule.
"""
from __future__ import annotations

import numpy as np
import pytest

from annotations import masks, services
from annotations.models import Annotation

from .conftest import open_editor, wait_saved
from .test_editor import H, W, bitmap, capsule, in_browser_mask, server_masks, stroke

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

N = 30


def _grid(image, owner, car) -> list[int]:
    """N small car rectangles in a grid, saved by `owner`; their ids in z-order."""
    items = []
    for i in range(N):
        bm = np.zeros((H, W), np.uint8)
        x, y = (i % 6) * 32 + 2, (i // 6) * 28 + 2
        bm[y: y + 10, x: x + 14] = 1
        items.append({"label_class": car.pk, "mask": masks.encode(bm), "z_order": i})
    return services.annotation_document_save(image=image, user=owner, version=0, annotations=items).saved_ids


def _record_saves(page) -> list[tuple[str, dict]]:
    sent: list[tuple[str, dict]] = []
    page.on("request", lambda r: sent.append((r.method, r.post_data_json))
            if r.url.endswith("/annotations/") and r.method in ("PUT", "PATCH") else None)
    return sent


@pytest.fixture
def second_tab(browser, live_server, editor_bundle):
    """open(user) -> a page in a browser context of its own, logged in through a client of its own
    (logging another user into the shared test client would end the first user's session)."""
    from django.test import Client

    contexts = []

    def open_as(user):
        client = Client()
        client.force_login(user)
        context = browser.new_context(viewport={"width": 1400, "height": 860}, device_scale_factor=1)
        host = live_server.url.split("//", 1)[1].split(":")[0]
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "domain": host, "path": "/"}])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.js_errors = []  # type: ignore[attr-defined]
        page.on("pageerror", lambda exc: page.js_errors.append(str(exc)))
        return page

    yield open_as
    for context in contexts:
        context.close()


def _key_of(page, annotation_id: int) -> int:
    return page.evaluate("(id) => window.labelerEditor.editor.doc.list().find((i) => i.id === id).key", annotation_id)


def _select(page, annotation_id: int) -> int:
    key = _key_of(page, annotation_id)
    page.evaluate("(k) => window.labelerEditor.editor.doc.select(k)", key)
    return key


def _rows(image):
    return {pk: rest for pk, *rest in Annotation.objects.filter(image=image).values_list(
        "id", "rle_counts", "z_order", "is_proposal", "author_id", "updated_at")}


def _assert_browser_shows_the_server(page, owner, image) -> None:
    stored = server_masks(owner, image)
    shown = page.evaluate("() => window.labelerEditor.editor.doc.list().map((i) => [i.id, i.key])")
    assert sorted(i for i, _ in shown) == sorted(a["id"] for a in stored)
    keys = dict(shown)
    for annotation in stored:
        assert np.array_equal(in_browser_mask(page, keys[annotation["id"]]), bitmap(annotation))


def test_editing_one_mask_among_many_sends_only_that_mask(login_page, live_server, owner, car, make_image):
    image = make_image(W, H)
    ids = _grid(image, owner, car)
    before = _rows(image)
    page = login_page(owner)
    sent = _record_saves(page)
    open_editor(page, live_server, image)
    page.keyboard.press("0")
    target = ids[7]  # x 34..48, y 30..40
    key = _select(page, target)
    page.keyboard.press("b")
    a, b = stroke(page, (41, 35), (41, 70), steps=6)
    expected = bitmap(next(x for x in server_masks(owner, image) if x["id"] == target)) | capsule(a, b, 12)
    assert np.array_equal(in_browser_mask(page, key), expected)

    page.keyboard.press("Control+s")
    wait_saved(page)
    assert [method for method, _ in sent] == ["PATCH"]
    body = sent[0][1]
    assert body["version"] == 1 and body["delete"] == []
    assert [(u["id"], sorted(u)) for u in body["upsert"]] == [(target, ["id", "mask"])]
    after = _rows(image)
    assert {pk: row for pk, row in after.items() if pk != target} == {pk: row for pk, row in before.items() if pk != target}
    assert np.array_equal(masks.decode({"size": [H, W], "counts": after[target][0]}), expected)
    image.refresh_from_db()
    assert image.annotation_version == 2

    page.reload()
    page.wait_for_selector("#editor[data-ready='true']")
    _assert_browser_shows_the_server(page, owner, image)
    assert page.js_errors == []


def test_deleting_one_sends_its_id_and_nothing_else(login_page, live_server, owner, car, make_image):
    image = make_image(W, H)
    ids = _grid(image, owner, car)
    before = _rows(image)
    page = login_page(owner)
    sent = _record_saves(page)
    open_editor(page, live_server, image)
    _select(page, ids[12])
    page.keyboard.press("Delete")
    assert page.locator(".lbl-instances").get_attribute("data-rows") == str(N - 1)
    page.keyboard.press("Control+s")
    wait_saved(page)
    assert sent == [("PATCH", {"version": 1, "upsert": [], "delete": [ids[12]]})]
    assert _rows(image) == {pk: row for pk, row in before.items() if pk != ids[12]}
    page.reload()
    page.wait_for_selector("#editor[data-ready='true']")
    _assert_browser_shows_the_server(page, owner, image)


def test_reordering_sends_the_new_z_order_without_the_mask(login_page, live_server, owner, car, make_image):
    image = make_image(W, H)
    ids = _grid(image, owner, car)
    page = login_page(owner)
    sent = _record_saves(page)
    open_editor(page, live_server, image)
    key = _key_of(page, ids[0])
    page.evaluate("""(k) => {
        const ed = window.labelerEditor.editor;
        ed.history.commit({label: 'raise', changes: [ed.doc.reorderChange(k, true)]});
        ed.saver.noteEdit();
    }""", key)
    page.keyboard.press("Control+s")
    wait_saved(page)
    assert sent == [("PATCH", {"version": 1, "upsert": [{"id": ids[0], "z_order": N}], "delete": []})]
    assert list(Annotation.objects.filter(image=image).order_by("z_order", "id").values_list("id", flat=True)) == ids[1:] + ids[:1]
    page.reload()
    page.wait_for_selector("#editor[data-ready='true']")
    assert page.evaluate("() => window.labelerEditor.editor.doc.list().map((i) => i.id)") == ids[1:] + ids[:1]
    _assert_browser_shows_the_server(page, owner, image)


def test_two_tabs_saving_deltas_on_one_version_meet_the_409_and_nothing_is_lost(
    login_page, second_tab, live_server, owner, teammate, car, make_image,
):
    image = make_image(W, H)
    ids = _grid(image, owner, car)
    mine_tab, their_tab = login_page(owner), second_tab(teammate)
    open_editor(mine_tab, live_server, image)
    open_editor(their_tab, live_server, image)
    for tab in (mine_tab, their_tab):
        tab.keyboard.press("0")

    # The teammate grows one rectangle and saves first.
    their_key = _select(their_tab, ids[1])
    their_tab.keyboard.press("b")
    stroke(their_tab, (41, 5), (41, 22), steps=4)
    their_tab.keyboard.press("Control+s")
    wait_saved(their_tab)
    theirs = in_browser_mask(their_tab, their_key)

    # This tab, still on version 1, deletes another one and grows a third: refused whole.
    _select(mine_tab, ids[4])
    mine_tab.keyboard.press("Delete")
    mine_key = _select(mine_tab, ids[8])
    mine_tab.keyboard.press("b")
    stroke(mine_tab, (105, 35), (105, 55), steps=4)
    mine = in_browser_mask(mine_tab, mine_key)
    stored_before = server_masks(owner, image)
    mine_tab.keyboard.press("Control+s")
    banner = mine_tab.locator(".lbl-banner")
    banner.wait_for(state="visible")
    assert "saved by someone else" in banner.inner_text()
    assert mine_tab.locator(".lbl-status").get_attribute("data-save-state") == "conflict"
    assert server_masks(owner, image) == stored_before  # nothing of the stale delta landed
    assert np.array_equal(in_browser_mask(mine_tab, mine_key), mine)  # and nothing of mine is lost
    assert mine_tab.locator(".lbl-instances").get_attribute("data-rows") == str(N - 1)

    # Keep mine: the whole document replaces theirs, on their version.
    mine_tab.locator("[data-action='keep-mine']").click()
    wait_saved(mine_tab)
    stored = {a["id"]: a for a in server_masks(owner, image)}
    assert ids[4] not in stored and len(stored) == N - 1
    assert np.array_equal(bitmap(stored[ids[8]]), mine)
    # Their growth of ids[1] is replaced by this tab's copy (the choice the person made).
    assert not np.array_equal(bitmap(stored[ids[1]]), theirs)

    # The teammate's next delta is on a stale version now: a conflict, and reload theirs shows the result.
    their_tab.keyboard.press("b")
    _select(their_tab, ids[2])
    stroke(their_tab, (70, 5), (70, 20), steps=3)
    their_tab.keyboard.press("Control+s")
    their_tab.locator(".lbl-banner").wait_for(state="visible")
    their_tab.on("dialog", lambda d: d.accept())
    their_tab.locator("[data-action='reload-theirs']").click()
    wait_saved(their_tab)
    _assert_browser_shows_the_server(their_tab, teammate, image)
    assert mine_tab.js_errors == [] and their_tab.js_errors == []

"""The editor's History panel in a real browser: who saved each version, an earlier revision shown
read-only, and restoring it (the editor reloads it as a new version, pixel-exact); the editor's
ground-truth mode opens the image's ground truth, not the work."""
from __future__ import annotations

import numpy as np
import pytest

from annotations import masks, quality, services
from annotations.models import DocumentRevision

from .conftest import image_point, open_editor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def rect(image, x0, y0, x1, y1) -> dict:
    bitmap = np.zeros((image.height, image.width), np.uint8)
    bitmap[y0:y1, x0:x1] = 1
    return masks.encode(bitmap)


def test_an_earlier_revision_is_shown_read_only_and_restored_from_the_editor(login_page, live_server, owner, teammate, image, car):
    first = services.annotation_document_save(image=image, user=teammate, version=0, annotations=[
        {"label_class": car.pk, "mask": rect(image, 4, 4, 30, 30)}, {"label_class": car.pk, "mask": rect(image, 40, 10, 60, 40)},
    ])
    services.annotation_document_save(image=image, user=owner, version=1, annotations=[
        {"id": first.saved_ids[0], "label_class": car.pk, "mask": rect(image, 4, 4, 10, 10)},
    ])
    page = login_page(teammate)
    open_editor(page, live_server, image)
    rows = page.locator("[data-history] li[data-revision]")
    rows.nth(1).wait_for()
    assert rows.count() == 2
    assert rows.nth(0).text_content().startswith("v2 · olivia")
    assert rows.nth(1).text_content().startswith("v1 · tom") and "2 annotations" in rows.nth(1).text_content()
    assert page.evaluate("window.labelerEditor.editor.doc.list().length") == 1
    rows.nth(1).locator("[data-action=history-view]").click()
    canvas = page.locator('canvas[data-history-canvas="1"]')
    canvas.wait_for()
    # the preview paints v1's second car (x 40..60) in the class colour; the editable document is untouched
    tinted = canvas.evaluate("""c => { const s = c.width / 64; const p = c.getContext('2d').getImageData(Math.round(50 * s), Math.round(25 * s), 1, 1).data;
                                   return p[0] > 120 && p[1] < 120; }""")
    assert tinted
    assert page.evaluate("window.labelerEditor.editor.doc.list().length") == 1
    page.locator("[data-action=history-restore]").click()
    page.wait_for_selector(".lbl-toast:has-text('Restored version 1')")
    assert page.evaluate("window.labelerEditor.editor.doc.list().length") == 2
    assert page.evaluate("window.labelerEditor.editor.doc.version") == 3
    keys = page.evaluate("window.labelerEditor.editor.doc.list().map(i => i.key)")
    restored = sorted(page.evaluate(f"window.labelerEditor.maskRle({k}).counts") for k in keys)
    assert restored == sorted([rect(image, 4, 4, 30, 30)["counts"], rect(image, 40, 10, 60, 40)["counts"]])
    page.locator("[data-history] li[data-version='3']").wait_for()
    assert page.locator("[data-history] li[data-revision]").nth(0).text_content().startswith("v3 · tom")
    assert DocumentRevision.objects.filter(image=image).count() == 3
    image.refresh_from_db()
    assert image.annotation_version == 3
    assert page.js_errors == []


def test_a_restore_waits_until_unsaved_work_is_saved(login_page, live_server, teammate, image, car):
    services.annotation_document_save(image=image, user=teammate, version=0, annotations=[{"label_class": car.pk, "mask": rect(image, 4, 4, 30, 30)}])
    services.annotation_document_save(image=image, user=teammate, version=1, annotations=[])
    page = login_page(teammate)
    open_editor(page, live_server, image)
    page.locator("[data-history] li[data-version='1'] [data-action=history-view]").click()
    page.locator("[data-action=history-restore]").wait_for()
    x, y = image_point(page, 40, 30)  # a real brush stroke: unsaved work (autosave waits 4 s of quiet)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 20, y + 5, steps=4)
    page.mouse.up()
    assert page.evaluate("window.labelerEditor.editor.saver.hasUnsavedWork")
    page.locator("[data-action=history-restore]").click()
    page.wait_for_selector(".lbl-toast:has-text('Save or undo your changes')")
    image.refresh_from_db()
    assert image.annotation_version == 2


def test_the_editor_opens_the_ground_truth_of_a_sample_image_for_an_owner(login_page, live_server, owner, project, image, car):
    quality.ground_truth_sample_mark(project=project, user=owner, percent=50, seed=0)
    image.refresh_from_db()
    services.annotation_document_save(image=image, user=owner, version=0, annotations=[{"label_class": car.pk, "mask": rect(image, 1, 1, 9, 9)}],
                                      ground_truth=True)
    page = login_page(owner)
    page.goto(f"{live_server.url}/projects/{project.pk}/images/{image.pk}/edit/?set=ground_truth")
    page.wait_for_selector("#editor[data-ready='true']")
    assert page.locator("#editor.lbl-ground-truth").count() == 1
    assert page.evaluate("window.labelerEditor.editor.doc.list().length") == 1
    assert page.evaluate("window.labelerEditor.editor.doc.version") == 1
    assert image.annotations.count() == 0  # the work is empty
    page.locator("[data-history] li[data-version='1']").wait_for()
    assert page.js_errors == []

"""How the editor's open is cut into tasks (issue 17: no task over 50 ms while it opens), checked in
a real browser by what the page holds at its own events, not by timing: the editor's module starts
the requests and leaves building its elements to a later task, so the module's evaluation, the end
of parsing and the first layout of the editor's page are not one long task; and the instance list,
built in slices (a short first one), still ends with every row, in order, each one selecting its mask.
"""
from __future__ import annotations

import numpy as np
import pytest

from .conftest import open_editor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# DOMContentLoaded fires in the task that ran the module scripts, as parsing finishes.
AT_PARSED = """
document.addEventListener('DOMContentLoaded', () => {
  window.__atParsed = {
    stage: document.querySelector('#editor .lbl-stage') !== null,
    requested: performance.getEntriesByType('resource').map((e) => e.name)
      .concat(window.__fetched || []).filter((u) => u.includes('/api/')).length,
  };
});
const realFetch = window.fetch;
window.__fetched = [];
window.fetch = (input, init) => { window.__fetched.push(String(input instanceof Request ? input.url : input)); return realFetch(input, init); };
"""


def test_the_editor_starts_its_requests_in_the_module_and_builds_its_elements_in_a_later_task(login_page, live_server, owner, make_image):
    image = make_image(640, 480)
    page = login_page(owner)
    page.add_init_script(AT_PARSED)
    open_editor(page, live_server, image)
    at_parsed = page.evaluate("() => window.__atParsed")
    assert at_parsed["stage"] is False  # not built in the module's own task
    assert at_parsed["requested"] >= 3  # the project, the image and its document were already asked for
    assert page.locator("#editor .lbl-stage").count() == 1
    assert page.locator(".lbl-palette .lbl-class").count() >= 1  # and the chrome follows once open
    assert page.js_errors == []


def test_a_long_instance_list_built_in_slices_ends_with_every_row_in_order_and_a_far_row_selects_its_mask(login_page, live_server, owner, car, make_image):
    """The list's first slice is short (what the panel shows), the rest come in later tasks."""
    from annotations import masks, services

    n = 150
    image = make_image(640, 480)
    rows = []
    for i in range(n):
        bm = np.zeros((480, 640), np.uint8)
        x, y = (i % 15) * 40 + 5, (i // 15) * 45 + 5
        bm[y:y + 30, x:x + 30] = 1
        rows.append({"label_class": car.pk, "mask": masks.encode(bm), "z_order": i})
    services.annotation_document_save(image=image, user=owner, version=0, annotations=rows)
    page = login_page(owner)
    open_editor(page, live_server, image)
    page.wait_for_function(f"() => document.querySelectorAll('.lbl-item').length === {n}")
    shown = page.evaluate("() => Array.from(document.querySelectorAll('.lbl-item')).map((r) => Number(r.dataset.key))")
    expected = page.evaluate("() => window.labelerEditor.editor.doc.list().map((a) => a.key).reverse()")
    assert shown == expected  # newest on top, each annotation once
    far = page.locator(".lbl-item").nth(130)
    key = int(far.get_attribute("data-key"))
    far.scroll_into_view_if_needed()
    far.click()
    assert page.evaluate("() => window.labelerEditor.editor.doc.selectedKey") == key
    assert page.locator(f".lbl-item[data-key='{key}']").get_attribute("class").count("is-selected") == 1
    assert page.js_errors == []

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


def test_a_long_instance_list_is_virtualised_in_order_and_a_far_row_scrolls_in_and_selects_its_mask(login_page, live_server, owner, car, make_image):
    """Only the rows in (or near) the side panel's view exist; the list's padding stands for the
    others, so row i sits i x ROW_PX below the list's top, newest on top, and scrolling the panel
    brings in the rows it shows."""
    from annotations import masks, services

    n, row_px = 300, 34
    image = make_image(640, 480)
    rows = []
    for i in range(n):
        bm = np.zeros((480, 640), np.uint8)
        x, y = (i % 15) * 40 + 5, (i // 20) * 30 + 2
        bm[y:y + 20, x:x + 30] = 1
        rows.append({"label_class": car.pk, "mask": masks.encode(bm), "z_order": i})
    services.annotation_document_save(image=image, user=owner, version=0, annotations=rows)
    page = login_page(owner)
    open_editor(page, live_server, image)
    page.wait_for_selector(f".lbl-instances[data-rows='{n}']")
    expected = page.evaluate("() => window.labelerEditor.editor.doc.list().map((a) => a.key).reverse()")
    geometry = """() => {
        const list = document.querySelector('.lbl-instances');
        const top = list.getBoundingClientRect().top;
        return Array.from(list.querySelectorAll('.lbl-item')).map((r) => [Number(r.dataset.key), r.getBoundingClientRect().top - top, r.offsetHeight]);
    }"""
    shown = page.evaluate(geometry)
    assert 10 <= len(shown) <= 60  # a screen of rows and the overscan, not 300
    first = expected.index(shown[0][0])
    assert [k for k, _, _ in shown] == expected[first:first + len(shown)]  # newest on top, in order
    assert all(top == (first + i) * row_px and height == row_px for i, (_, top, height) in enumerate(shown))
    assert page.evaluate("() => document.querySelector('.lbl-instances').offsetHeight") == n * row_px

    # The panel scrolled to the 231st row: it is built, clicked, selected.
    page.evaluate(f"""() => {{
        const side = document.querySelector('.lbl-side'), list = document.querySelector('.lbl-instances');
        side.scrollTop += list.getBoundingClientRect().top - side.getBoundingClientRect().top + 230 * {row_px} - 40;
    }}""")
    far = page.locator(f".lbl-item[data-key='{expected[230]}']")
    far.wait_for()
    assert page.locator(".lbl-item").count() <= 60
    far.click()
    assert page.evaluate("() => window.labelerEditor.editor.doc.selectedKey") == expected[230]
    assert far.get_attribute("class").count("is-selected") == 1
    shown = page.evaluate(geometry)
    first = expected.index(shown[0][0])
    assert [k for k, _, _ in shown] == expected[first:first + len(shown)] and shown[0][1] == first * row_px
    # ... and the oldest annotation is the list's last row at the bottom.
    page.evaluate("() => { const side = document.querySelector('.lbl-side'); side.scrollTop = side.scrollHeight; }")
    page.locator(f".lbl-item[data-key='{expected[-1]}']").wait_for()
    assert page.js_errors == []

"""How the editor's open is cut into tasks (issue 17: no task over 50 ms while it opens), checked in
a real browser by what the page holds at its own events, not by timing: the editor's module starts
the requests and leaves building its elements to a later task, so the module's evaluation, the end
of parsing and the first layout of the editor's page are not one long task.
"""
from __future__ import annotations

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

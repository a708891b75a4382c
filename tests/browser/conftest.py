"""Browser fixtures: headless Chromium (Debian's /usr/bin/chromium) driven by Playwright against
pytest-django's live server, a logged-in page, and helpers to read the editor's state.

The editor and project-page bundles are built from frontend/ when missing or older than their sources.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM must still be usable.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

REPO = Path(__file__).resolve().parents[2]
FRONTEND = REPO / "frontend"
STATIC = REPO / "annotations" / "static" / "editor"
BUNDLE = STATIC / "editor.js"
BUNDLES = (BUNDLE, STATIC / "project.js", STATIC / "team.js", STATIC / "jobs.js", STATIC / "quality.js")
CHROMIUM = os.environ.get("LABELER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _bundle_is_stale() -> bool:
    if not all(b.exists() for b in BUNDLES):
        return True
    built = min(b.stat().st_mtime for b in BUNDLES)
    return any(p.stat().st_mtime > built for p in (FRONTEND / "src").rglob("*") if p.is_file())


@pytest.fixture(scope="session")
def editor_bundle() -> Path:
    if _bundle_is_stale():
        npm = shutil.which("npm")
        if npm is None or not (FRONTEND / "node_modules").exists():
            pytest.fail("the frontend bundles are missing or stale: run `cd frontend && npm ci && npm run build`")
        subprocess.run([npm, "run", "build"], cwd=FRONTEND, check=True, capture_output=True)
    return BUNDLE


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # launch() gives every run a fresh temporary profile (user-data-dir) and removes it after.
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def login_page(browser, live_server, client, editor_bundle):
    """Returns open(user) -> a Playwright page whose context carries that user's session."""
    contexts = []

    def open_as(user):
        # A client of its own per user: logging a second user into one client flushes the first one's session.
        from django.test import Client

        own = Client()
        own.force_login(user)
        session = own.cookies["sessionid"].value
        context = browser.new_context(viewport={"width": 1400, "height": 860}, device_scale_factor=1)
        host = live_server.url.split("//", 1)[1].split(":")[0]
        context.add_cookies([{"name": "sessionid", "value": session, "domain": host, "path": "/"}])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.js_errors = errors  # type: ignore[attr-defined]
        # Every browser test runs under the Content-Security-Policy: anything it blocks fails the test.
        page.on("console", lambda msg: msg.type == "error" and "Content Security Policy" in msg.text and violations.append(msg.text))
        return page

    violations: list[str] = []
    yield open_as
    for context in contexts:
        context.close()
    assert not violations, f"the Content-Security-Policy blocked: {violations}"


def open_editor(page, live_server, image) -> None:
    page.goto(f"{live_server.url}/projects/{image.project_id}/images/{image.id}/edit/")
    page.wait_for_selector("#editor[data-ready='true']")


def image_point(page, x: float, y: float) -> tuple[float, float]:
    p = page.evaluate("([x, y]) => window.labelerEditor.imageToClient(x, y)", [x, y])
    return p["x"], p["y"]


def client_to_image(page, cx: float, cy: float) -> tuple[float, float]:
    """The image coordinates the editor computes for a pointer at (cx, cy)."""
    p = page.evaluate(
        """([cx, cy]) => {
            const ed = window.labelerEditor.editor;
            const r = document.querySelector('.lbl-stage').getBoundingClientRect();
            return ed.view.toImage(cx - r.left, cy - r.top);
        }""",
        [cx, cy],
    )
    return p["x"], p["y"]


def wait_saved(page) -> None:
    page.wait_for_selector(".lbl-status[data-save-state='saved']")

"""Writes docs/team-projects.png, docs/team-grid.png and docs/team-classes.png (the README's "Team
pages" screenshots). Not part of the suite (no test_ prefix):

    .venv/bin/python -m pytest tests/browser/docs_team_screenshots.py
"""
from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage, ImageDraw

from annotations import ingest, services
from annotations.models import Image

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DOCS = Path(__file__).resolve().parents[2] / "docs"


def _scene(seed: int) -> bytes:
    rng = random.Random(seed)
    img = PILImage.new("RGB", (320, 240), (120 + rng.randrange(60), 160 + rng.randrange(40), 200))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 150, 320, 240], fill=(90 + rng.randrange(30), 95, 90))
    for _ in range(rng.randrange(1, 4)):
        x, y = rng.randrange(10, 250), rng.randrange(120, 190)
        d.rectangle([x, y, x + rng.randrange(40, 70), y + rng.randrange(20, 35)], fill=tuple(rng.randrange(40, 220) for _ in range(3)))
    arr = np.asarray(img, np.uint8)
    buf = io.BytesIO()
    PILImage.fromarray(arr).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def test_it_writes_the_team_screenshots(login_page, live_server, owner, teammate, django_user_model, project):
    reviewer = django_user_model.objects.create_user(username="rita", password="x-pass-123")
    services.membership_set(project=project, user=reviewer, role="reviewer")
    project.description = "Dashcam frames, Q3"
    project.save()
    for name, kind, color, key in (("car", "instance", "#ff6b35", "1"), ("person", "instance", "#4dabf7", "2"),
                                   ("road", "semantic", "#9775fa", "3"), ("sky", "semantic", "#63e6be", "4")):
        services.label_class_create(project=project, name=name, kind=kind, color=color, hotkey=key)
    files = [(f"frame_{i:04d}.jpg", io.BytesIO(_scene(i))) for i in range(18)]
    images = ingest.images_import(project=project, user=owner, files=files).created  # thumbnails run in-process
    rng = random.Random(7)
    for i, image in enumerate(Image.objects.filter(project=project).order_by("pk")):
        Image.objects.filter(pk=image.pk).update(
            status=["reviewed", "done", "in_progress", "new"][min(3, i // 4)], assignee=[teammate, reviewer, None][i % 3],
            split=["train", "val"][i % 2], uncertainty=round(rng.random(), 2))
    other = services.project_create(name="Harbour cranes", owner=owner, description="drone survey")
    services.membership_set(project=other, user=teammate, role="annotator")
    assert images
    page = login_page(owner)
    page.goto(f"{live_server.url}/")
    page.wait_for_selector("[data-team-page][data-ready='true']")
    page.screenshot(path=str(DOCS / "team-projects.png"), full_page=True)
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    page.wait_for_function("() => { const imgs = [...document.querySelectorAll('[data-grid] .tile img')];"
                           " return imgs.length === 18 && imgs.every(i => i.complete && i.naturalWidth > 0); }")
    for tile in page.locator("[data-grid] .tile input.pick").all()[:3]:
        tile.check()
    page.set_viewport_size({"width": 1400, "height": 900})
    page.screenshot(path=str(DOCS / "team-grid.png"))
    page.goto(f"{live_server.url}/projects/{project.pk}/classes/")
    page.wait_for_selector("[data-team-page][data-ready='true']")
    form = page.locator('form[data-action="create-class"]')
    form.locator("input[name=name]").fill("bike")
    form.locator("input[name=hotkey]").fill("1")
    form.locator("button").click()
    page.wait_for_function("() => document.querySelector('form[data-action=\"create-class\"] output').textContent.includes('hotkey')")
    page.screenshot(path=str(DOCS / "team-classes.png"), full_page=True)

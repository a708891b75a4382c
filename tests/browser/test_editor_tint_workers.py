"""Tints made by the tint workers (frontend/src/render/tint-worker.ts) in a real browser: the mask
layer shows the same pixels as when every tint is made on the main thread (`?tint=main`), at fit
(level tints), at 1:1 (full-resolution tints, re-made by the workers after the zoom), back at fit
(the kept level tints, nothing re-made) and after a brush stroke on a mask whose tint came from a
worker; and the workers really made them.
"""
from __future__ import annotations

import numpy as np
import pytest

from annotations import masks, services
from annotations.models import ModelVersion

from .conftest import image_point, open_editor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

W, H = 2400, 1600
N = 40


def _seed(image, owner, car, person) -> None:
    """N ellipses of two instance classes, every fourth one a model proposal."""
    rng = np.random.default_rng(5)
    human, proposals = [], []
    model = ModelVersion.objects.create(project=image.project, name="m1", architecture="maskrcnn")
    for i in range(N):
        rx, ry = int(rng.integers(30, 260)), int(rng.integers(30, 200))
        cx, cy = int(rng.integers(rx, W - rx)), int(rng.integers(ry, H - ry))
        yy, xx = np.mgrid[0:H, 0:W]
        bm = ((((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2) <= 1).astype(np.uint8)
        cls = car if i % 2 else person
        if i % 4 == 0:
            proposals.append(services.Proposal(label_class_id=cls.pk, rle=masks.encode(bm), score=0.9))
        else:
            human.append({"label_class": cls.pk, "mask": masks.encode(bm), "z_order": i})
    services.annotation_document_save(image=image, user=owner, version=0, annotations=human)
    services.proposals_replace(image=image, model_version=model, proposals=proposals)


MASK_LAYER = """async () => {
    const ed = window.labelerEditor.editor;
    await ed.masksShown;
    await ed.renderer.settled();
    const c = document.querySelector('.lbl-layer-masks');
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let painted = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i]) painted++;
    const digest = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', data))).map((b) => b.toString(16).padStart(2, '0')).join('');
    return {digest, painted, workers: ed.renderer.tintWorkerCount, workerTints: ed.renderer.workerTints, scale: ed.view.scale};
}"""


def _open(page, live_server, image, query: str = "") -> dict:
    page.goto(f"{live_server.url}/projects/{image.project_id}/images/{image.id}/edit/{query}")
    page.wait_for_selector("#editor[data-ready='true']")
    return page.evaluate(MASK_LAYER)


def _key(page, key: str) -> dict:
    page.keyboard.press(key)
    return page.evaluate(MASK_LAYER)


@pytest.fixture
def person(project):
    return services.label_class_create(project=project, name="person", kind="instance", color="#1c7ed6", hotkey="4")


def test_worker_tints_show_the_same_pixels_as_main_thread_tints_at_fit_and_at_one_to_one(login_page, live_server, owner, car, person, make_image):
    image = make_image(W, H)
    _seed(image, owner, car, person)
    worker_page, main_page = login_page(owner), login_page(owner)
    fit = _open(worker_page, live_server, image)
    fit_main = _open(main_page, live_server, image, "?tint=main")
    assert fit["workers"] >= 1 and fit["workerTints"] == N  # every mask was tinted by a worker
    assert fit_main["workers"] == 0 and fit_main["workerTints"] == 0
    assert fit["scale"] < 0.8  # a level tint (one tint pixel per 2x2 or 4x4 image pixels)
    assert fit["painted"] > 10_000
    assert fit["digest"] == fit_main["digest"]

    one = _key(worker_page, "0")
    one_main = _key(main_page, "0")
    assert one["scale"] == 1
    assert one["workerTints"] > N  # the full-resolution tints of the masks in view, made by the workers again
    assert one["painted"] > 10_000
    assert one["digest"] == one_main["digest"]

    # Back to fit: the tints of that level were kept, so nothing is re-made and the layer is as at first.
    back = _key(worker_page, "f")
    back_main = _key(main_page, "f")
    assert back["workerTints"] == one["workerTints"]
    assert back["digest"] == back_main["digest"] == fit["digest"]
    assert not worker_page.js_errors and not main_page.js_errors


def test_a_stroke_on_a_mask_tinted_by_a_worker_draws_as_on_the_main_thread_and_as_a_whole_re_tint(login_page, live_server, owner, car, person, make_image):
    image = make_image(W, H)
    _seed(image, owner, car, person)
    results = []
    for query in ("", "?tint=main"):
        page = login_page(owner)
        _open(page, live_server, image, query)
        # Select the top-most annotation under its own centre, then paint across it with the brush.
        item = page.evaluate("""() => { const ed = window.labelerEditor.editor; const list = ed.doc.list();
            const it = list[list.length - 1]; const r = it.mask.region; return {key: it.key, x: r.x + r.w / 2, y: r.y + r.h / 2, w: r.w}; }""")
        page.evaluate("(k) => window.labelerEditor.editor.doc.select(k)", item["key"])
        page.keyboard.press("b")
        # From outside the mask's region to outside it on the other side: the region grows (twice).
        a = tuple(round(v) for v in image_point(page, item["x"] - item["w"] / 2 - 80, item["y"]))
        b = tuple(round(v) for v in image_point(page, item["x"] + item["w"] / 2 + 80, item["y"] + 40))
        page.mouse.move(*a)
        page.mouse.down()
        page.mouse.move(*b, steps=12)
        page.mouse.up()
        after_stroke = page.evaluate(MASK_LAYER)
        results.append(after_stroke)
        assert page.evaluate("(k) => window.labelerEditor.editor.doc.get(k).mask.decoded", item["key"])  # the stroke edited that mask
        # What the stroke drew piece by piece (the grown region kept its old level pixels) is what a
        # whole re-tint of every mask draws.
        page.evaluate("() => window.labelerEditor.editor.renderer.restyle()")
        assert page.evaluate(MASK_LAYER)["digest"] == after_stroke["digest"]
        assert not page.js_errors
    with_workers, main = results
    assert with_workers["workerTints"] >= N and main["workerTints"] == 0
    assert with_workers["digest"] == main["digest"]

"""Writes docs/models.png (the README's models-page screenshot) from a real run: a fcn-small
version trained on 96-px synthetic shapes, pre-labeling new images that a person then corrects.
Not part of the suite (no test_ prefix):

    .venv/bin/python -m pytest tests/browser/docs_models_screenshot.py
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from annotations import masks, services, training
from annotations.models import Image, Job, ModelVersion

from ..model_support import class_ids, shapes_project
from ..training.support import label_like_a_person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "models.png"


def _correct(image: Image, owner, *, paint: bool) -> None:
    """Accept every proposal (with `paint`, the first with a few pixels painted on) and mark the image done."""
    image.refresh_from_db()
    items = []
    for index, row in enumerate(image.annotations.order_by("id")):
        mask = masks.decode(row.rle).astype(np.uint8)
        if paint and index == 0:
            ys, xs = np.nonzero(mask)
            mask[max(0, ys.min() - 2):ys.min(), xs.min():xs.max()] = 1
        items.append({"id": row.id, "label_class": row.label_class_id, "mask": masks.encode(mask),
                      "is_proposal": False, "z_order": row.z_order})
    services.annotation_document_save(image=image, user=owner, version=image.annotation_version, annotations=items)
    image.refresh_from_db()
    services.image_status_set(image=image, status="done")


def test_it_writes_the_models_page_screenshot(login_page, live_server, owner):
    from workers.ml.device import cpu_threads

    project, truths = shapes_project(owner=owner, n=30, size=(96, 96), seed=11)
    ids = class_ids(project)
    for image_id in list(truths)[:24]:
        label_like_a_person(owner=owner, image=Image.objects.get(pk=image_id), truth=truths[image_id], ids=ids)
    with cpu_threads(2):
        job = training.train_start(project=project, user=owner, params={
            "preset": "fcn-small", "epochs": 12, "lr": 1e-2, "batch_size": 8, "name": "fcn-small-v1"})
        job.refresh_from_db()
        assert job.status == Job.Status.SUCCEEDED, job.message
        version = ModelVersion.objects.get(pk=job.result["model_version"])
        prelabel = training.prelabel_start(project=project, user=owner, version=version, images="unlabeled")
        prelabel.refresh_from_db()
        assert prelabel.status == Job.Status.SUCCEEDED, prelabel.message
    for n, image in enumerate(Image.objects.filter(project=project, status__in=Image.OPEN).order_by("id")[:4]):
        _correct(image, owner, paint=n < 2)
    page = login_page(owner)
    page.set_viewport_size({"width": 1400, "height": 1200})
    page.goto(f"{live_server.url}/projects/{project.pk}/models/")
    page.wait_for_selector("svg.confusion")
    DOCS.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS), full_page=True)
    assert DOCS.stat().st_size > 10_000

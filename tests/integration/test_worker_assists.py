"""The model-free assists through a real redis-server and Celery worker (default queue): GrabCut from
a box, the thin-structure paths for a thin object's box, superpixels made on demand, and a refusal
carried back in the error shape."""
from __future__ import annotations

import numpy as np
import pytest

from annotations import masks
from annotations.superpixels import superpixels_exist

from ..assist_support import iou, store, thin_stripe, two_colour

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]



def test_the_worker_answers_grabcut_and_superpixels(worker, project, owner_api):
    rgb, truth = two_colour()
    image = store(project, rgb)
    response = owner_api.post(f"/api/images/{image.pk}/assist/", {"box": [50, 25, 100, 100]}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["method"] == "grabcut" and iou(masks.decode(response.json()["mask"]), truth) > 0.98
    sp = owner_api.get(f"/api/images/{image.pk}/superpixels/")
    assert sp.status_code == 200 and sp.json()["computed"] and superpixels_exist(image.sha256)


def test_the_worker_answers_a_thin_stripes_box_with_the_paths(worker, project, owner_api):
    rgb, truth, box, points = thin_stripe()
    image = store(project, rgb)
    clicks = [{"x": x, "y": y, "positive": True} for x, y in points[:1]]
    response = owner_api.post(f"/api/images/{image.pk}/assist/", {"box": list(box), "clicks": clicks}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["method"] == "thin" and iou(masks.decode(response.json()["mask"]), truth) >= 0.85
    tiny = owner_api.post(f"/api/images/{image.pk}/assist/", {"box": [5, 5, 4, 4], "method": "thin"}, format="json")
    assert tiny.status_code == 400 and "zero length" in tiny.json()["message"]


def test_the_workers_refusal_reaches_the_editor(worker, project, owner_api):
    image = store(project, np.full((60, 80, 3), 200, np.uint8))
    response = owner_api.post(f"/api/images/{image.pk}/assist/", {"box": [5, 5, 50, 40]}, format="json")
    assert response.status_code == 400 and "no foreground found" in response.json()["message"]

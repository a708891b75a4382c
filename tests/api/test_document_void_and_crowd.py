"""The void region and the crowd flag travel with the annotation document, under its version rule."""
from __future__ import annotations

import numpy as np
import pytest

from annotations import masks, selectors
from annotations.models import DocumentRevision

from .document_support import document_url as _url
from .document_support import rect as _rect

pytestmark = pytest.mark.django_db


def test_it_saves_the_void_region_pixel_exact_and_gives_it_back(teammate_api, image, car):
    void = _rect(image, 0, 0, 64, 3)
    response = teammate_api.put(_url(image), {"version": 0, "annotations": [], "void": masks.encode(void)}, format="json")
    assert response.status_code == 200, response.json()
    body = teammate_api.get(_url(image)).json()
    assert body["version"] == 1
    assert np.array_equal(masks.decode(body["void"]), void)
    image.refresh_from_db()
    assert np.array_equal(masks.decode(selectors.image_void_rle(image)), void)
    assert DocumentRevision.objects.get(image=image, version=1).void_rle_counts == masks.encode(void)["counts"]


def test_a_save_that_leaves_void_out_keeps_it_and_null_clears_it(teammate_api, image, car):
    void = masks.encode(_rect(image, 10, 10, 20, 20))
    teammate_api.put(_url(image), {"version": 0, "annotations": [], "void": void}, format="json")
    teammate_api.put(_url(image), {"version": 1, "annotations": [{"label_class": car.pk, "mask": void}]}, format="json")
    assert teammate_api.get(_url(image)).json()["void"]["counts"] == void["counts"]
    teammate_api.put(_url(image), {"version": 2, "annotations": [], "void": None}, format="json")
    assert teammate_api.get(_url(image)).json()["void"] is None


def test_an_empty_void_mask_is_stored_as_none(teammate_api, image):
    empty = masks.encode(np.zeros((48, 64), np.uint8))
    assert teammate_api.put(_url(image), {"version": 0, "annotations": [], "void": empty}, format="json").status_code == 200
    image.refresh_from_db()
    assert image.void_rle_counts is None and selectors.image_void_rle(image) is None


def test_a_stale_save_of_void_gets_409_and_changes_nothing(owner_api, teammate_api, image):
    first = masks.encode(_rect(image, 0, 0, 5, 5))
    assert owner_api.put(_url(image), {"version": 0, "annotations": [], "void": first}, format="json").status_code == 200
    stale = masks.encode(_rect(image, 30, 30, 40, 40))
    response = teammate_api.put(_url(image), {"version": 0, "annotations": [], "void": stale}, format="json")
    assert response.status_code == 409
    assert teammate_api.get(_url(image)).json()["void"]["counts"] == first["counts"]


def test_a_void_mask_of_the_wrong_size_is_refused_naming_void(teammate_api, image):
    wrong = masks.encode(np.ones((10, 10), np.uint8))
    response = teammate_api.put(_url(image), {"version": 0, "annotations": [], "void": wrong}, format="json")
    assert response.status_code == 400
    assert response.json()["message"].startswith("void: mask size 10x10")


def test_iscrowd_is_saved_and_kept_when_a_later_save_leaves_it_out(teammate_api, image, car):
    mask = masks.encode(_rect(image, 1, 1, 9, 9))
    saved = teammate_api.put(_url(image), {"version": 0, "annotations": [
        {"label_class": car.pk, "mask": mask, "iscrowd": True},
    ]}, format="json").json()
    assert saved["annotations"][0]["iscrowd"] is True
    again = teammate_api.put(_url(image), {"version": 1, "annotations": [
        {"id": saved["saved_ids"][0], "label_class": car.pk, "mask": mask},
    ]}, format="json").json()
    assert again["annotations"][0]["iscrowd"] is True
    cleared = teammate_api.put(_url(image), {"version": 2, "annotations": [
        {"id": saved["saved_ids"][0], "label_class": car.pk, "mask": mask, "iscrowd": False},
    ]}, format="json").json()
    assert cleared["annotations"][0]["iscrowd"] is False
    assert DocumentRevision.objects.get(image=image, version=1).annotations[0]["iscrowd"] is True

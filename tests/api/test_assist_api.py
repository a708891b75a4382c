"""The assist API: box [+ clicks] -> mask without a model (GrabCut, tasks in-process), superpixels,
and every refusal in the one error shape with nothing changed."""
from __future__ import annotations

import numpy as np
import pytest

from annotations import masks
from annotations.models import Annotation
from annotations.superpixels import grid_size, image_labels, level_labels, superpixels_exist

from workers.superpixels import METHOD

from ..assist_support import disk_on_a_mat, iou, store, thin_stripe, two_colour

pytestmark = pytest.mark.django_db


def _assist(api, image_id, **body):
    return api.post(f"/api/images/{image_id}/assist/", body, format="json")


@pytest.fixture
def disk_image(project):
    rgb, truth = two_colour()
    return store(project, rgb), truth


def test_a_box_gives_grabcuts_mask_when_the_project_has_no_model(owner_api, disk_image, car):
    image, truth = disk_image
    response = _assist(owner_api, image.pk, box=[50, 25, 100, 100], label_class=car.pk)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["method"] == "grabcut" and body["model_version"] is None
    assert body["ms"] > 0 and body["latency_ms"] >= body["ms"]
    got = masks.decode(body["mask"])
    assert iou(got, truth) > 0.98 and body["area"] == int(got.sum())


def test_clicks_improve_the_mask(owner_api, project):
    rgb, truth, box, mat = disk_on_a_mat()
    image = store(project, rgb)
    ious = []
    clicks: list[dict] = []
    for click in [None, {"x": mat[0], "y": mat[1], "positive": False}, {"x": 140, "y": 125, "positive": False}]:
        if click:
            clicks.append(click)
        body = _assist(owner_api, image.pk, box=list(box), clicks=clicks).json()
        ious.append(iou(masks.decode(body["mask"]), truth))
    assert ious[0] < 0.5 and ious[-1] > 0.95 and ious == sorted(ious), ious


def test_a_box_around_a_thin_curved_stripe_gets_the_thin_paths_mask_where_grabcut_drowns_it(owner_api, project):
    rgb, truth, box, points = thin_stripe()
    image = store(project, rgb)
    clicks = [{"x": x, "y": y, "positive": True} for x, y in points]
    auto = _assist(owner_api, image.pk, box=list(box), clicks=clicks)
    assert auto.status_code == 200, auto.json()
    assert auto.json()["method"] == "thin" and iou(masks.decode(auto.json()["mask"]), truth) >= 0.85
    forced = _assist(owner_api, image.pk, box=list(box), method="thin").json()
    assert forced["method"] == "thin" and iou(masks.decode(forced["mask"]), truth) >= 0.85
    plain = _assist(owner_api, image.pk, box=list(box), clicks=clicks, method="grabcut").json()
    assert plain["method"] == "grabcut" and iou(masks.decode(plain["mask"]), truth) < 0.85


def test_a_box_around_a_disk_still_gets_grabcut(owner_api, disk_image):
    image, truth = disk_image
    body = _assist(owner_api, image.pk, box=[50, 25, 100, 100], method="auto").json()
    assert body["method"] == "grabcut" and iou(masks.decode(body["mask"]), truth) > 0.98


def test_a_positive_click_outside_the_box_grows_it(owner_api, disk_image):
    image, truth = disk_image
    body = _assist(owner_api, image.pk, box=[60, 35, 40, 80], clicks=[{"x": 130, "y": 75, "positive": True}]).json()
    got = masks.decode(body["mask"])
    assert got[75, 130] and iou(got, truth) > 0.6


def test_a_teammate_may_ask_and_an_outsider_gets_404(teammate_api, outsider_api, disk_image):
    image, _ = disk_image
    assert _assist(teammate_api, image.pk, box=[50, 25, 100, 100]).status_code == 200
    response = _assist(outsider_api, image.pk, box=[50, 25, 100, 100])
    assert response.status_code == 404 and set(response.json()) == {"message", "extra"}


@pytest.mark.parametrize("body, words", [
    ({"box": [250, 10, 20, 20]}, "outside the 200x150 image"),
    ({"box": [-50, -50, 40, 40]}, "outside the 200x150 image"),
    ({"box": [10, 10, 0, 20]}, "empty"),
    ({"box": [10, 10, 30]}, "box"),
    ({"box": [10, 10, 50, 50], "clicks": [{"x": 300, "y": 10, "positive": True}]}, "click 0 at (300, 10) lies outside"),
    ({"box": [10, 10, 50, 50], "clicks": [{"x": 5, "positive": True}]}, "clicks"),
    ({"box": [10, 10, 50, 50], "label_class": 999_999}, "label class 999999 is not a class of this project"),
    ({"box": [10, 10, 50, 50], "method": "magic"}, "method"),
    ({"box": [10, 10, 50, 50], "method": "model"}, "no model version"),
    ({"box": [10, 10, 5, 5], "method": "thin"}, "zero length"),
    ({"box": [10, 10, 50, 50], "method": "thin", "clicks": [{"x": 30, "y": 400, "positive": True}]}, "click 0 at (30, 400) lies outside"),
    ({"box": [10, 10, 50, 50], "method": "thin", "model_version": 1}, "not for method thin"),
])
def test_bad_input_is_refused_in_the_error_shape_and_changes_nothing(owner_api, disk_image, body, words):
    image, _ = disk_image
    response = _assist(owner_api, image.pk, **body)
    assert response.status_code in (400, 409), response.json()
    assert set(response.json()) == {"message", "extra"} and words in str(response.json()), response.json()
    assert Annotation.objects.count() == 0


def test_an_unknown_image_is_404(owner_api):
    response = _assist(owner_api, 987_654, box=[1, 1, 10, 10])
    assert response.status_code == 404 and "message" in response.json()
    assert owner_api.get("/api/images/987654/superpixels/").status_code == 404


def test_a_single_colour_image_says_no_foreground_found(owner_api, project):
    image = store(project, np.full((60, 80, 3), 90, np.uint8))
    response = _assist(owner_api, image.pk, box=[10, 10, 40, 30])
    assert response.status_code == 400 and "no foreground found" in response.json()["message"]
    response = _assist(owner_api, image.pk, box=[10, 10, 40, 30], method="thin")
    assert response.status_code == 400 and "no foreground found" in response.json()["message"]
    sp = owner_api.get(f"/api/images/{image.pk}/superpixels/")
    assert sp.status_code == 200  # one colour is still an image: a few superpixels of it
    assert Annotation.objects.count() == 0


def test_an_image_over_the_pixel_limit_is_refused(owner_api, disk_image, settings):
    image, _ = disk_image
    settings.LABELER_MAX_IMAGE_PIXELS = 10_000
    response = _assist(owner_api, image.pk, box=[50, 25, 100, 100])
    assert response.status_code == 400 and "200x150" in response.json()["message"]
    assert owner_api.get(f"/api/images/{image.pk}/superpixels/").status_code == 400


def test_superpixels_are_made_on_demand_then_served_from_the_file(owner_api, disk_image):
    image, truth = disk_image
    assert not superpixels_exist(image.sha256)
    first = owner_api.get(f"/api/images/{image.pk}/superpixels/")
    assert first.status_code == 200, first.json()
    body = first.json()
    assert body["computed"] and superpixels_exist(image.sha256)
    assert body["method"] == METHOD and body["image_size"] == [150, 200] and body["factor"] == 1
    assert len(body["levels"]) >= 3
    counts = [lv["segments"] for lv in body["levels"]]
    assert counts == sorted(counts) and counts[0] < counts[-1]
    for i in range(len(body["levels"])):
        labels = level_labels(body, i)
        assert labels.shape == (150, 200) and labels.max() + 1 == counts[i]
    # At the finest level the disk's edge is a superpixel edge: the best union of superpixels is the disk
    # to within 2 % of its pixels (the edge pixels SLIC's smoothing blurs).
    labels = level_labels(body, len(counts) - 1)
    inside = np.bincount(labels[truth], minlength=counts[-1])
    total = np.bincount(labels.ravel(), minlength=counts[-1])
    best = np.isin(labels, np.nonzero(inside * 2 > total)[0])
    assert iou(best, truth) > 0.98
    again = owner_api.get(f"/api/images/{image.pk}/superpixels/").json()
    assert not again["computed"] and again["levels"] == body["levels"]


def test_new_uploads_get_superpixels_from_the_thumbnails_job(project, django_capture_on_commit_callbacks):
    rgb, _ = two_colour()
    with django_capture_on_commit_callbacks(execute=True):
        image = store(project, rgb, thumbnails=True)
    assert superpixels_exist(image.sha256)


def test_a_large_image_is_segmented_on_a_bounded_grid_and_maps_back_exactly(owner_api, project):
    h, w = 1000, 2100
    rgb = np.empty((h, w, 3), np.uint8)
    rgb[:, :1050] = (200, 60, 40)
    rgb[:, 1050:] = (30, 80, 190)
    rng = np.random.default_rng(0)
    rgb = np.clip(rgb + rng.normal(0, 6, rgb.shape), 0, 255).astype(np.uint8)
    image = store(project, rgb)
    body = owner_api.get(f"/api/images/{image.pk}/superpixels/").json()
    assert body["factor"] == 3 and body["grid_size"] == list(grid_size(w, h)) == [334, 700]
    grid = level_labels(body, 2)
    full = image_labels(body, 2)
    assert full.shape == (h, w)
    ys, xs = rng.integers(0, h, 500), rng.integers(0, w, 500)
    assert np.array_equal(full[ys, xs], grid[ys // 3, xs // 3])
    # The colour edge at x = 1050 (a block edge) is a superpixel edge at every level.
    for level in range(len(body["levels"])):
        labels = image_labels(body, level)
        assert not np.intersect1d(np.unique(labels[:, :1050]), np.unique(labels[:, 1050:])).size

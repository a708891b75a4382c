"""GET/PUT /api/images/{id}/annotations/: versioned documents, provenance, and bad input."""
from __future__ import annotations

import numpy as np
import pytest

from annotations import masks, services
from annotations.models import Annotation, DocumentRevision, ModelVersion

from .document_support import document_url as _url
from .document_support import rect as _rect

pytestmark = pytest.mark.django_db


def _put(api, image, version, annotations):
    return api.put(_url(image), {"version": version, "annotations": annotations}, format="json")


def _snapshot(image):
    image.refresh_from_db()
    return image.annotation_version, sorted(image.annotations.values_list("id", "label_class_id", "rle_counts", "is_proposal"))


def test_a_new_image_has_an_empty_document_at_version_0(owner_api, image):
    body = owner_api.get(_url(image)).json()
    assert body == {"image": image.pk, "version": 0, "width": 64, "height": 48, "annotations": [], "void": None}


def test_it_saves_masks_pixel_exact_and_bumps_the_version(teammate_api, teammate, image, car, road):
    car_mask = _rect(image, 5, 6, 20, 30)
    road_mask = _rect(image, 0, 40, 64, 48)
    road_mask[44, 10] = 0  # a hole
    response = _put(teammate_api, image, 0, [
        {"label_class": car.pk, "mask": masks.encode(car_mask), "z_order": 1},
        {"label_class": road.pk, "mask": masks.encode(road_mask), "z_order": 0},
    ])
    assert response.status_code == 200, response.json()
    body = teammate_api.get(_url(image)).json()
    assert body["version"] == 1
    by_class = {a["label_class"]: a for a in body["annotations"]}
    assert np.array_equal(masks.decode(by_class[car.pk]["mask"]), car_mask)
    assert np.array_equal(masks.decode(by_class[road.pk]["mask"]), road_mask)
    assert by_class[car.pk]["bbox"] == [5, 6, 15, 24] and by_class[car.pk]["area"] == 15 * 24
    assert by_class[car.pk]["source"] == "human" and by_class[car.pk]["author"] == "tom"
    image.refresh_from_db()
    assert image.status == "in_progress"
    assert DocumentRevision.objects.filter(image=image, version=1).exists()


def test_it_refuses_a_stale_version_and_changes_nothing(owner_api, teammate_api, image, car):
    mask = masks.encode(_rect(image, 1, 1, 5, 5))
    assert _put(owner_api, image, 0, [{"label_class": car.pk, "mask": mask}]).status_code == 200
    before = _snapshot(image)
    response = _put(teammate_api, image, 0, [])
    assert response.status_code == 409
    assert response.json()["extra"] == {"current_version": 1}
    assert "saved by someone else" in response.json()["message"]
    assert _snapshot(image) == before


def test_omitted_annotations_are_deleted_and_kept_ones_keep_their_id(owner_api, image, car):
    a = masks.encode(_rect(image, 1, 1, 5, 5))
    b = masks.encode(_rect(image, 10, 10, 20, 20))
    saved = _put(owner_api, image, 0, [{"label_class": car.pk, "mask": a}, {"label_class": car.pk, "mask": b}]).json()
    keep = saved["annotations"][1]
    after = _put(owner_api, image, 1, [{"id": keep["id"], "label_class": car.pk, "mask": b}]).json()
    assert [x["id"] for x in after["annotations"]] == [keep["id"]]


def _proposal(image, car, owner):
    version = ModelVersion.objects.create(project=image.project, name="unet-1", architecture="unet")
    services.proposals_replace(image=image, model_version=version, proposals=[
        services.Proposal(label_class_id=car.pk, rle=masks.encode(_rect(image, 2, 2, 12, 12)), score=0.9),
    ])
    return version, image.annotations.get()


def test_proposals_are_shown_as_such(owner_api, owner, image, car):
    version, _ = _proposal(image, car, owner)
    (item,) = owner_api.get(_url(image)).json()["annotations"]
    assert (item["source"], item["model_version"], item["model_version_name"], item["score"], item["is_proposal"]) == (
        "model", version.pk, "unet-1", 0.9, True)


def test_accepting_a_proposal_keeps_provenance(owner_api, owner, image, car):
    version, proposal = _proposal(image, car, owner)
    doc = owner_api.get(_url(image)).json()
    item = doc["annotations"][0]
    _put(owner_api, image, doc["version"], [{**item, "is_proposal": False}])
    proposal.refresh_from_db()
    assert (proposal.is_proposal, proposal.source, proposal.model_version_id, proposal.author) == (False, "model", version.pk, owner)


def test_editing_a_proposal_accepts_it(owner_api, owner, image, car):
    _, proposal = _proposal(image, car, owner)
    doc = owner_api.get(_url(image)).json()
    item = {**doc["annotations"][0], "mask": masks.encode(_rect(image, 2, 2, 14, 14))}
    _put(owner_api, image, doc["version"], [item])
    proposal.refresh_from_db()
    assert not proposal.is_proposal and proposal.area == 144


def test_sending_a_proposal_back_untouched_leaves_it_a_proposal(owner_api, owner, image, car):
    _, proposal = _proposal(image, car, owner)
    doc = owner_api.get(_url(image)).json()
    _put(owner_api, image, doc["version"], doc["annotations"])
    proposal.refresh_from_db()
    assert proposal.is_proposal


@pytest.mark.parametrize(
    ("make_item", "status", "message"),
    [
        (lambda image, car, other: {"label_class": car.pk, "mask": masks.encode(np.ones((10, 10), np.uint8))}, 400, "differs from the image"),
        (lambda image, car, other: {"label_class": car.pk, "mask": {"size": [48, 64], "counts": "5555"}}, 400, "does not decode"),
        (lambda image, car, other: {"label_class": car.pk, "mask": {"size": [48, 64], "counts": "\u00e9"}}, 400, "ASCII"),
        (lambda image, car, other: {"label_class": other.pk, "mask": masks.encode(np.ones((48, 64), np.uint8))}, 400, "not a class of project"),
        (lambda image, car, other: {"label_class": 99999, "mask": masks.encode(np.ones((48, 64), np.uint8))}, 400, "not a class of project"),
        (lambda image, car, other: {"id": 99999, "label_class": car.pk, "mask": masks.encode(np.ones((48, 64), np.uint8))}, 400, "does not belong"),
        (lambda image, car, other: {"label_class": car.pk}, 400, "mask"),
    ],
)
def test_bad_input_gets_a_clear_400_and_changes_nothing(owner_api, owner, image, car, make_item, status, message):
    other_project = services.project_create(name="Other", owner=owner)
    other = services.label_class_create(project=other_project, name="car")
    _put(owner_api, image, 0, [{"label_class": car.pk, "mask": masks.encode(_rect(image, 1, 1, 3, 3))}])
    before = _snapshot(image)
    response = _put(owner_api, image, 1, [make_item(image, car, other)])
    assert response.status_code == status
    assert message in response.json()["message"]
    assert set(response.json()) == {"message", "extra"}
    assert _snapshot(image) == before


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("label_class", [1], "label_class must be an integer"),
        ("label_class", "1", "label_class must be an integer"),
        ("z_order", 2**31, "z_order must be between"),
        ("z_order", -(2**31) - 1, "z_order must be between"),
        ("z_order", "3", "z_order must be an integer"),
        ("is_proposal", "yes", "is_proposal must be true or false"),
        ("iscrowd", 1, "iscrowd must be true or false"),
        ("id", "7", "an annotation id must be an integer"),
    ],
)
def test_the_save_itself_checks_every_field_of_every_annotation(owner_api, image, car, field, value, message):
    """The whole document's annotations reach the service as sent (the API checks only that they
    are a list): the service's checks are the only ones, and each one answers 400 naming the item."""
    _put(owner_api, image, 0, [{"label_class": car.pk, "mask": masks.encode(_rect(image, 1, 1, 3, 3))}])
    before = _snapshot(image)
    fine = {"label_class": car.pk, "mask": masks.encode(_rect(image, 4, 4, 9, 9))}
    response = _put(owner_api, image, 1, [fine, {**fine, field: value}])
    assert response.status_code == 400, response.json()
    assert response.json()["message"].startswith("annotation 1: ") and message in response.json()["message"]
    assert _snapshot(image) == before


def test_annotations_that_are_not_a_list_get_a_400_in_the_error_shape(owner_api, image):
    response = owner_api.put(_url(image), {"version": 0, "annotations": {"label_class": 1}}, format="json")
    assert response.status_code == 400 and set(response.json()) == {"message", "extra"}
    assert "Expected a list" in response.json()["message"]
    assert _snapshot(image) == (0, [])


def test_a_semantic_class_gets_one_mask_per_image(owner_api, image, road):
    m = masks.encode(_rect(image, 0, 0, 5, 5))
    response = _put(owner_api, image, 0, [{"label_class": road.pk, "mask": m}, {"label_class": road.pk, "mask": m}])
    assert response.status_code == 400 and "one mask per image" in response.json()["message"]
    assert _snapshot(image) == (0, [])


def test_uncompressed_rle_is_accepted_and_stored_compressed(owner_api, image, car):
    counts = [10, 5, 48 * 64 - 15]
    assert _put(owner_api, image, 0, [{"label_class": car.pk, "mask": {"size": [48, 64], "counts": counts}}]).status_code == 200
    stored = Annotation.objects.get()
    assert masks.area(stored.rle) == 5 and isinstance(stored.rle_counts, str)


def test_outsider_gets_404(outsider_api, image):
    assert outsider_api.get(_url(image)).status_code == 404
    assert _put(outsider_api, image, 0, []).status_code == 404


def test_anonymous_gets_401(image):
    from rest_framework.test import APIClient

    assert APIClient().get(_url(image)).status_code == 401


def test_proposals_replace_is_idempotent_and_spares_human_work(owner, image, car, road):
    version = ModelVersion.objects.create(project=image.project, name="m", architecture="unet")
    human = services.annotation_document_save(image=image, user=owner, version=0, annotations=[
        {"label_class": road.pk, "mask": masks.encode(_rect(image, 0, 0, 64, 10))},
    ]).image
    proposals = [
        services.Proposal(label_class_id=car.pk, rle=masks.encode(_rect(image, 2, 2, 12, 12)), score=0.8),
        services.Proposal(label_class_id=road.pk, rle=masks.encode(_rect(image, 0, 0, 64, 20)), score=None),
    ]
    for _ in range(3):
        services.proposals_replace(image=image, model_version=version, proposals=proposals)
    rows = list(human.annotations.order_by("id").values_list("source", "label_class_id", "is_proposal"))
    assert rows == [("human", road.pk, False), ("model", car.pk, True)]


def test_a_save_names_the_id_of_each_sent_annotation_in_order(owner_api, image, car):
    first = masks.encode(_rect(image, 1, 1, 5, 5))
    kept = _put(owner_api, image, 0, [{"label_class": car.pk, "mask": first, "z_order": 7}]).json()["saved_ids"][0]
    second = masks.encode(_rect(image, 10, 10, 20, 20))
    body = _put(owner_api, image, 1, [
        {"label_class": car.pk, "mask": second, "z_order": 7},  # same z-order: ids must not be guessed from it
        {"id": kept, "label_class": car.pk, "mask": first, "z_order": 7},
    ]).json()
    new_id, again = body["saved_ids"]
    assert again == kept and new_id != kept
    by_id = {a["id"]: a for a in body["annotations"]}
    assert by_id[new_id]["bbox"] == [10, 10, 10, 10]

"""PATCH /api/images/{id}/annotations/: delta saves (upsert / delete on the version read), and the
document GET's ETag. The delta shares the full save's write path: version bump, 409 rule, revision
row and correction effort."""
from __future__ import annotations

import numpy as np
import pytest

from annotations import masks, services
from annotations.history import revision_annotations
from annotations.models import CorrectionRecord, DocumentRevision, ModelVersion

from .document_support import document_url as _url
from .document_support import rect as _rect

pytestmark = pytest.mark.django_db


def _patch(api, image, version, upsert=(), delete=(), **extra):
    return api.patch(_url(image), {"version": version, "upsert": list(upsert), "delete": list(delete), **extra}, format="json")


def _put(api, image, version, annotations):
    return api.put(_url(image), {"version": version, "annotations": annotations}, format="json")


def _snapshot(image):
    """Everything a refused save must leave as it was."""
    image.refresh_from_db()
    rows = sorted(image.annotations.values_list("id", "label_class_id", "rle_counts", "z_order", "is_proposal", "updated_at"))
    return (image.annotation_version, image.status, rows, DocumentRevision.objects.filter(image=image).count(),
            CorrectionRecord.objects.filter(image=image).count())


@pytest.fixture
def three(owner_api, image, car):
    """An image with three saved car masks; returns their ids in z-order."""
    body = _put(owner_api, image, 0, [
        {"label_class": car.pk, "mask": masks.encode(_rect(image, 1, 1, 5, 5)), "z_order": 0},
        {"label_class": car.pk, "mask": masks.encode(_rect(image, 10, 10, 20, 20)), "z_order": 1},
        {"label_class": car.pk, "mask": masks.encode(_rect(image, 30, 5, 40, 15)), "z_order": 2},
    ]).json()
    return body["saved_ids"]


def test_a_delta_changes_one_annotation_and_leaves_the_others_untouched(owner_api, image, car, three):
    before = {row[0]: row for row in _snapshot(image)[2]}
    bigger = _rect(image, 10, 10, 25, 25)
    response = _patch(owner_api, image, 1, upsert=[{"id": three[1], "mask": masks.encode(bigger)}])
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["version"] == 2 and body["saved_ids"] == [three[1]] and body["deleted_ids"] == []
    assert [a["id"] for a in body["annotations"]] == [three[1]]  # only what changed comes back
    assert body["annotations"][0]["bbox"] == [10, 10, 15, 15] and body["annotations"][0]["area"] == 225
    after = {row[0]: row for row in _snapshot(image)[2]}
    assert after[three[0]] == before[three[0]] and after[three[2]] == before[three[2]]
    doc = owner_api.get(_url(image)).json()
    assert np.array_equal(masks.decode(next(a for a in doc["annotations"] if a["id"] == three[1])["mask"]), bigger)
    assert len(doc["annotations"]) == 3


def test_a_delta_records_the_whole_document_as_a_revision(owner_api, image, car, three):
    _patch(owner_api, image, 1, delete=[three[0]])
    revision = DocumentRevision.objects.get(image=image, version=2)
    assert [a["id"] for a in revision_annotations(revision)] == three[1:]
    assert revision.author.username == "olivia"


def test_a_delta_adds_annotations_and_names_their_ids_in_the_order_sent(owner_api, image, car, three):
    a, b = masks.encode(_rect(image, 50, 30, 60, 40)), masks.encode(_rect(image, 0, 40, 8, 48))
    body = _patch(owner_api, image, 1, upsert=[{"label_class": car.pk, "mask": a}, {"label_class": car.pk, "mask": b, "z_order": 1}]).json()
    first, second = body["saved_ids"]
    by_id = {x["id"]: x for x in owner_api.get(_url(image)).json()["annotations"]}
    assert by_id[first]["mask"]["counts"] == a["counts"] and by_id[second]["mask"]["counts"] == b["counts"]
    assert by_id[first]["z_order"] == 3  # no z_order: on top of what is there
    assert by_id[second]["z_order"] == 1 and by_id[first]["author"] == "olivia" and by_id[first]["source"] == "human"


def test_a_delta_deletes_an_annotation(owner_api, image, three):
    body = _patch(owner_api, image, 1, delete=[three[2]]).json()
    assert body["deleted_ids"] == [three[2]] and body["annotations"] == []
    assert [a["id"] for a in owner_api.get(_url(image)).json()["annotations"]] == three[:2]


def test_a_delta_reorders_without_resending_masks(owner_api, image, three):
    counts = dict(image.annotations.values_list("id", "rle_counts"))
    body = _patch(owner_api, image, 1, upsert=[{"id": three[0], "z_order": 5}, {"id": three[2], "z_order": -1}]).json()
    assert body["version"] == 2
    doc = owner_api.get(_url(image)).json()
    assert [a["id"] for a in doc["annotations"]] == [three[2], three[1], three[0]]
    assert {a["id"]: a["mask"]["counts"] for a in doc["annotations"]} == counts


def _proposals(image, car, n=2):
    version, _ = ModelVersion.objects.get_or_create(project=image.project, name="unet-1", architecture="unet")
    services.proposals_replace(image=image, model_version=version, proposals=[
        services.Proposal(label_class_id=car.pk, rle=masks.encode(_rect(image, 2 + 20 * i, 2, 12 + 20 * i, 12)), score=0.9)
        for i in range(n)
    ])
    return version, list(image.annotations.order_by("id").values_list("id", flat=True))


def test_a_delta_accepts_one_proposal_and_leaves_the_other_pending(owner_api, image, car):
    _, (first, second) = _proposals(image, car)
    image.refresh_from_db()
    _patch(owner_api, image, image.annotation_version, upsert=[{"id": first, "is_proposal": False}])
    pending = dict(image.annotations.values_list("id", "is_proposal"))
    assert pending == {first: False, second: True}


def test_a_delta_records_the_same_correction_effort_as_the_full_save(owner_api, make_image, car):
    """The same edit (one proposal repainted, one deleted, one object drawn) as a full PUT and as a
    delta: the same rows, the same revision, the same correction record."""
    outcomes = []
    for send in ("put", "patch"):
        image = make_image()
        version, (edited, deleted) = _proposals(image, car)
        image.refresh_from_db()
        drawn = {"label_class": car.pk, "mask": masks.encode(_rect(image, 5, 30, 15, 40))}
        repainted = masks.encode(_rect(image, 2, 2, 16, 12))
        if send == "put":
            response = _put(owner_api, image, image.annotation_version, [
                {"id": edited, "label_class": car.pk, "mask": repainted, "z_order": 1}, {**drawn, "z_order": 3},
            ])
        else:
            response = _patch(owner_api, image, image.annotation_version,
                              upsert=[{"id": edited, "mask": repainted}, drawn], delete=[deleted])
        assert response.status_code == 200, response.json()
        record = CorrectionRecord.objects.get(image=image)
        outcomes.append((
            record.document_version, record.accepted, record.edited, record.deleted, record.added,
            record.pixels_added, record.pixels_removed, record.proposal_pixels,
            sorted((a["label_class"], a["counts"], a["is_proposal"]) for a in revision_annotations(DocumentRevision.objects.filter(image=image).latest("version"))),
        ))
    assert outcomes[0] == outcomes[1]
    assert outcomes[1][1:8] == (0, 1, 1, 1, 40, 0, 200)


def test_it_refuses_a_stale_version_whole_and_changes_nothing(owner_api, teammate_api, image, car, three):
    assert _patch(owner_api, image, 1, delete=[three[0]]).status_code == 200
    before = _snapshot(image)
    # The stale delta names the annotation the newer version deleted: still a conflict, not a 400.
    response = _patch(teammate_api, image, 1, upsert=[
        {"id": three[0], "mask": masks.encode(_rect(image, 0, 0, 9, 9))},
        {"label_class": car.pk, "mask": masks.encode(_rect(image, 40, 40, 50, 48))},
    ])
    assert response.status_code == 409
    assert response.json()["extra"] == {"current_version": 2}
    assert "saved by someone else" in response.json()["message"]
    assert _snapshot(image) == before


def test_it_refuses_an_annotation_of_another_image_and_changes_nothing(owner_api, make_image, image, car, three):
    other = make_image()
    other_id = _put(owner_api, other, 0, [{"label_class": car.pk, "mask": masks.encode(_rect(other, 1, 1, 4, 4))}]).json()["saved_ids"][0]
    before, other_before = _snapshot(image), _snapshot(other)
    for delta in ({"upsert": [{"id": other_id, "z_order": 9}]}, {"delete": [other_id]}):
        response = _patch(owner_api, image, 1, **delta)
        assert response.status_code == 400
        assert f"annotation id {other_id} does not belong to image {image.pk}" in response.json()["message"]
        assert set(response.json()) == {"message", "extra"}
    assert _snapshot(image) == before and _snapshot(other) == other_before


def test_it_refuses_a_deleted_annotation_and_changes_nothing(owner_api, image, car, three):
    assert _patch(owner_api, image, 1, delete=[three[0]]).status_code == 200
    before = _snapshot(image)
    for delta in ({"upsert": [{"id": three[0], "mask": masks.encode(_rect(image, 0, 0, 9, 9))}]}, {"delete": [three[0]]}):
        response = _patch(owner_api, image, 2, **{"upsert": [{"id": three[1], "z_order": 7}], **delta})
        assert response.status_code == 400
        assert "it was deleted" in response.json()["message"] and str(three[0]) in response.json()["message"]
    assert _snapshot(image) == before


@pytest.mark.parametrize(
    ("delta", "message"),
    [
        (lambda ids, car, image: {"upsert": [{"id": ids[0], "z_order": 3}], "delete": [ids[0]]}, "also in delete"),
        (lambda ids, car, image: {"upsert": [{"id": ids[0], "z_order": 3}, {"id": ids[0], "z_order": 4}]}, "appears twice"),
        (lambda ids, car, image: {"delete": [ids[1], ids[1]]}, "appears twice"),
        (lambda ids, car, image: {"upsert": [{"label_class": car.pk}]}, "needs a mask"),
        (lambda ids, car, image: {"upsert": [{"mask": masks.encode(_rect(image, 0, 0, 3, 3))}]}, "not a class of project"),
        (lambda ids, car, image: {"upsert": [{"id": ids[1], "mask": {"size": [48, 64], "counts": "5555"}}]}, "does not decode"),
        (lambda ids, car, image: {"upsert": [{"id": ids[1], "mask": masks.encode(np.ones((10, 10), np.uint8))}]}, "differs from the image"),
        (lambda ids, car, image: {"upsert": [{"id": ids[1], "label_class": 99999}]}, "not a class of project"),
    ],
)
def test_bad_deltas_get_a_clear_400_and_change_nothing(owner_api, image, car, three, delta, message):
    before = _snapshot(image)
    response = _patch(owner_api, image, 1, **delta(three, car, image))
    assert response.status_code == 400
    assert message in response.json()["message"]
    assert _snapshot(image) == before


def test_a_delta_may_not_give_a_semantic_class_a_second_mask(owner_api, image, road, three):
    m = masks.encode(_rect(image, 0, 40, 64, 48))
    assert _patch(owner_api, image, 1, upsert=[{"label_class": road.pk, "mask": m}]).status_code == 200
    before = _snapshot(image)
    response = _patch(owner_api, image, 2, upsert=[{"label_class": road.pk, "mask": m}])
    assert response.status_code == 400 and "one mask per image" in response.json()["message"]
    assert _snapshot(image) == before
    # Moving the only road mask to another class frees the class for a new one in the same delta.
    road_id = image.annotations.get(label_class=road).pk
    car_id = three[0]
    ok = _patch(owner_api, image, 2, upsert=[{"id": road_id, "label_class": image.annotations.get(pk=car_id).label_class_id},
                                             {"label_class": road.pk, "mask": m}])
    assert ok.status_code == 200, ok.json()


def test_a_delta_sets_and_clears_the_void_region(owner_api, image, three):
    void = masks.encode(_rect(image, 0, 0, 4, 4))
    assert _patch(owner_api, image, 1, void=void).status_code == 200
    assert owner_api.get(_url(image)).json()["void"]["counts"] == void["counts"]
    assert _patch(owner_api, image, 2, void=None).status_code == 200
    assert owner_api.get(_url(image)).json()["void"] is None


def test_outsider_gets_404_and_nothing_changes(outsider_api, image, three):
    before = _snapshot(image)
    assert _patch(outsider_api, image, 1, delete=[three[0]]).status_code == 404
    assert _snapshot(image) == before


def test_the_document_get_carries_its_version_as_etag_and_answers_304_while_current(owner_api, image, three):
    first = owner_api.get(_url(image))
    etag = first.headers["ETag"]
    assert etag == f'"doc-{image.pk}-v1"' and "no-cache" in first.headers["Cache-Control"]
    again = owner_api.get(_url(image), HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == etag
    saved = _patch(owner_api, image, 1, delete=[three[0]])
    assert saved.headers["ETag"] == f'"doc-{image.pk}-v2"'
    fresh = owner_api.get(_url(image), HTTP_IF_NONE_MATCH=etag)
    assert fresh.status_code == 200 and fresh.json()["version"] == 2 and fresh.headers["ETag"] == saved.headers["ETag"]


def test_an_outsider_gets_404_not_304_for_a_known_etag(outsider_api, image, three):
    assert outsider_api.get(_url(image), HTTP_IF_NONE_MATCH=f'"doc-{image.pk}-v1"').status_code == 404


def test_the_fast_document_rows_are_what_the_annotation_serializer_gives(owner_api, owner, image, car):
    """The document GET builds its rows from one prepared values query (serializers.document_rows); they must be
    AnnotationOut's answer, field for field, for human rows and model proposals alike."""
    from annotations import selectors
    from annotations.api.serializers import AnnotationOut, document_rows

    _put(owner_api, image, 0, [{"label_class": car.pk, "mask": masks.encode(_rect(image, 1, 1, 5, 5)), "iscrowd": True}])
    _proposals(image, car)
    expected = AnnotationOut(selectors.annotation_list(image=image), many=True).data
    assert document_rows(image) == expected
    assert owner_api.get(_url(image)).json()["annotations"] == [dict(row) for row in expected]


def test_the_revision_a_save_records_is_the_document_as_the_database_holds_it(owner_api, image, car, road, three):
    """The save builds the revision from what it read and wrote (not read back): it must be what
    the rows say, for a delta that adds, changes, reorders and deletes, and for a full PUT."""
    from annotations.services import _REVISION_COLUMNS, _REVISION_FIELDS

    def as_stored():
        return [dict(zip(_REVISION_FIELDS, v)) for v in image.annotations.order_by("z_order", "id").values_list(*_REVISION_COLUMNS)]

    _proposals(image, car)
    image.refresh_from_db()
    proposal = image.annotations.filter(is_proposal=True).first()
    _patch(owner_api, image, image.annotation_version, upsert=[
        {"id": three[0], "mask": masks.encode(_rect(image, 0, 0, 9, 9))}, {"id": three[1], "z_order": -5},
        {"id": proposal.pk, "is_proposal": False}, {"label_class": road.pk, "mask": masks.encode(_rect(image, 0, 40, 64, 48))},
    ], delete=[three[2]])
    image.refresh_from_db()
    assert revision_annotations(DocumentRevision.objects.get(image=image, version=image.annotation_version)) == as_stored()
    doc = owner_api.get(_url(image)).json()
    _put(owner_api, image, doc["version"], [{k: a[k] for k in ("id", "label_class", "mask", "z_order")} for a in doc["annotations"][1:]])
    image.refresh_from_db()
    assert revision_annotations(DocumentRevision.objects.get(image=image, version=image.annotation_version)) == as_stored()


@pytest.mark.parametrize("process_zone", ["UTC", "Asia/Tokyo"])
def test_the_fast_document_rows_write_timestamps_as_drf_does_in_any_zone_and_to_the_second(process_zone, monkeypatch):
    """document_rows writes the driver's timestamps itself (SQLite's text or naive UTC datetimes,
    PostgreSQL's aware ones): whole seconds, microseconds and another current zone must come out
    as DRF's DateTimeField writes them, whatever the process's own local zone (TZ)."""
    import time
    from datetime import datetime, timezone as dt_timezone

    from django.utils import timezone
    from rest_framework import serializers

    from annotations.api.serializers import _stamper

    monkeypatch.setenv("TZ", process_zone)
    time.tzset()
    try:
        for value in (datetime(2026, 3, 1, 12, 0, 5, tzinfo=dt_timezone.utc), datetime(2026, 7, 9, 23, 59, 59, 123456, tzinfo=dt_timezone.utc)):
            for zone in ("UTC", "Europe/Berlin", "America/New_York"):
                with timezone.override(zone):
                    expected = serializers.DateTimeField().to_representation(value)
                    stamp = _stamper()
                    naive = value.replace(tzinfo=None)  # what SQLite's driver hands over
                    text = str(naive)  # how Django's SQLite backend stores it
                    assert stamp(value) == expected == stamp(text) == stamp(naive), (zone, value)
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_a_saves_answer_made_from_what_it_wrote_is_the_document_as_read_back(owner_api, teammate_api, owner, image, car, road, method):
    """The save's answer is built from the rows it read and wrote (DocumentSaved.rows), not read
    back: it must be what a GET gives right after, field for field, for a change of mask, class,
    order and crowd flag, a proposal accepted, a delete and a new row."""
    _put(owner_api, image, 0, [{"label_class": car.pk, "mask": masks.encode(_rect(image, 1, 1, 5, 5))},
                               {"label_class": car.pk, "mask": masks.encode(_rect(image, 10, 10, 8, 8)), "z_order": 3},
                               {"label_class": road.pk, "mask": masks.encode(_rect(image, 20, 2, 9, 9)), "z_order": 5}])
    _proposals(image, car)
    doc = owner_api.get(_url(image)).json()
    first, second, third, proposal = doc["annotations"][0], doc["annotations"][1], doc["annotations"][2], doc["annotations"][-1]
    assert proposal["is_proposal"]
    if method == "PUT":
        body = {"version": doc["version"], "annotations": [
            {"id": first["id"], "label_class": car.pk, "mask": masks.encode(_rect(image, 2, 2, 6, 6)), "z_order": 9, "iscrowd": True},
            {"id": third["id"], "label_class": third["label_class"], "mask": third["mask"], "z_order": 1},
            {"id": proposal["id"], "label_class": proposal["label_class"], "mask": proposal["mask"], "is_proposal": False},
            {"label_class": car.pk, "mask": masks.encode(_rect(image, 30, 30, 4, 4)), "z_order": 2},
        ]}
        saved = teammate_api.put(_url(image), body, format="json")
        answer = saved.json()["annotations"]
    else:
        body = {"version": doc["version"], "delete": [second["id"]], "upsert": [
            {"id": first["id"], "mask": masks.encode(_rect(image, 2, 2, 6, 6)), "z_order": 9, "iscrowd": True},
            {"id": third["id"], "z_order": 1},
            {"id": proposal["id"], "is_proposal": False},
            {"label_class": car.pk, "mask": masks.encode(_rect(image, 30, 30, 4, 4)), "z_order": 2},
        ]}
        saved = teammate_api.patch(_url(image), body, format="json")
        answer = saved.json()["annotations"]
    assert saved.status_code == 200, saved.content
    after = {row["id"]: row for row in owner_api.get(_url(image)).json()["annotations"]}
    if method == "PUT":
        assert answer == list(after.values())
    else:
        assert answer == [after[pk] for pk in saved.json()["saved_ids"]]
    assert after[first["id"]]["author"] == "tom" and after[proposal["id"]]["author"] == "tom"

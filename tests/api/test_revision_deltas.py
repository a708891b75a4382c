"""Revisions stored as keyframes and deltas (DocumentRevision, services.documents_commit,
history.revision_annotations): a save of one mask among many records only what it changed, and
every revision still reads back, over the API and on restore, as the document stood at it."""
from __future__ import annotations

import numpy as np
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from annotations import masks, services
from annotations.history import revision_annotations
from annotations.models import Annotation, DocumentRevision, ModelVersion
from annotations.services import _REVISION_COLUMNS, _REVISION_FIELDS, REVISION_KEYFRAME_EVERY

from .document_support import document_url as _url
from .document_support import rect as _rect

pytestmark = pytest.mark.django_db


def _stored(image) -> list[dict]:
    """The document as the database holds it now, as revision rows."""
    return [dict(zip(_REVISION_FIELDS, v)) for v in image.annotations.order_by("z_order", "id").values_list(*_REVISION_COLUMNS)]


def _patch(api, image, upsert=(), delete=()):
    image.refresh_from_db()
    response = api.patch(_url(image), {"version": image.annotation_version, "upsert": list(upsert), "delete": list(delete)},
                         format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def _blob(image, seed: int) -> np.ndarray:
    """A ragged mask with a hole, different for each seed."""
    rng = np.random.default_rng(seed)
    bitmap = (rng.random((image.height, image.width)) < 0.3).astype(np.uint8)
    bitmap[20:30, 20:30] = 0
    return bitmap


@pytest.fixture
def many(owner_api, image, car):
    """An image with 24 saved car masks (one full PUT: the first revision, a keyframe)."""
    response = owner_api.put(_url(image), {"version": 0, "annotations": [
        {"label_class": car.pk, "mask": masks.encode(_blob(image, i)), "z_order": i} for i in range(24)
    ]}, format="json")
    assert response.status_code == 200
    return response.json()["saved_ids"]


def test_a_one_mask_save_records_only_that_mask(owner_api, image, car, many):
    _patch(owner_api, image, upsert=[{"id": many[3], "mask": masks.encode(_blob(image, 100))}])
    revision = DocumentRevision.objects.get(image=image, version=2)
    assert revision.annotations is None and revision.keyframe_version == 1
    assert [row["id"] for row in revision.changes["upsert"]] == [many[3]] and revision.changes["delete"] == []
    assert revision.annotation_count == 24
    assert revision_annotations(revision) == _stored(image)


def test_every_revision_of_a_long_edit_history_reads_back_as_the_document_stood(owner_api, image, car, road, many):
    """Adds, edits, reorders, deletes, a full PUT and a void change, 70 saves: each revision's
    replay equals the rows the database held right after that save, and no chain is longer than
    REVISION_KEYFRAME_EVERY."""
    states = {1: _stored(image)}
    ids = list(many)
    rng = np.random.default_rng(7)
    for step in range(70):
        kind = step % 5
        if kind == 0:
            body = _patch(owner_api, image, upsert=[{"label_class": car.pk, "mask": masks.encode(_blob(image, 1000 + step))}])
            ids.append(body["saved_ids"][0])
        elif kind == 1:
            _patch(owner_api, image, upsert=[{"id": int(rng.choice(ids)), "mask": masks.encode(_blob(image, 2000 + step))}])
        elif kind == 2:
            _patch(owner_api, image, upsert=[{"id": int(rng.choice(ids)), "z_order": int(rng.integers(-50, 50))}])
        elif kind == 3:
            gone = int(rng.choice(ids))
            ids.remove(gone)
            _patch(owner_api, image, delete=[gone])
        else:
            doc = owner_api.get(_url(image)).json()
            kept = [{k: a[k] for k in ("id", "label_class", "mask", "z_order")} for a in doc["annotations"]]
            kept[0]["mask"] = masks.encode(_blob(image, 3000 + step))
            response = owner_api.put(_url(image), {"version": doc["version"], "annotations": kept}, format="json")
            assert response.status_code == 200
        image.refresh_from_db()
        states[image.annotation_version] = _stored(image)
    revisions = {r.version: r for r in DocumentRevision.objects.filter(image=image, ground_truth=False)}
    assert set(revisions) == set(states)
    for version, revision in revisions.items():
        assert revision_annotations(revision) == states[version], version
        assert revision.annotation_count == len(states[version])
        assert version - revision.keyframe_version < REVISION_KEYFRAME_EVERY
    assert sum(r.annotations is None for r in revisions.values()) > 60  # nearly all are deltas
    # the API's view of an old delta revision: pixel for pixel the masks of that version
    old = revisions[40]
    assert old.annotations is None
    body = owner_api.get(f"/api/images/{image.pk}/revisions/{old.pk}/").json()
    assert [(a["id"], a["mask"]["counts"], a["z_order"]) for a in body["annotations"]] == \
        [(r["id"], r["counts"], r["z_order"]) for r in states[40]]
    listed = {r["version"]: r["annotation_count"] for r in owner_api.get(f"/api/images/{image.pk}/revisions/").json()}
    assert listed == {v: len(rows) for v, rows in states.items()}


def test_restoring_a_delta_revision_brings_back_its_masks_byte_for_byte(owner_api, image, car, many):
    _patch(owner_api, image, upsert=[{"id": many[0], "mask": masks.encode(_blob(image, 500))}], delete=[many[1]])
    at_two = _stored(image)
    _patch(owner_api, image, delete=many[2:10])
    revision = DocumentRevision.objects.get(image=image, version=2)
    assert revision.annotations is None
    image.refresh_from_db()
    response = owner_api.post(f"/api/images/{image.pk}/revisions/{revision.pk}/restore/", {"version": image.annotation_version},
                              format="json")
    assert response.status_code == 200, response.json()
    image.refresh_from_db()
    restored = _stored(image)
    assert [(r["id"], r["counts"], r["z_order"], r["label_class"]) for r in restored] == \
        [(r["id"], r["counts"], r["z_order"], r["label_class"]) for r in at_two]


def test_a_save_with_no_revision_before_it_records_a_keyframe(owner_api, image, car):
    """A document whose last version has no revision on record (saved before revisions were kept)
    cannot be a delta's base: the save writes the whole document."""
    Annotation.objects.create(image=image, label_class=car, rle_counts=masks.encode(_rect(image, 0, 0, 5, 5))["counts"], z_order=0)
    type(image).objects.filter(pk=image.pk).update(annotation_version=3)
    first = image.annotations.get()
    _patch(owner_api, image, upsert=[{"id": first.pk, "mask": masks.encode(_rect(image, 0, 0, 9, 9))}])
    revision = DocumentRevision.objects.get(image=image, version=4)
    assert revision.changes is None and revision.keyframe_version == 4
    assert revision_annotations(revision) == _stored(image)


def test_a_save_that_changes_most_of_the_document_records_a_keyframe(owner_api, image, car, many):
    doc = owner_api.get(_url(image)).json()
    sent = [{"id": a["id"], "label_class": car.pk, "mask": masks.encode(_blob(image, 900 + i)), "z_order": a["z_order"]}
            for i, a in enumerate(doc["annotations"])]
    assert owner_api.put(_url(image), {"version": doc["version"], "annotations": sent}, format="json").status_code == 200
    revision = DocumentRevision.objects.get(image=image, version=2)
    assert revision.changes is None and revision.annotations == _stored(image)


def test_proposals_and_imports_record_keyframes(owner_api, image, car, many):
    model = ModelVersion.objects.create(project=image.project, name="m", architecture="maskrcnn")
    services.proposals_replace(image=image, model_version=model, proposals=[
        services.Proposal(label_class_id=car.pk, rle=masks.encode(_rect(image, 3, 3, 30, 30)), score=0.9)])
    revision = DocumentRevision.objects.get(image=image, version=2)
    assert revision.changes is None and revision.annotations == _stored(image) and revision.annotation_count == 25


def test_a_refused_delta_leaves_no_revision(owner_api, image, car, many):
    image.refresh_from_db()
    response = owner_api.patch(_url(image), {"version": 1, "upsert": [{"id": 10 ** 6, "mask": masks.encode(_rect(image, 0, 0, 3, 3))}],
                                             "delete": []}, format="json")
    assert response.status_code in (400, 404)
    assert list(DocumentRevision.objects.filter(image=image).values_list("version", flat=True)) == [1]


@pytest.mark.django_db(transaction=True)
def test_the_migration_makes_every_stored_revision_a_keyframe_with_its_count():
    executor = MigrationExecutor(connection)
    executor.migrate([("annotations", "0008_chunk_images")])
    old = executor.loader.project_state([("annotations", "0008_chunk_images")]).apps
    user = old.get_model("auth", "User").objects.create(username="u")
    project = old.get_model("annotations", "Project").objects.create(name="p", created_by=user)
    image = old.get_model("annotations", "Image").objects.create(project=project, file="a.png", file_name="a.png",
                                                                 width=4, height=3, sha256="x")
    old.get_model("annotations", "DocumentRevision").objects.create(image=image, version=5, annotations=[{"id": 1}, {"id": 2}])
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    revision = DocumentRevision.objects.get(image_id=image.pk)
    assert (revision.keyframe_version, revision.annotation_count, revision.changes) == (5, 2, None)
    assert revision_annotations(revision) == [{"id": 1}, {"id": 2}]

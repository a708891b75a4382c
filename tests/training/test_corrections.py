"""Correction effort on a scripted edit: accepted, edited (pixels), deleted, added by hand, per version."""
from __future__ import annotations

import numpy as np
import pytest

from annotations import masks, services
from annotations.corrections import correction_effort
from annotations.models import CorrectionRecord, ModelVersion
from annotations.services import Proposal

pytestmark = pytest.mark.django_db


def _box(y0, x0, h, w, shape=(48, 64)):
    bitmap = np.zeros(shape, np.uint8)
    bitmap[y0:y0 + h, x0:x0 + w] = 1
    return bitmap


@pytest.fixture
def prelabeled(project, car, image):
    version = ModelVersion.objects.create(project=project, name="m1", architecture="maskrcnn", class_mapping=[None, car.pk])
    services.proposals_replace(image=image, model_version=version, proposals=[
        Proposal(car.pk, masks.encode(_box(0, 0, 10, 10)), 0.9),  # 100 px
        Proposal(car.pk, masks.encode(_box(20, 20, 10, 10)), 0.8),  # 100 px
        Proposal(car.pk, masks.encode(_box(35, 40, 5, 5)), 0.3),  # 25 px
    ])
    return version


def test_a_scripted_edit_is_measured_per_version(owner, owner_api, project, car, image, prelabeled):
    doc = owner_api.get(f"/api/images/{image.pk}/annotations/").json()
    keep, edit, _delete = doc["annotations"]
    edited = _box(20, 20, 10, 10)
    edited[20:30, 30:33] = 1  # +30 px painted
    edited[20:25, 20:22] = 0  # -10 px erased
    response = owner_api.put(f"/api/images/{image.pk}/annotations/", {"version": doc["version"], "annotations": [
        {**keep, "is_proposal": False},
        {**edit, "mask": masks.encode(edited)},
        {"label_class": car.pk, "mask": masks.encode(_box(0, 50, 8, 8))},  # drawn by hand
    ]}, format="json")
    assert response.status_code == 200, response.json()
    [record] = CorrectionRecord.objects.all()
    assert (record.model_version_id, record.author_id) == (prelabeled.pk, owner.pk)
    assert (record.accepted, record.edited, record.deleted, record.added) == (1, 1, 1, 1)
    assert (record.pixels_added, record.pixels_removed, record.proposal_pixels) == (30, 10, 225)

    effort = correction_effort(project=project)[prelabeled.pk]
    assert effort["proposals_decided"] == 3 and effort["acceptance_rate"] == round(1 / 3, 4)
    assert effort["pixels_changed_per_proposal_pixel"] == round(40 / 225, 4)

    compare = owner_api.get(f"/api/projects/{project.pk}/models/compare/").json()
    assert compare[0]["name"] == "m1" and compare[0]["correction_effort"]["deleted"] == 1


def test_pending_proposals_are_not_counted_until_decided_and_never_twice(owner, project, car, image, prelabeled):
    rows = list(image.annotations.order_by("id"))
    untouched = [{"id": r.id, "label_class": car.pk, "mask": r.rle, "is_proposal": True, "z_order": r.z_order} for r in rows]
    image.refresh_from_db()
    services.annotation_document_save(image=image, user=owner, version=image.annotation_version, annotations=untouched)
    assert not CorrectionRecord.objects.exists()  # saved without deciding anything
    accepted = [{**item, "is_proposal": False} for item in untouched]
    image.refresh_from_db()
    services.annotation_document_save(image=image, user=owner, version=image.annotation_version, annotations=accepted)
    image.refresh_from_db()
    services.annotation_document_save(image=image, user=owner, version=image.annotation_version, annotations=accepted)
    assert correction_effort(project=project)[prelabeled.pk]["accepted"] == 3  # not 6


def test_an_image_nobody_pre_labeled_records_nothing(owner, car, image):
    services.annotation_document_save(image=image, user=owner, version=0, annotations=[
        {"label_class": car.pk, "mask": masks.encode(_box(0, 0, 5, 5))}])
    assert not CorrectionRecord.objects.exists()

"""An image's history over the API: who saved which version when, one revision's masks, and a
restore that is a new save (pixel-exact, version bumped, stale restores refused)."""
from __future__ import annotations

import numpy as np
import pytest

from annotations import masks, services
from annotations.models import Annotation, DocumentRevision, Membership

from ..conftest import client_for
from .document_support import document_url, rect

pytestmark = pytest.mark.django_db


def revisions_url(image) -> str:
    return f"/api/images/{image.pk}/revisions/"


def save(api, image, version: int, annotations: list[dict], **extra) -> dict:
    response = api.put(document_url(image), {"version": version, "annotations": annotations, **extra}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


@pytest.fixture
def edited(owner_api, teammate_api, image, car, road):
    """Version 1 by Tom: a car and a road, with a void region; version 2 by Olivia: the car moved, the road gone."""
    rng = np.random.default_rng(3)
    blob = (rng.random((image.height, image.width)) > 0.6).astype(np.uint8)  # many runs: a real pixel-exact test
    first = save(teammate_api, image, 0, [
        {"label_class": car.pk, "mask": masks.encode(blob)},
        {"label_class": road.pk, "mask": masks.encode(rect(image, 0, 30, 64, 48))},
    ], void=masks.encode(rect(image, 0, 0, 4, 4)))
    car_id = first["annotations"][0]["id"]
    save(owner_api, image, 1, [{"id": car_id, "label_class": car.pk, "mask": masks.encode(rect(image, 10, 10, 20, 20))}], void=None)
    return {"blob": masks.encode(blob), "car_id": car_id}


def test_the_history_lists_who_saved_each_version_newest_first(teammate_api, image, edited):
    body = teammate_api.get(revisions_url(image)).json()
    assert [(r["version"], r["author"], r["annotation_count"], r["ground_truth"]) for r in body] == [
        (2, "olivia", 1, False), (1, "tom", 2, False),
    ]
    assert all(r["created_at"] for r in body)


def test_a_revision_shows_its_masks_as_they_were(teammate_api, image, edited, car):
    first = teammate_api.get(revisions_url(image)).json()[-1]
    body = teammate_api.get(f"{revisions_url(image)}{first['id']}/").json()
    assert body["version"] == 1 and body["width"] == image.width and body["height"] == image.height
    assert body["annotations"][0]["mask"] == {"size": [image.height, image.width], "counts": edited["blob"]["counts"]}
    assert body["void"] is not None


def test_restoring_a_revision_is_a_new_pixel_exact_version(teammate_api, image, edited, car, road):
    first = teammate_api.get(revisions_url(image)).json()[-1]
    response = teammate_api.post(f"{revisions_url(image)}{first['id']}/restore/", {"version": 2}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["version"] == 3
    assert [(a["label_class"], a["mask"]["counts"]) for a in body["annotations"]] == [
        (car.pk, edited["blob"]["counts"]), (road.pk, masks.encode(rect(image, 0, 30, 64, 48))["counts"]),
    ]
    assert body["annotations"][0]["id"] == edited["car_id"]  # the same annotation, back as it was
    assert np.array_equal(masks.decode(body["annotations"][0]["mask"]), masks.decode(edited["blob"]))
    assert body["void"] == masks.encode(rect(image, 0, 0, 4, 4))
    # nothing lost: version 2 is still in the history, and the restore is version 3 by Tom
    history = teammate_api.get(revisions_url(image)).json()
    assert [(r["version"], r["author"]) for r in history] == [(3, "tom"), (2, "olivia"), (1, "tom")]
    assert teammate_api.get(document_url(image)).json()["version"] == 3


def test_a_stale_restore_is_refused_and_changes_nothing(teammate_api, image, edited):
    first = teammate_api.get(revisions_url(image)).json()[-1]
    before = list(Annotation.objects.filter(image=image).values_list("id", "rle_counts"))
    response = teammate_api.post(f"{revisions_url(image)}{first['id']}/restore/", {"version": 1}, format="json")
    assert response.status_code == 409
    assert "you read version 1, it is now 2" in response.json()["message"]
    assert list(Annotation.objects.filter(image=image).values_list("id", "rle_counts")) == before
    assert DocumentRevision.objects.filter(image=image).count() == 2


def test_restoring_a_revision_of_another_image_is_refused(teammate_api, image, make_image, edited):
    other = make_image()
    revision = DocumentRevision.objects.filter(image=image).first()
    response = teammate_api.post(f"{revisions_url(other)}{revision.pk}/restore/", {"version": 0}, format="json")
    assert response.status_code == 404
    assert f"revision {revision.pk} is not a revision of image {other.pk}" == response.json()["message"]
    assert other.annotations.count() == 0 and DocumentRevision.objects.filter(image=other).count() == 0
    assert teammate_api.get(f"{revisions_url(other)}{revision.pk}/").status_code == 404


def test_outsiders_see_no_history_and_restore_nothing(outsider_api, image, edited):
    revision = DocumentRevision.objects.filter(image=image).first()
    assert outsider_api.get(revisions_url(image)).status_code == 404
    assert outsider_api.post(f"{revisions_url(image)}{revision.pk}/restore/", {"version": 2}, format="json").status_code == 404
    assert client_for(None).get(revisions_url(image)).status_code in (401, 403)
    assert DocumentRevision.objects.filter(image=image).count() == 2


def test_an_annotator_cannot_restore_over_a_reviewed_image(owner, teammate_api, image, edited):
    services.image_status_set(image=image, status="reviewed", user=owner)
    revision = DocumentRevision.objects.filter(image=image, version=1).first()
    response = teammate_api.post(f"{revisions_url(image)}{revision.pk}/restore/", {"version": 2}, format="json")
    assert response.status_code == 403
    assert DocumentRevision.objects.filter(image=image).count() == 2


def test_the_ground_truth_history_is_for_owners_and_reviewers(owner_api, teammate_api, project, image, car):
    from annotations import quality

    quality.ground_truth_sample_mark(project=project, user=project.created_by, percent=50, seed=0)
    image.refresh_from_db()
    assert image.ground_truth
    owner_api.put(document_url(image) + "?set=ground_truth", {"version": 0, "annotations": [
        {"label_class": car.pk, "mask": masks.encode(rect(image, 0, 0, 8, 8))}]}, format="json")
    owner_api.put(document_url(image) + "?set=ground_truth", {"version": 1, "annotations": []}, format="json")
    listed = owner_api.get(revisions_url(image) + "?set=ground_truth").json()
    assert [(r["version"], r["ground_truth"]) for r in listed] == [(2, True), (1, True)]
    assert teammate_api.get(revisions_url(image) + "?set=ground_truth").status_code == 403
    assert teammate_api.get(revisions_url(image)).json() == []  # the work has no revision, and shows none of the truth's
    assert teammate_api.get(f"{revisions_url(image)}{listed[1]['id']}/").status_code == 403
    restored = owner_api.post(f"{revisions_url(image)}{listed[1]['id']}/restore/", {"version": 2}, format="json").json()
    assert restored["version"] == 3 and len(restored["annotations"]) == 1
    assert image.annotations.count() == 0  # the work stays empty
    assert Membership.objects.filter(project=project).count() == 2

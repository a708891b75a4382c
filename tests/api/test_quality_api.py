"""Ground-truth quality control over the API: the seeded sample, the hidden ground-truth document,
the scores (hand-computed on small synthetic masks) and exports that hold the sample out."""
from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from annotations import masks, quality, services
from annotations.exports import export_options, export_write
from annotations.models import Annotation, GroundTruthSample, Image, Membership

from ..conftest import client_for
from .document_support import document_url

pytestmark = pytest.mark.django_db

GT = "?set=ground_truth"


def box(y0: int, y1: int, x0: int, x1: int, size: int = 20) -> dict:
    bitmap = np.zeros((size, size), np.uint8)
    bitmap[y0:y1, x0:x1] = 1
    return masks.encode(bitmap)


@pytest.fixture
def images(make_image):
    return [make_image(20, 20) for _ in range(20)]


@pytest.fixture
def reviewer(django_user_model, project):
    user = django_user_model.objects.create_user(username="rita", password="reviewer-pass-123")
    services.membership_set(project=project, user=user, role=Membership.Role.REVIEWER)
    return user


@pytest.fixture
def amy(django_user_model, project):
    user = django_user_model.objects.create_user(username="amy", password="annotator-pass-123")
    services.membership_set(project=project, user=user, role=Membership.Role.ANNOTATOR)
    return user


def mark(api, project, **body):
    return api.post(f"/api/projects/{project.pk}/ground-truth/", body, format="json")


def sample_ids(project) -> list[int]:
    return list(project.images.filter(ground_truth=True).order_by("pk").values_list("pk", flat=True))


def save(api, image_id: int, annotations: list[dict], *, truth: bool = False, version: int = 0):
    response = api.put(document_url(Image(pk=image_id)) + (GT if truth else ""), {"version": version, "annotations": annotations}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


# --- the sample -------------------------------------------------------------------------------

def test_owner_marks_a_seeded_sample_that_the_same_seed_draws_again(owner_api, project, images):
    response = mark(owner_api, project, percent=10, seed=42)
    assert response.status_code == 201, response.json()
    body = response.json()
    expected = quality.sample_draw(image_ids=[i.pk for i in images], percent=10, seed=42)
    assert body["percent"] == 10 and body["seed"] == 42 and body["size"] == 2 and body["created_by"] == "olivia"
    assert body["image_ids"] == expected == sample_ids(project)
    again = mark(owner_api, project, percent=10, seed=42).json()
    assert again["image_ids"] == expected
    assert GroundTruthSample.objects.get(project=project).seed == 42


def test_a_sample_without_a_seed_records_the_one_it_drew(owner_api, project, images):
    body = mark(owner_api, project, percent=15).json()
    assert body["size"] == 3
    assert body["image_ids"] == quality.sample_draw(image_ids=[i.pk for i in images], percent=15, seed=body["seed"])


@pytest.mark.parametrize("percent", [0.5, 60, -5])
def test_a_sample_percent_outside_1_to_50_is_refused_and_nothing_changes(owner_api, project, images, percent):
    mark(owner_api, project, percent=10, seed=1)
    before = sample_ids(project)
    response = mark(owner_api, project, percent=percent, seed=2)
    assert response.status_code == 400
    assert "1 to 50 %" in response.json()["message"]
    assert sample_ids(project) == before
    assert GroundTruthSample.objects.get(project=project).seed == 1


def test_a_non_owner_cannot_mark_ground_truth_and_nothing_changes(teammate_api, outsider_api, reviewer, project, images):
    assert mark(teammate_api, project, percent=10).status_code == 403
    assert mark(client_for(reviewer), project, percent=10).status_code == 403
    assert mark(outsider_api, project, percent=10).status_code == 404
    assert mark(client_for(None), project, percent=10).status_code in (401, 403)
    assert sample_ids(project) == [] and not GroundTruthSample.objects.exists()


def test_a_new_sample_is_refused_once_ground_truth_is_labelled(owner_api, project, images, car):
    first = mark(owner_api, project, percent=10, seed=3).json()["image_ids"]
    save(owner_api, first[0], [{"label_class": car.pk, "mask": box(0, 5, 0, 5)}], truth=True)
    response = mark(owner_api, project, percent=20, seed=4)
    assert response.status_code == 409
    assert "already labelled on 1 image" in response.json()["message"]
    assert sample_ids(project) == first


# --- the ground-truth document ---------------------------------------------------------------

def test_annotators_never_see_the_ground_truth_and_its_saves_leave_the_work_alone(owner_api, teammate_api, project, images, car):
    image_id = mark(owner_api, project, percent=10, seed=5).json()["image_ids"][0]
    work = save(teammate_api, image_id, [{"label_class": car.pk, "mask": box(0, 10, 0, 10)}])
    truth = save(owner_api, image_id, [{"label_class": car.pk, "mask": box(0, 10, 0, 8)}], truth=True)
    assert truth["version"] == 1 and work["version"] == 1
    assert teammate_api.get(document_url(Image(pk=image_id)) + GT).status_code == 403
    assert teammate_api.put(document_url(Image(pk=image_id)) + GT, {"version": 1, "annotations": []}, format="json").status_code == 403
    seen = teammate_api.get(document_url(Image(pk=image_id))).json()
    assert [a["mask"]["counts"] for a in seen["annotations"]] == [box(0, 10, 0, 10)["counts"]]
    assert owner_api.get(document_url(Image(pk=image_id)) + GT).json()["annotations"][0]["mask"]["counts"] == box(0, 10, 0, 8)["counts"]
    assert Annotation.objects.filter(image_id=image_id).count() == 1  # the default manager: work only
    assert Annotation.with_ground_truth.filter(image_id=image_id).count() == 2


def test_a_stale_ground_truth_save_is_refused(owner_api, project, images, car):
    image_id = mark(owner_api, project, percent=10, seed=5).json()["image_ids"][0]
    save(owner_api, image_id, [{"label_class": car.pk, "mask": box(0, 5, 0, 5)}], truth=True)
    response = owner_api.put(document_url(Image(pk=image_id)) + GT, {"version": 0, "annotations": []}, format="json")
    assert response.status_code == 409
    assert Annotation.with_ground_truth.filter(image_id=image_id, ground_truth=True).count() == 1


def test_the_ground_truth_document_takes_delta_saves_and_leaves_the_work_alone(owner_api, teammate_api, project, images, car):
    image_id = mark(owner_api, project, percent=10, seed=5).json()["image_ids"][0]
    url = document_url(Image(pk=image_id))
    work = save(teammate_api, image_id, [{"label_class": car.pk, "mask": box(0, 10, 0, 10)}])
    truth = save(owner_api, image_id, [{"label_class": car.pk, "mask": box(0, 10, 0, 8)}], truth=True)
    [truth_id] = truth["saved_ids"]
    [work_id] = work["saved_ids"]

    edited = owner_api.patch(url + GT, {"version": 1, "upsert": [{"id": truth_id, "mask": box(0, 6, 0, 6)}]}, format="json")
    assert edited.status_code == 200 and edited.json()["version"] == 2
    assert edited.headers["ETag"] != owner_api.get(url).headers["ETag"]  # the two documents are tagged apart
    # The work's annotation is not part of the ground-truth document: a delta there cannot name it.
    stray = owner_api.patch(url + GT, {"version": 2, "delete": [work_id]}, format="json")
    assert stray.status_code == 400 and "does not belong" in stray.json()["message"]
    assert teammate_api.patch(url + GT, {"version": 2, "upsert": []}, format="json").status_code == 403

    assert owner_api.get(url + GT).json()["annotations"][0]["mask"]["counts"] == box(0, 6, 0, 6)["counts"]
    assert [a["mask"]["counts"] for a in teammate_api.get(url).json()["annotations"]] == [box(0, 10, 0, 10)["counts"]]
    assert Image.objects.get(pk=image_id).annotation_version == 1


def test_an_image_outside_the_sample_has_no_ground_truth_document(owner_api, project, images, car):
    ids = mark(owner_api, project, percent=10, seed=5).json()["image_ids"]
    other = next(i.pk for i in images if i.pk not in ids)
    response = owner_api.put(document_url(Image(pk=other)) + GT, {"version": 0, "annotations": []}, format="json")
    assert response.status_code == 404
    assert "not in the ground-truth sample" in response.json()["message"]


# --- scoring ---------------------------------------------------------------------------------

@pytest.fixture
def scored(owner_api, teammate_api, amy, project, images, car, road):
    """Two sample images. Tom's: ground truth cars A, B, C and road; his cars A' (IoU 0.8 with A),
    B' (IoU 0.7 with B), no C (missed), D (spurious), and a road of IoU 0.8. Amy's: exactly the truth."""
    first, second = mark(owner_api, project, percent=10, seed=11).json()["image_ids"]
    a, b, c = box(0, 10, 0, 10), box(0, 10, 10, 20), box(15, 20, 0, 5)
    road_truth = box(10, 20, 0, 20)
    truth = [{"label_class": car.pk, "mask": m} for m in (a, b, c)] + [{"label_class": road.pk, "mask": road_truth}]
    save(owner_api, first, truth, truth=True)
    save(owner_api, second, truth, truth=True)
    save(teammate_api, first, [
        {"label_class": car.pk, "mask": box(0, 10, 0, 8)},  # A': 80 px inside A's 100 -> 0.8
        {"label_class": car.pk, "mask": box(0, 10, 13, 20)},  # B': 70 px inside B's 100 -> 0.7
        {"label_class": car.pk, "mask": box(15, 20, 15, 20)},  # D: nothing there
        {"label_class": road.pk, "mask": box(12, 20, 0, 20)},  # 160 px of the road's 200 -> 0.8
    ])
    save(client_for(amy), second, truth)
    return first, second


def report(api, project, iou=None):
    response = api.get(f"/api/projects/{project.pk}/quality/" + (f"?iou={iou}" if iou is not None else ""))
    assert response.status_code == 200, response.json()
    return response.json()


def test_the_report_scores_each_annotator_at_the_default_threshold(owner_api, project, scored):
    body = report(owner_api, project)
    assert body["threshold"] == 0.5 and body["images_in_sample"] == 2 and body["images_scored"] == 2
    people = {p["username"]: p for p in body["per_annotator"]}
    # Tom: cars A'-A and B'-B matched, D spurious, C missed; the road matched.
    assert people["tom"] == {"username": "tom", "images": 1, "tp": 3, "fp": 1, "fn": 1, "precision": 0.75, "recall": 0.75,
                             "accuracy": 0.6, "mean_iou": round((0.8 + 0.7 + 0.8) / 3, 4)}
    assert people["amy"] == {"username": "amy", "images": 1, "tp": 4, "fp": 0, "fn": 0, "precision": 1.0, "recall": 1.0,
                             "accuracy": 1.0, "mean_iou": 1.0}


def test_the_report_scores_each_class_and_the_semantic_class_iou(owner_api, project, scored, car, road):
    classes = {c["name"]: c for c in report(owner_api, project)["per_class"]}
    assert {k: classes["car"][k] for k in ("tp", "fp", "fn", "precision", "recall", "accuracy", "class_iou")} == {
        "tp": 5, "fp": 1, "fn": 1, "precision": round(5 / 6, 4), "recall": round(5 / 6, 4), "accuracy": round(5 / 7, 4), "class_iou": None,
    }
    assert classes["car"]["mean_iou"] == round((0.8 + 0.7 + 3) / 5, 4)
    # road: 160 / 200 on Tom's image, 200 / 200 on Amy's -> 360 / 400
    assert classes["road"]["tp"] == 2 and classes["road"]["class_iou"] == 0.9 and classes["road"]["mean_iou"] == 0.9


def test_a_stricter_threshold_turns_the_weaker_match_into_a_miss_and_a_spurious_one(owner_api, project, scored):
    tom = next(p for p in report(owner_api, project, iou=0.75)["per_annotator"] if p["username"] == "tom")
    assert (tom["tp"], tom["fp"], tom["fn"]) == (2, 2, 2)  # B' no longer matches B
    assert tom["precision"] == 0.5 and tom["recall"] == 0.5 and tom["accuracy"] == round(2 / 6, 4) and tom["mean_iou"] == 0.8


def test_matching_is_one_to_one_greedy_by_iou():
    truth = [quality.Mask(1, box(0, 10, 0, 10)["counts"])]
    work = [quality.Mask(1, box(0, 10, 0, 6)["counts"]), quality.Mask(1, box(0, 10, 0, 9)["counts"])]  # IoU 0.6 and 0.9
    tally = quality.image_score(work=work, truth=truth, kinds={1: "instance"}, height=20, width=20, threshold=0.5)[1]
    assert (tally.tp, tally.fp, tally.fn) == (1, 1, 0) and tally.iou_sum == pytest.approx(0.9)


def test_work_on_a_crowd_region_of_the_truth_is_not_spurious():
    truth = [quality.Mask(1, box(0, 20, 0, 20)["counts"], iscrowd=True)]
    work = [quality.Mask(1, box(0, 5, 0, 5)["counts"])]
    tally = quality.image_score(work=work, truth=truth, kinds={1: "instance"}, height=20, width=20, threshold=0.5)[1]
    assert (tally.tp, tally.fp, tally.fn) == (0, 0, 0)


def test_the_report_is_for_owners_and_reviewers(teammate_api, outsider_api, reviewer, project, scored):
    assert report(client_for(reviewer), project)["images_scored"] == 2
    assert teammate_api.get(f"/api/projects/{project.pk}/quality/").status_code == 403
    assert outsider_api.get(f"/api/projects/{project.pk}/quality/").status_code == 404
    assert client_for(None).get(f"/api/projects/{project.pk}/quality/").status_code in (401, 403)


@pytest.mark.parametrize("iou", ["0", "1.5", "half"])
def test_a_threshold_outside_0_to_1_is_refused(owner_api, project, scored, iou):
    response = owner_api.get(f"/api/projects/{project.pk}/quality/?iou={iou}")
    assert response.status_code == 400 and response.json()["message"].startswith("iou:")


# --- exports ---------------------------------------------------------------------------------

def _coco(project, **options) -> dict:
    out = io.BytesIO()
    export_write(project=project, options=export_options(format="coco", **options), target=out)
    with zipfile.ZipFile(out) as archive:
        return json.loads(archive.read("annotations/instances_train.json"))


def test_exports_leave_the_ground_truth_images_out_unless_asked(project, images, scored, car):
    first, second = scored
    default = _coco(project)
    assert {i["id"] for i in default["images"]} == {i.pk for i in images} - {first, second}
    assert not {a["image_id"] for a in default["annotations"]} & {first, second}
    asked = _coco(project, include_ground_truth=True)
    assert {i["id"] for i in asked["images"]} == {i.pk for i in images}
    # the sample images come with their ground truth, not Tom's work
    truth_ids = set(Annotation.with_ground_truth.filter(image_id=first, ground_truth=True).values_list("pk", flat=True))
    assert {a["id"] for a in asked["annotations"] if a["image_id"] == first} == truth_ids


def test_the_export_api_takes_the_ground_truth_option(owner_api, project, scored):
    response = owner_api.post(f"/api/projects/{project.pk}/exports/", {"format": "coco", "include_ground_truth": True}, format="json")
    assert response.status_code == 202
    assert response.json()["params"]["include_ground_truth"] is True
    assert response.json()["total"] == 20

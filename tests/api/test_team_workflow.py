"""The team's workflow through the API: classes edited without breaking exports or hotkeys,
images assigned to members, annotators confined to their images, the review flow (status
transitions, reject with a comment back to the annotator, accept), bulk actions and archiving.
Every refusal is checked for its message and for changing nothing."""
from __future__ import annotations

import pytest

from annotations import masks, services
from annotations.models import Image, LabelClass, Project
from tests.api.document_support import document_url, rect
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer(django_user_model, project):
    user = django_user_model.objects.create_user(username="rita", password="reviewer-pass-123")
    services.membership_set(project=project, user=user, role="reviewer")
    return user


@pytest.fixture
def reviewer_api(reviewer):
    return client_for(reviewer)


def _classes(project) -> list[tuple]:
    return list(LabelClass.objects.filter(project=project).order_by("id").values_list("name", "hotkey", "kind", "color"))


def _save(api, image, label_class):
    image.refresh_from_db()
    return api.put(document_url(image), {"version": image.annotation_version, "annotations": [
        {"label_class": label_class.pk, "mask": masks.encode(rect(image, 2, 2, 10, 10))},
    ]}, format="json")


# --- label classes --------------------------------------------------------------------------------

def test_a_duplicate_class_name_is_refused_and_nothing_changes(owner_api, project, car, road):
    before = _classes(project)
    response = owner_api.post(f"/api/projects/{project.pk}/label-classes/", {"name": " car "}, format="json")
    assert response.status_code == 400 and response.json()["message"] == "project 'Streets' already has a class named 'car'"
    renamed = owner_api.patch(f"/api/projects/{project.pk}/label-classes/{road.pk}/", {"name": "car"}, format="json")
    assert renamed.status_code == 400 and "already has a class named 'car'" in renamed.json()["message"]
    assert _classes(project) == before


def test_a_hotkey_used_twice_is_refused_and_nothing_changes(owner_api, project, car, road):
    before = _classes(project)
    response = owner_api.post(f"/api/projects/{project.pk}/label-classes/", {"name": "bike", "hotkey": "1"}, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == "hotkey '1' is already used by class 'car'"
    assert response.json()["extra"]["used_by"] == "car"
    changed = owner_api.patch(f"/api/projects/{project.pk}/label-classes/{road.pk}/", {"hotkey": "1", "color": "#00ff00"}, format="json")
    assert changed.status_code == 400 and "hotkey '1' is already used by class 'car'" in changed.json()["message"]
    assert _classes(project) == before


def test_a_name_an_export_cannot_carry_is_refused(owner_api, project, car):
    response = owner_api.patch(f"/api/projects/{project.pk}/label-classes/{car.pk}/", {"name": "two\nlines"}, format="json")
    assert response.status_code == 400 and "control character" in response.json()["message"]
    assert _classes(project) == [("car", "1", "instance", "#ff0000")]


def test_the_owner_edits_a_class(owner_api, project, car):
    response = owner_api.patch(f"/api/projects/{project.pk}/label-classes/{car.pk}/",
                               {"name": "vehicle", "color": "#00AA00", "hotkey": "v", "order": 5, "kind": "semantic"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == {"id": car.pk, "name": "vehicle", "color": "#00aa00", "kind": "semantic", "hotkey": "v", "order": 5}


def test_a_class_in_use_keeps_its_kind(owner_api, project, car, image):
    _save(owner_api, image, car)
    response = owner_api.patch(f"/api/projects/{project.pk}/label-classes/{car.pk}/", {"kind": "semantic"}, format="json")
    assert response.status_code == 400 and "its kind cannot change" in response.json()["message"]
    car.refresh_from_db()
    assert car.kind == "instance"


def test_deleting_a_class_in_use_asks_for_confirmation_first(owner_api, project, car, road, image):
    _save(owner_api, image, car)
    version = Image.objects.get(pk=image.pk).annotation_version
    url = f"/api/projects/{project.pk}/label-classes/{car.pk}/"
    refused = owner_api.delete(url)
    assert refused.status_code == 409
    assert refused.json()["message"] == ("class 'car' is used by 1 annotation(s) on 1 image(s); "
                                         "confirm to delete the class and those annotations")
    assert LabelClass.objects.filter(pk=car.pk).exists() and image.annotations.count() == 1
    assert owner_api.delete(url + "?confirm=true").json() == {"annotations_deleted": 1}
    assert not LabelClass.objects.filter(pk=car.pk).exists() and image.annotations.count() == 0
    assert Image.objects.get(pk=image.pk).annotation_version == version + 1  # the document changed: a new revision
    assert owner_api.delete(f"/api/projects/{project.pk}/label-classes/{road.pk}/").json() == {"annotations_deleted": 0}


def test_annotators_do_not_edit_classes(teammate_api, project, car):
    response = teammate_api.patch(f"/api/projects/{project.pk}/label-classes/{car.pk}/", {"name": "auto"}, format="json")
    assert response.status_code == 403 and teammate_api.delete(f"/api/projects/{project.pk}/label-classes/{car.pk}/").status_code == 403
    assert _classes(project) == [("car", "1", "instance", "#ff0000")]


# --- assignment and what annotators see ---------------------------------------------------------------

def _bulk(api, project, **body):
    return api.post(f"/api/projects/{project.pk}/images/bulk/", body, format="json")


def test_assigning_to_a_non_member_is_refused_and_nothing_changes(owner_api, project, make_image, outsider):
    a, b = make_image(), make_image()
    assert _bulk(owner_api, project, action="assign", images=[a.pk], assignee="tom").json() == {"changed": 1}
    response = _bulk(owner_api, project, action="assign", images=[a.pk, b.pk], assignee="oscar")
    assert response.status_code == 400
    assert response.json()["message"] == "'oscar' is not a member of project 'Streets'; invite them first"
    assert dict(Image.objects.values_list("pk", "assignee__username")) == {a.pk: "tom", b.pk: None}


def test_images_of_another_project_cannot_be_bulk_changed(owner_api, project, make_image, owner):
    other = services.project_create(name="Other", owner=owner)
    mine, theirs = make_image(), make_image(target=other)
    response = _bulk(owner_api, project, action="delete", images=[mine.pk, theirs.pk])
    assert response.status_code == 400 and f"image(s) {theirs.pk} are not in project 'Streets'" in response.json()["message"]
    assert Image.objects.count() == 2


def test_an_annotator_opening_an_image_assigned_to_someone_else_is_told_so(owner_api, teammate_api, client, teammate, project, car, make_image, reviewer):
    theirs = make_image(name="theirs.png")
    _bulk(owner_api, project, action="assign", images=[theirs.pk], assignee="rita")
    for response in (teammate_api.get(f"/api/images/{theirs.pk}/"), teammate_api.get(document_url(theirs)), _save(teammate_api, theirs, car),
                     teammate_api.patch(f"/api/images/{theirs.pk}/", {"status": "done"}, format="json")):
        assert response.status_code == 403
        assert response.json()["message"] == (f"image {theirs.pk} (theirs.png) is assigned to 'rita'; "
                                               "annotators open only the images assigned to them")
    theirs.refresh_from_db()
    assert (theirs.status, theirs.annotation_version, theirs.annotations.count()) == ("new", 0, 0)
    client.force_login(teammate)
    page = client.get(f"/projects/{project.pk}/images/{theirs.pk}/edit/")
    assert page.status_code == 403 and b"is assigned to &#x27;rita&#x27;" in page.content


def test_an_annotator_gets_the_files_of_their_images_only(client, owner_api, teammate, project, make_image):
    mine, theirs = make_image(), make_image()
    _bulk(owner_api, project, action="assign", images=[mine.pk], assignee="tom")
    _bulk(owner_api, project, action="assign", images=[theirs.pk], assignee="olivia")
    client.force_login(teammate)
    assert client.get(f"/media/{mine.file.name}").status_code == 200
    assert client.get(f"/media/{theirs.file.name}").status_code == 404


def test_annotators_see_their_images_and_unassigned_ones_when_the_project_allows(owner_api, teammate_api, reviewer_api, project, make_image):
    mine, theirs, nobodys = make_image(), make_image(), make_image()
    _bulk(owner_api, project, action="assign", images=[mine.pk], assignee="tom")
    _bulk(owner_api, project, action="assign", images=[theirs.pk], assignee="rita")
    listed = lambda api: {i["id"] for i in api.get(f"/api/projects/{project.pk}/images/").json()["results"]}  # noqa: E731
    assert listed(teammate_api) == {mine.pk, nobodys.pk}
    assert listed(reviewer_api) == listed(owner_api) == {mine.pk, theirs.pk, nobodys.pk}
    assert owner_api.patch(f"/api/projects/{project.pk}/", {"annotators_see_unassigned": False}, format="json").status_code == 200
    assert listed(teammate_api) == {mine.pk}
    assert teammate_api.get(f"/api/images/{nobodys.pk}/").status_code == 403


def test_previous_and_next_skip_the_images_an_annotator_may_not_open(owner_api, teammate_api, project, make_image):
    a, b, c = make_image(), make_image(), make_image()
    _bulk(owner_api, project, action="assign", images=[a.pk, c.pk], assignee="tom")
    _bulk(owner_api, project, action="assign", images=[b.pk], assignee="olivia")
    body = teammate_api.get(f"/api/images/{a.pk}/").json()
    assert (body["prev_id"], body["next_id"]) == (None, c.pk)
    assert owner_api.get(f"/api/images/{a.pk}/").json()["next_id"] == b.pk


def test_next_image_takes_the_next_one_assigned_to_you(owner_api, teammate_api, project, make_image):
    a, b, c = make_image(), make_image(), make_image()
    Image.objects.filter(pk=a.pk).update(uncertainty=0.9)  # the most uncertain, but not tom's
    _bulk(owner_api, project, action="assign", images=[c.pk], assignee="tom")
    body = teammate_api.get(f"/api/projects/{project.pk}/next-image/").json()
    assert (body["image"]["id"], body["reason"]) == (c.pk, "assigned, order")
    assert teammate_api.get(f"/api/images/{b.pk}/").json()["next_suggested_id"] == c.pk
    assert owner_api.get(f"/api/projects/{project.pk}/next-image/").json()["image"]["id"] == a.pk


def test_the_images_api_filters_by_status_assignee_split_and_name(owner_api, project, make_image):
    a, b, c = make_image(name="street_01.png"), make_image(name="street_02.png"), make_image(name="park.png")
    Image.objects.filter(pk=a.pk).update(split="train", status="done")
    Image.objects.filter(pk=c.pk).update(split="val", uncertainty=0.5)
    _bulk(owner_api, project, action="assign", images=[b.pk], assignee="tom")
    ids = lambda **q: [i["id"] for i in owner_api.get(f"/api/projects/{project.pk}/images/", q).json()["results"]]  # noqa: E731
    assert ids(status="done") == [a.pk]
    assert ids(assignee="tom") == [b.pk] and ids(assignee="none") == [a.pk, c.pk]
    assert ids(split="val") == [c.pk] and ids(split="none") == [b.pk]
    assert ids(name="STREET") == [a.pk, b.pk]
    assert ids(ordering="uncertainty")[0] == c.pk
    assert owner_api.get(f"/api/projects/{project.pk}/images/", {"assignee": "tom"}).json()["results"][0]["assignee"] == "tom"


# --- the review flow ---------------------------------------------------------------------------------

def test_illegal_status_transitions_are_refused(teammate_api, reviewer_api, image):
    patch = lambda api, status: api.patch(f"/api/images/{image.pk}/", {"status": status}, format="json")  # noqa: E731
    refused = patch(reviewer_api, "reviewed")
    assert refused.status_code == 400
    assert refused.json()["message"] == f"image {image.pk} cannot go from new to reviewed; from new it may go to done, in_progress"
    assert patch(teammate_api, "in_progress").status_code == 200
    assert patch(teammate_api, "new").status_code == 400
    image.refresh_from_db()
    assert image.status == "in_progress"


def test_a_rejection_needs_a_comment_and_changes_nothing_without_one(teammate_api, reviewer_api, image):
    teammate_api.patch(f"/api/images/{image.pk}/", {"status": "done"}, format="json")
    response = reviewer_api.post(f"/api/images/{image.pk}/review/", {"decision": "reject", "comment": "  "}, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == "say what to fix: a rejected image needs a comment for its annotator"
    image.refresh_from_db()
    assert (image.status, image.review_comment) == ("done", "")


def test_a_rejected_image_goes_back_to_its_annotator_with_the_comment_and_accepting_clears_it(teammate_api, reviewer_api, car, image):
    assert _save(teammate_api, image, car).status_code == 200  # nobody assigned: tom did the work
    teammate_api.patch(f"/api/images/{image.pk}/", {"status": "done"}, format="json")
    rejected = reviewer_api.post(f"/api/images/{image.pk}/review/", {"decision": "reject", "comment": "the car's mirror is missing"}, format="json")
    assert rejected.status_code == 200, rejected.json()
    assert (rejected.json()["status"], rejected.json()["assignee"], rejected.json()["review_comment"]) == ("in_progress", "tom", "the car's mirror is missing")
    assert teammate_api.get(f"/api/images/{image.pk}/").json()["review_comment"] == "the car's mirror is missing"
    early = reviewer_api.post(f"/api/images/{image.pk}/review/", {"decision": "accept"}, format="json")
    assert early.status_code == 400 and "only done images are reviewed" in early.json()["message"]
    teammate_api.patch(f"/api/images/{image.pk}/", {"status": "done"}, format="json")
    accepted = reviewer_api.post(f"/api/images/{image.pk}/review/", {"decision": "accept"}, format="json")
    assert (accepted.json()["status"], accepted.json()["review_comment"]) == ("reviewed", "")


def test_annotators_do_not_review(teammate_api, image):
    teammate_api.patch(f"/api/images/{image.pk}/", {"status": "done"}, format="json")
    response = teammate_api.post(f"/api/images/{image.pk}/review/", {"decision": "accept"}, format="json")
    assert response.status_code == 403 and "reviewer or owner" in response.json()["message"]
    image.refresh_from_db()
    assert image.status == "done"


def test_bulk_status_is_all_or_nothing_along_the_flow(teammate_api, reviewer_api, project, make_image):
    a, b = make_image(), make_image()
    Image.objects.filter(pk=a.pk).update(status="done")
    Image.objects.filter(pk=b.pk).update(status="in_progress")
    refused = _bulk(reviewer_api, project, action="status", images=[a.pk, b.pk], status="reviewed")
    assert refused.status_code == 400 and f"image {b.pk} cannot go from in_progress to reviewed" in refused.json()["message"]
    assert _bulk(teammate_api, project, action="status", images=[a.pk], status="reviewed").status_code == 403
    assert dict(Image.objects.values_list("pk", "status")) == {a.pk: "done", b.pk: "in_progress"}  # a was legal, and is unchanged too
    assert _bulk(reviewer_api, project, action="status", images=[a.pk], status="reviewed").json() == {"changed": 1}


def test_only_owners_bulk_delete(owner_api, teammate_api, project, make_image):
    a, b = make_image(), make_image()
    refused = _bulk(teammate_api, project, action="delete", images=[a.pk])
    assert refused.status_code == 403 and Image.objects.count() == 2
    assert _bulk(owner_api, project, action="delete", images=[a.pk, b.pk]).json() == {"changed": 2}
    assert Image.objects.count() == 0


# --- projects ------------------------------------------------------------------------------------------

def test_archiving_hides_a_project_and_its_owner_brings_it_back(owner_api, teammate_api, project):
    assert teammate_api.patch(f"/api/projects/{project.pk}/", {"archived": True}, format="json").status_code == 403
    assert owner_api.patch(f"/api/projects/{project.pk}/", {"archived": True}, format="json").json()["archived"] is True
    assert owner_api.get("/api/projects/").json() == []
    assert [p["name"] for p in owner_api.get("/api/projects/?archived=true").json()] == ["Streets"]
    owner_api.patch(f"/api/projects/{project.pk}/", {"archived": False}, format="json")
    assert [p["name"] for p in teammate_api.get("/api/projects/").json()] == ["Streets"]


def test_a_project_keeps_a_name(owner_api, project):
    response = owner_api.patch(f"/api/projects/{project.pk}/", {"name": "  "}, format="json")
    assert response.status_code == 400
    assert Project.objects.get(pk=project.pk).name == "Streets"


def test_an_annotator_cannot_save_to_an_image_assigned_to_someone_else_in_full_or_by_delta(owner_api, teammate_api, project, make_image, car):
    theirs = make_image()
    _bulk(owner_api, project, action="assign", images=[theirs.pk], assignee="olivia")
    mask = masks.encode(rect(theirs, 2, 2, 5, 5))
    full = teammate_api.put(document_url(theirs), {"version": 0, "annotations": [{"label_class": car.pk, "mask": mask}]}, format="json")
    delta = teammate_api.patch(document_url(theirs), {"version": 0, "upsert": [{"label_class": car.pk, "mask": mask}]}, format="json")
    assert full.status_code == delta.status_code == 403
    assert "assigned to 'olivia'" in delta.json()["message"]
    theirs.refresh_from_db()
    assert theirs.annotation_version == 0 and not theirs.annotations.exists()


def test_the_one_image_visibility_check_agrees_with_the_filter(project, teammate, reviewer, owner, make_image, django_user_model):
    """image_get decides with image_visible (no query); the lists filter with image_visibility's
    Q. Both say the same of every image, for every role, with and without unassigned images shown."""
    from annotations import selectors

    other = django_user_model.objects.create_user(username="otto", password="other-pass-1234")
    services.membership_set(project=project, user=other, role="annotator")
    images = [make_image() for _ in range(3)]
    Image.objects.filter(pk=images[0].pk).update(assignee=teammate)
    Image.objects.filter(pk=images[1].pk).update(assignee=other)
    for see_unassigned in (True, False):
        services.project_update(project=project, annotators_see_unassigned=see_unassigned)
        for user in (teammate, other, reviewer, owner):
            role = selectors.membership_role(user=user, project=project)
            for image in Image.objects.filter(pk__in=[i.pk for i in images]).select_related("project"):
                rule = selectors.image_visibility(user=user, project=image.project, role=role)
                by_filter = rule is None or Image.objects.filter(rule, pk=image.pk).exists()
                assert selectors.image_visible(user=user, image=image, role=role) == by_filter, (user, image.file_name, see_unassigned)

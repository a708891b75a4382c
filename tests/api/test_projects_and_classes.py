"""Projects and label classes through the API, scoped to members."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_creating_a_project_makes_you_its_owner(owner_api, owner):
    response = owner_api.post("/api/projects/", {"name": "Cells", "description": "microscopy"}, format="json")
    assert response.status_code == 201
    project_id = response.json()["id"]
    assert owner.memberships.get(project_id=project_id).role == "owner"


def test_members_see_their_projects_only(owner_api, teammate_api, outsider_api, project):
    assert [p["name"] for p in owner_api.get("/api/projects/").json()] == ["Streets"]
    assert [p["name"] for p in teammate_api.get("/api/projects/").json()] == ["Streets"]
    assert outsider_api.get("/api/projects/").json() == []
    assert outsider_api.get(f"/api/projects/{project.pk}/").status_code == 404


def test_project_detail_lists_label_classes(owner_api, project, car, road):
    body = owner_api.get(f"/api/projects/{project.pk}/").json()
    assert [(c["name"], c["kind"], c["color"], c["hotkey"]) for c in body["label_classes"]] == [
        ("car", "instance", "#ff0000", "1"), ("road", "semantic", "#808080", "2")]


def test_owner_adds_a_label_class(owner_api, project):
    response = owner_api.post(f"/api/projects/{project.pk}/label-classes/",
                              {"name": "tree", "kind": "semantic", "color": "#00AA00", "hotkey": "3"}, format="json")
    assert response.status_code == 201 and response.json()["color"] == "#00aa00"


def test_class_names_are_unique_per_project(owner_api, project, car):
    response = owner_api.post(f"/api/projects/{project.pk}/label-classes/", {"name": "car"}, format="json")
    assert response.status_code == 400 and "already has a class named 'car'" in response.json()["message"]
    assert project.label_classes.count() == 1


def test_bad_class_kind_and_colour_are_refused(owner_api, project):
    r1 = owner_api.post(f"/api/projects/{project.pk}/label-classes/", {"name": "x", "kind": "blob"}, format="json")
    r2 = owner_api.post(f"/api/projects/{project.pk}/label-classes/", {"name": "y", "color": "red"}, format="json")
    assert r1.status_code == 400 and "kind" in r1.json()["message"]
    assert r2.status_code == 400 and "#rrggbb" in r2.json()["message"]
    assert project.label_classes.count() == 0


def test_annotators_cannot_change_classes(teammate_api, project):
    response = teammate_api.post(f"/api/projects/{project.pk}/label-classes/", {"name": "bus"}, format="json")
    assert response.status_code == 403 and "owner" in response.json()["message"]


def test_token_auth_works(client, owner, project):
    token = client.post("/api/auth/token/", {"username": "olivia", "password": "owner-pass-123"}).json()["token"]
    response = client.get("/api/projects/", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200 and response.json()[0]["name"] == "Streets"


def test_openapi_schema_is_served(owner_api):
    response = owner_api.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert "/api/images/{image_id}/annotations/" in schema["paths"]
    assert "put" in schema["paths"]["/api/images/{image_id}/annotations/"]

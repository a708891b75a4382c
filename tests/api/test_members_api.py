"""Project members through the API: owners invite, re-role and remove people, the invited accept;
a project keeps an owner."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def _members(api, project):
    return {m["username"]: m["role"] for m in api.get(f"/api/projects/{project.pk}/members/").json()}


def test_members_are_listed(teammate_api, project):
    assert _members(teammate_api, project) == {"olivia": "owner", "tom": "annotator"}


def test_the_owner_invites_an_outsider_who_accepts_and_then_sees_the_project(owner_api, outsider_api, project):
    assert outsider_api.get(f"/api/projects/{project.pk}/").status_code == 404
    response = owner_api.post(f"/api/projects/{project.pk}/members/", {"username": "oscar", "role": "reviewer"}, format="json")
    assert response.status_code == 202 and response.json()["role"] == "reviewer"
    assert outsider_api.get(f"/api/projects/{project.pk}/").status_code == 404  # not before accepting
    accepted = outsider_api.post("/api/invitations/accept/", {"token": response.json()["token"]}, format="json")
    assert accepted.status_code == 201 and accepted.json() == {"username": "oscar", "role": "reviewer"}
    assert outsider_api.get(f"/api/projects/{project.pk}/").status_code == 200


def test_adding_again_changes_the_role(owner_api, project):
    owner_api.post(f"/api/projects/{project.pk}/members/", {"username": "tom", "role": "reviewer"}, format="json")
    assert _members(owner_api, project)["tom"] == "reviewer"


def test_unknown_users_are_not_revealed_and_unknown_roles_are_refused(owner_api, project):
    r1 = owner_api.post(f"/api/projects/{project.pk}/members/", {"username": "nobody"}, format="json")
    r2 = owner_api.post(f"/api/projects/{project.pk}/members/", {"username": "tom", "role": "boss"}, format="json")
    assert r1.status_code == 202 and r1.json()["username"] == "nobody"  # the same answer as for a real user
    assert r2.status_code == 400
    assert _members(owner_api, project) == {"olivia": "owner", "tom": "annotator"}


def test_annotators_cannot_manage_members(teammate_api, project):
    response = teammate_api.post(f"/api/projects/{project.pk}/members/", {"username": "oscar"}, format="json")
    assert response.status_code == 403
    assert teammate_api.delete(f"/api/projects/{project.pk}/members/olivia/").status_code == 403


def test_removing_a_member(owner_api, teammate_api, project):
    assert owner_api.delete(f"/api/projects/{project.pk}/members/tom/").status_code == 204
    assert teammate_api.get(f"/api/projects/{project.pk}/").status_code == 404


def test_the_last_owner_cannot_leave_or_be_demoted(owner_api, project):
    r1 = owner_api.delete(f"/api/projects/{project.pk}/members/olivia/")
    r2 = owner_api.post(f"/api/projects/{project.pk}/members/", {"username": "olivia", "role": "annotator"}, format="json")
    assert r1.status_code == 400 and "last owner" in r1.json()["message"]
    assert r2.status_code == 400 and "last owner" in r2.json()["message"]
    assert _members(owner_api, project)["olivia"] == "owner"


def test_the_add_member_command_creates_and_adds(project):
    import io

    from django.core.management import call_command

    from annotations.models import Membership

    out = io.StringIO()
    call_command("add_member", str(project.pk), "rita", "--role", "reviewer", "--create", stdout=out)
    assert "created user 'rita' with password" in out.getvalue()
    assert Membership.objects.get(project=project, user__username="rita").role == "reviewer"


def test_the_add_member_command_refuses_unknown_users(project):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="no user named 'ghost'"):
        call_command("add_member", str(project.pk), "ghost")

"""The team pages as rendered: the project list's progress and assignees, archived projects, the
images grid's filters and paging, and the class, member and settings pages by role."""
from __future__ import annotations

import re

import pytest

from annotations import services
from annotations.models import Image

pytestmark = pytest.mark.django_db


def test_the_project_list_shows_progress_and_who_works_on_what(client, owner, teammate, project, make_image):
    images = [make_image() for _ in range(4)]
    Image.objects.filter(pk=images[0].pk).update(status="done", assignee=teammate)
    Image.objects.filter(pk=images[1].pk).update(status="reviewed", assignee=teammate)
    Image.objects.filter(pk=images[2].pk).update(assignee=teammate)
    client.force_login(owner)
    page = client.get("/").content.decode()
    assert "1 / 1 / 4" in page  # done / reviewed / total
    assert re.search(r"tom <b>1</b>/3", page)  # one open of three assigned
    assert f".bar-{project.pk} .done{{left:25%;width:25%}}" in page


def test_archived_projects_leave_the_list_and_are_listed_apart(client, owner, project):
    services.project_update(project=project, archived=True)
    client.force_login(owner)
    assert "Streets" not in client.get("/").content.decode()
    archived = client.get("/?archived=1").content.decode()
    assert "Streets" in archived and "Archived projects" in archived


def test_a_user_sees_their_projects_only(client, outsider, project):
    services.project_create(name="Oscar's own", owner=outsider)
    client.force_login(outsider)
    page = client.get("/").content.decode()
    assert "Oscar&#x27;s own" in page and "Streets" not in page


def test_the_grid_filters_and_keeps_filters_across_pages(client, owner, project, make_image):
    for i in range(62):
        make_image(name=f"street_{i:02d}.png")
    make_image(name="park.png")
    client.force_login(owner)
    page = client.get(f"/projects/{project.pk}/", {"name": "street"}).content.decode()
    assert "63" not in page and "62 image(s)" in page and "park.png" not in page
    assert "?name=street&amp;page=2" in page
    assert "park.png" in client.get(f"/projects/{project.pk}/", {"name": "PARK"}).content.decode()


def test_an_annotators_grid_shows_only_their_images(client, owner, teammate, project, make_image):
    mine, theirs = make_image(name="mine.png"), make_image(name="theirs.png")
    services.images_assign(project=project, image_ids=[mine.pk], username="tom")
    services.images_assign(project=project, image_ids=[theirs.pk], username="olivia")
    client.force_login(teammate)
    page = client.get(f"/projects/{project.pk}/").content.decode()
    assert "mine.png" in page and "theirs.png" not in page


@pytest.mark.parametrize("path", ["classes", "members", "settings"])
def test_the_team_pages_are_for_members_and_only_owners_get_the_controls(client, owner, teammate, outsider, project, car, path):
    client.force_login(owner)
    as_owner = client.get(f"/projects/{project.pk}/{path}/").content.decode().split("data-team-page")[1]
    client.force_login(teammate)
    as_annotator = client.get(f"/projects/{project.pk}/{path}/").content.decode().split("data-team-page")[1]
    assert "<button" in as_owner and "<button" not in as_annotator
    client.force_login(outsider)
    assert client.get(f"/projects/{project.pk}/{path}/").status_code == 404

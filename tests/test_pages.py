"""Server-rendered pages: login, project list, image grid, the editor shell."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_pages_need_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_login_page_renders(client):
    assert b"Log in" in client.get("/accounts/login/").content


def test_project_list_and_image_grid(client, owner, project, image):
    client.force_login(owner)
    assert b"Streets" in client.get("/").content
    page = client.get(f"/projects/{project.pk}/").content.decode()
    assert image.file_name in page and f"/projects/{project.pk}/images/{image.pk}/edit/" in page


def test_editor_shell_carries_the_ids(client, owner, project, image):
    client.force_login(owner)
    page = client.get(f"/projects/{project.pk}/images/{image.pk}/edit/").content.decode()
    assert f'data-image-id="{image.pk}"' in page


def test_editor_shell_carries_the_photo_url_the_api_gives(client, owner, project, image):
    """The editor starts the photo's request from it, before the API answers."""
    client.force_login(owner)
    page = client.get(f"/projects/{project.pk}/images/{image.pk}/edit/").content.decode()
    url = client.get(f"/api/images/{image.pk}/").json()["url"]
    assert f'data-image-url="{url}"' in page
    assert client.get(url).status_code == 200


def test_outsiders_get_404_pages(client, outsider, project, image):
    client.force_login(outsider)
    assert client.get(f"/projects/{project.pk}/").status_code == 404
    assert client.get(f"/projects/{project.pk}/images/{image.pk}/edit/").status_code == 404

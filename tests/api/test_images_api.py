"""Image upload (files and zip), listing with pagination and status filter, status changes."""
from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotations.models import Image

from ..conftest import png_bytes

pytestmark = pytest.mark.django_db


def _upload(api, project, **data):
    return api.post(f"/api/projects/{project.pk}/images/", data, format="multipart")


def test_uploading_many_files(teammate_api, project):
    files = [SimpleUploadedFile(f"p{i}.png", png_bytes(seed=i), content_type="image/png") for i in range(3)]
    response = _upload(teammate_api, project, files=files)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert sorted(i["file_name"] for i in body["created"]) == ["p0.png", "p1.png", "p2.png"]
    assert body["thumbnail_job"] is not None


def test_uploading_a_zip(owner_api, project):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.png", png_bytes(seed=1))
        archive.writestr("b.png", png_bytes(seed=2))
    response = _upload(owner_api, project, archive=SimpleUploadedFile("set.zip", buffer.getvalue()))
    assert response.status_code == 201 and len(response.json()["created"]) == 2


def test_a_bad_file_refuses_the_whole_upload(owner_api, project):
    files = [SimpleUploadedFile("ok.png", png_bytes(seed=3)), SimpleUploadedFile("bad.png", b"\x89PNG broken")]
    response = _upload(owner_api, project, files=files)
    assert response.status_code == 400
    assert "bad.png" in response.json()["message"] and response.json()["extra"]["errors"]
    assert Image.objects.count() == 0


def test_a_zip_slip_upload_is_refused(owner_api, project):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../escape.png", png_bytes(seed=4))
    response = _upload(owner_api, project, archive=SimpleUploadedFile("evil.zip", buffer.getvalue()))
    assert response.status_code == 400 and "escapes the archive" in response.json()["message"]
    assert Image.objects.count() == 0


def test_outsiders_cannot_upload(outsider_api, project):
    response = _upload(outsider_api, project, files=[SimpleUploadedFile("a.png", png_bytes())])
    assert response.status_code == 404 and Image.objects.count() == 0


def test_listing_is_paginated_and_filters_by_status(owner_api, project, make_image):
    images = [make_image() for _ in range(3)]
    Image.objects.filter(pk=images[1].pk).update(status="done")
    page = owner_api.get(f"/api/projects/{project.pk}/images/?page_size=2").json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    done = owner_api.get(f"/api/projects/{project.pk}/images/?status=done").json()
    assert [i["id"] for i in done["results"]] == [images[1].pk]


def test_image_detail_has_neighbours_and_urls(owner_api, make_image):
    a, b, c = make_image(), make_image(), make_image()
    body = owner_api.get(f"/api/images/{b.pk}/").json()
    assert (body["prev_id"], body["next_id"]) == (a.pk, c.pk)
    assert body["url"] == f"/media/{b.file.name}" and (body["width"], body["height"]) == (64, 48)


def test_setting_the_status(teammate_api, image):
    assert teammate_api.patch(f"/api/images/{image.pk}/", {"status": "done"}, format="json").json()["status"] == "done"
    response = teammate_api.patch(f"/api/images/{image.pk}/", {"status": "finished"}, format="json")
    assert response.status_code == 400
    image.refresh_from_db()
    assert image.status == "done"


def test_media_is_served_to_members_only(client, owner, outsider, image):
    client.force_login(owner)
    response = client.get(f"/media/{image.file.name}")
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"\x89PNG")
    client.force_login(outsider)
    assert client.get(f"/media/{image.file.name}").status_code == 404


def test_image_detail_suggests_the_most_uncertain_unlabeled_image(owner_api, make_image):
    a, b, c, d = make_image(), make_image(), make_image(), make_image()
    Image.objects.filter(pk=b.pk).update(uncertainty=0.2)
    Image.objects.filter(pk=c.pk).update(uncertainty=0.9, status="done")  # labeled: not suggested
    Image.objects.filter(pk=d.pk).update(uncertainty=0.7)
    assert owner_api.get(f"/api/images/{a.pk}/").json()["next_suggested_id"] == d.pk
    assert owner_api.get(f"/api/images/{d.pk}/").json()["next_suggested_id"] == b.pk


def test_only_reviewers_and_owners_mark_images_reviewed(teammate_api, owner_api, outsider, project, image):
    from annotations import services
    from rest_framework.test import APIClient

    response = teammate_api.patch(f"/api/images/{image.pk}/", {"status": "reviewed"}, format="json")
    assert response.status_code == 403 and "reviewer or owner" in response.json()["message"]
    image.refresh_from_db()
    assert image.status == "new"
    services.membership_set(project=project, user=outsider, role="reviewer")
    assert teammate_api.patch(f"/api/images/{image.pk}/", {"status": "done"}, format="json").status_code == 200  # the flow: done first
    reviewer_api = APIClient()
    reviewer_api.force_authenticate(outsider)
    assert reviewer_api.patch(f"/api/images/{image.pk}/", {"status": "reviewed"}, format="json").json()["status"] == "reviewed"
    # an annotator cannot take the mark back either
    assert teammate_api.patch(f"/api/images/{image.pk}/", {"status": "done"}, format="json").status_code == 403
    assert owner_api.patch(f"/api/images/{image.pk}/", {"status": "done"}, format="json").status_code == 200

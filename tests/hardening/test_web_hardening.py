"""The web tier's protections, one test each: the reviewed-image rule, numbers out of range and
oversized bodies in the one error shape, safe settings by default, bounded builder arguments and
checkpoint uploads, clean Job messages, login throttling, the CSP and HTTPS headers, Pillow's
pixel limit, membership by invitation, and the assist naming an unknown version."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rest_framework.test import APIClient

from annotations import masks
from annotations.models import Image, Job, Membership, ModelVersion
from tests.conftest import client_for, png_bytes

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _mask(h=48, w=64):
    bitmap = np.zeros((h, w), np.uint8)
    bitmap[5:20, 5:30] = 1
    return masks.encode(bitmap)


# 4. ground truth ------------------------------------------------------------------------------
def test_an_annotator_cannot_change_a_reviewed_image_but_a_reviewer_can(teammate_api, reviewer, project, car, image):
    Image.objects.filter(pk=image.pk).update(status=Image.Status.REVIEWED)
    body = {"version": 0, "annotations": [{"label_class": car.pk, "mask": _mask()}]}
    refused = teammate_api.put(f"/api/images/{image.pk}/annotations/", body, format="json")
    assert refused.status_code == 403 and "reviewed" in refused.json()["message"]
    assert image.annotations.count() == 0
    assert Image.objects.get(pk=image.pk).status == Image.Status.REVIEWED
    accepted = client_for(reviewer).put(f"/api/images/{image.pk}/annotations/", body, format="json")
    assert accepted.status_code == 200 and image.annotations.count() == 1


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_a_review_that_lands_while_an_annotator_saves_wins(teammate_api, project, car, image, monkeypatch, method):
    """A save reads and checks outside its transaction, then writes under the lock: a review that
    commits in between (here: while the save checks its masks) must still refuse the annotator."""
    from annotations import services

    checked = services._checked_geometry

    def review_meanwhile(**kwargs):
        Image.objects.filter(pk=image.pk).update(status=Image.Status.REVIEWED)  # another request commits
        return checked(**kwargs)

    monkeypatch.setattr(services, "_checked_geometry", review_meanwhile)
    item = {"label_class": car.pk, "mask": _mask()}
    url = f"/api/images/{image.pk}/annotations/"
    refused = (teammate_api.put(url, {"version": 0, "annotations": [item]}, format="json") if method == "PUT"
               else teammate_api.patch(url, {"version": 0, "upsert": [item]}, format="json"))
    assert refused.status_code == 403 and "reviewed" in refused.json()["message"]
    image.refresh_from_db()
    assert (image.annotations.count(), image.annotation_version, image.status) == (0, 0, Image.Status.REVIEWED)
    assert not image.revisions.exists()


def test_a_save_that_lands_while_another_saves_makes_the_second_stale(teammate_api, owner, project, car, image, monkeypatch):
    """Both read version 0; the one that reaches the lock second is refused whole (409), nothing of it written."""
    from annotations import services

    checked = services._checked_geometry
    first = {"label_class": car.pk, "mask": _mask()}

    def other_save_meanwhile(**kwargs):
        monkeypatch.setattr(services, "_checked_geometry", checked)
        services.annotation_document_save(image=Image.objects.get(pk=image.pk), user=owner, version=0, annotations=[first])
        return checked(**kwargs)

    monkeypatch.setattr(services, "_checked_geometry", other_save_meanwhile)
    second = {"label_class": car.pk, "mask": _mask(), "z_order": 7}
    refused = teammate_api.put(f"/api/images/{image.pk}/annotations/", {"version": 0, "annotations": [second]}, format="json")
    assert refused.status_code == 409, refused.content
    image.refresh_from_db()
    assert image.annotation_version == 1
    assert list(image.annotations.values_list("z_order", "author__username")) == [(0, owner.username)]


# 5. errors in the one shape --------------------------------------------------------------------
@pytest.mark.parametrize("field", ["version", "z_order", "order", "path"])
def test_numbers_beyond_the_database_are_refused_not_500(owner_api, project, car, image, field):
    huge = 10**30
    if field == "version":
        response = owner_api.put(f"/api/images/{image.pk}/annotations/", {"version": huge, "annotations": []}, format="json")
    elif field == "z_order":
        response = owner_api.put(f"/api/images/{image.pk}/annotations/", {
            "version": 0, "annotations": [{"label_class": car.pk, "mask": _mask(), "z_order": huge}]}, format="json")
    elif field == "order":
        response = owner_api.post(f"/api/projects/{project.pk}/label-classes/", {"name": "bus", "order": huge}, format="json")
    else:
        response = owner_api.get(f"/api/images/{huge}/annotations/")
    assert response.status_code in (400, 404), response.content
    assert set(response.json()) == {"message", "extra"}


def test_a_70_mb_body_gets_413_in_the_error_shape(owner_api, image):
    response = owner_api.generic("PUT", f"/api/images/{image.pk}/annotations/", b"[" + b" " * (70 * 1024 * 1024) + b"]",
                                 content_type="application/json")
    assert response.status_code == 413 and response["Content-Type"] == "application/json"
    assert "over the limit" in response.json()["message"]


def test_unknown_api_paths_and_crashes_answer_json_never_a_debug_page(owner_api, image, monkeypatch, settings):
    missing = owner_api.get("/api/no-such-thing/")
    assert missing.status_code == 404 and missing.json() == {"message": "not found", "extra": {}}
    from annotations import selectors

    settings.DEBUG = True  # even so: the API's crash answer is the error shape

    monkeypatch.setattr(selectors, "document_rows", lambda **kw: 1 / 0)
    APIClient.raise_request_exception = False
    crash = owner_api.get(f"/api/images/{image.pk}/annotations/")
    assert crash.status_code == 500 and crash.json() == {"message": "internal error; it has been logged", "extra": {}}
    assert b"Traceback" not in crash.content and b"SECRET_KEY" not in crash.content


def test_settings_default_to_debug_off_with_a_secret_generated_once_into_var(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    env.update(LABELER_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="labeler.settings")
    read = [sys.executable, "-c", "from django.conf import settings; print(settings.DEBUG, settings.SECRET_KEY)"]
    first = subprocess.run(read, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout.split()
    second = subprocess.run(read, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert first[0] == "False" and first == second and len(first[1]) >= 50
    assert (tmp_path / "secret-key.txt").stat().st_mode & 0o777 == 0o600


# 6. bounded sizes ------------------------------------------------------------------------------
def test_oversized_builder_arguments_are_refused_before_anything_is_built():
    import torch

    from workers.ml.builders import build_model
    from workers.ml.checkpoints import ModelSpec

    with pytest.raises(ValueError, match="base_width must be an int of at most 128, got 192"):
        build_model("unet", num_classes=3, base_width=192)
    with pytest.raises(ValueError, match="takes no builder argument 'box_head'"):
        build_model("maskrcnn", num_classes=3, backbone="resnet18_fpn", box_head=object())
    spec = ModelSpec(arch="segnet", class_names=("a", "b"), builder_kwargs={"base_width": 100_000})
    before = sum(p.numel() for p in torch.nn.Linear(1, 1).parameters())
    with pytest.raises(ValueError, match="base_width"):
        spec.build()
    assert before == 2


def test_train_refuses_oversized_builder_kwargs(owner_api, project, car):
    response = owner_api.post(f"/api/projects/{project.pk}/train/", {
        "arch": "unet", "epochs": 1, "builder_kwargs": {"base_width": 192}}, format="json")
    assert response.status_code == 400 and "builder_kwargs: unet builder argument base_width" in response.json()["message"]
    assert not Job.objects.filter(kind=Job.Kind.TRAIN).exists()


def test_checkpoint_uploads_are_capped(owner_api, project, settings):
    settings.LABELER_MAX_CHECKPOINT_BYTES = 1000
    upload = io.BytesIO(b"x" * 1001)
    upload.name = "big.pt"
    response = owner_api.post(f"/api/projects/{project.pk}/models/", {"name": "big", "checkpoint": upload}, format="multipart")
    assert response.status_code == 400 and "over the checkpoint limit of 1000 bytes" in response.json()["message"]
    assert not Job.objects.exists()


def test_job_messages_show_no_server_paths_or_terminal_escapes(project, settings):
    from annotations.jobs import JobReporter

    job = Job.objects.create(project=project, kind=Job.Kind.EXPORT)
    JobReporter(job.pk).fail(message=f"\x1b[31mFileNotFoundError\x1b[0m: '{settings.MEDIA_ROOT}/tmp/imports/x.zip' "
                                     f"in /usr/lib/python3/dist-packages/pycocotools/mask.py\x07")
    job.refresh_from_db()
    assert job.message == "FileNotFoundError: 'tmp/imports/x.zip' in mask.py"


# 7. brute force ---------------------------------------------------------------------------------
@pytest.fixture
def throttled(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3


def test_the_token_endpoint_locks_a_user_name_out_after_failures(throttled, owner):
    api = APIClient()
    answers = [api.post("/api/auth/token/", {"username": "olivia", "password": "wrong"}).status_code for _ in range(3)]
    locked = api.post("/api/auth/token/", {"username": "olivia", "password": "owner-pass-123"})
    assert answers == [400, 400, 429] and locked.status_code == 429
    assert "too many failed logins" in locked.json()["message"] and int(locked["Retry-After"]) > 0


def test_basic_auth_locks_out_and_401s_say_how_to_authenticate(throttled, owner):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Basic " + __import__("base64").b64encode(b"olivia:wrong").decode())
    first = api.get("/api/projects/")
    assert first.status_code == 401 and first["WWW-Authenticate"] == 'Basic realm="api"'
    for _ in range(3):
        api.get("/api/projects/")
    api.credentials(HTTP_AUTHORIZATION="Basic " + __import__("base64").b64encode(b"olivia:owner-pass-123").decode())
    assert api.get("/api/projects/").status_code == 429
    assert APIClient().get("/api/projects/")["WWW-Authenticate"] == 'Token realm="api"'


def test_the_login_form_locks_out_after_failures(throttled, owner, client):
    answers = [client.post("/accounts/login/", {"username": "olivia", "password": "wrong"}).status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    assert client.post("/accounts/login/", {"username": "olivia", "password": "owner-pass-123"}).status_code == 429


# 8. headers -------------------------------------------------------------------------------------
def test_every_page_has_a_csp_without_unsafe_inline(client, owner, project, car, image):
    pages = ["/accounts/login/"]
    client.force_login(owner)
    pages += ["/", f"/projects/{project.pk}/", f"/projects/{project.pk}/models/", f"/projects/{project.pk}/images/{image.pk}/edit/"]
    for url in pages:
        response = client.get(url)
        policy = response["Content-Security-Policy"]
        assert response.status_code == 200 and "default-src 'self'" in policy and "script-src 'self'" in policy, url
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, url
        assert b' style="' not in response.content and b"<script>" not in response.content, url
    project_page = client.get(f"/projects/{project.pk}/")
    nonce = project_page.context["CSP_NONCE"]
    assert f"'nonce-{nonce}'" in project_page["Content-Security-Policy"] and f'<style nonce="{nonce}">'.encode() in project_page.content


def test_check_deploy_is_clean_with_labeler_https(tmp_path):
    # DJANGO_ALLOW_ASYNC_UNSAFE: the browser tests' (tests/browser/conftest.py), never a deployment's.
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(LABELER_VAR_DIR=str(tmp_path), LABELER_HTTPS="1")
    done = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    env.pop("LABELER_HTTPS")
    plain = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT, env=env,
                           capture_output=True, text=True)
    assert plain.returncode == 0, plain.stdout + plain.stderr  # what HTTPS alone can fix is named in the README


# 10. smaller ------------------------------------------------------------------------------------
def test_pillow_limit_follows_ours(project, settings, monkeypatch):
    from PIL import Image as PILImage

    from annotations import ingest

    settings.LABELER_MAX_IMAGE_PIXELS = 10_000
    monkeypatch.setattr(PILImage, "MAX_IMAGE_PIXELS", 1_000)  # a Pillow guard below ours, as 89.5 MP is below 100 MP
    result = ingest.images_import(project=project, user=None, files=[("a.png", io.BytesIO(png_bytes(64, 48)))], make_thumbnails=False)
    assert len(result.created) == 1 and PILImage.MAX_IMAGE_PIXELS == 10_000


def test_adding_a_member_is_an_invitation_that_reveals_nothing(owner_api, outsider, outsider_api, project, django_user_model):
    real = owner_api.post(f"/api/projects/{project.pk}/members/", {"username": "oscar", "role": "owner"}, format="json")
    ghost = owner_api.post(f"/api/projects/{project.pk}/members/", {"username": "nobody", "role": "owner"}, format="json")
    assert real.status_code == ghost.status_code == 202
    assert set(real.json()) == set(ghost.json()) == {"username", "role", "token", "expires_at"}
    assert not Membership.objects.filter(project=project, user=outsider).exists()
    assert outsider_api.get(f"/api/projects/{project.pk}/").status_code == 404
    admin = django_user_model.objects.create_user(username="admin", password="admin-pass-123")
    wrong = client_for(admin).post("/api/invitations/accept/", {"token": real.json()["token"]}, format="json")
    assert wrong.status_code == 404 and not Membership.objects.filter(user=admin).exists()
    accepted = outsider_api.post("/api/invitations/accept/", {"token": real.json()["token"]}, format="json")
    assert accepted.status_code == 201 and accepted.json() == {"username": "oscar", "role": "owner"}
    forged = outsider_api.post("/api/invitations/accept/", {"token": real.json()["token"][:-2] + "xx"}, format="json")
    assert forged.status_code == 400


def test_the_assist_names_an_unknown_version_in_a_project_that_has_versions(owner_api, project, image):
    ModelVersion.objects.create(project=project, name="v1", architecture="unet", class_mapping=[None])
    response = owner_api.post(f"/api/images/{image.pk}/assist/", {"box": [1, 1, 10, 10], "model_version": 987654}, format="json")
    assert response.status_code == 404 and response.json()["message"] == "model version 987654 is not in project 'Streets'"

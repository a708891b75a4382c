"""Writes docs/quality.png (the quality report page), docs/jobs.png (the jobs panel) and
docs/history.png (the editor's History panel with a revision open), the README's screenshots of
its "Quality control, history and jobs" section. Not part of the suite (no test_ prefix):

    .venv/bin/python -m pytest tests/browser/docs_quality_screenshot.py
"""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from annotations import ingest, masks, quality, services
from annotations.models import Job, Membership

from ..quality_support import box
from .conftest import open_editor
from .docs_screenshot import _street

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DOCS = Path(__file__).resolve().parents[2] / "docs"


def _member(django_user_model, project, name: str, role=Membership.Role.ANNOTATOR):
    user = django_user_model.objects.create_user(username=name, password=f"{name}-pass-123")
    services.membership_set(project=project, user=user, role=role)
    return user


def test_it_writes_the_quality_jobs_and_history_screenshots(login_page, live_server, django_user_model, owner, teammate, project, make_image, car, road):
    amy, raj = _member(django_user_model, project, "amy"), _member(django_user_model, project, "raj")
    services.label_class_create(project=project, name="person", kind="instance", color="#3b82f6", hotkey="3")
    for _ in range(20):
        make_image(20, 20)
    quality.ground_truth_sample_mark(project=project, user=owner, percent=15, seed=11)
    sample = list(project.images.filter(ground_truth=True).order_by("pk"))
    truth = [{"label_class": car.pk, "mask": m} for m in (box(0, 10, 0, 10), box(0, 10, 10, 20), box(15, 20, 0, 5))]
    truth.append({"label_class": road.pk, "mask": box(10, 20, 0, 20)})
    for image in sample:
        services.annotation_document_save(image=image, user=owner, version=0, annotations=truth, ground_truth=True)
    services.annotation_document_save(image=sample[0], user=teammate, version=0, annotations=[
        {"label_class": car.pk, "mask": box(0, 10, 0, 8)}, {"label_class": car.pk, "mask": box(0, 10, 13, 20)},
        {"label_class": car.pk, "mask": box(15, 20, 15, 20)}, {"label_class": road.pk, "mask": box(12, 20, 0, 20)},
    ])
    services.annotation_document_save(image=sample[1], user=amy, version=0, annotations=truth)
    services.annotation_document_save(image=sample[2], user=raj, version=0, annotations=[
        {"label_class": car.pk, "mask": box(0, 10, 0, 9)}, {"label_class": road.pk, "mask": box(14, 20, 0, 20)},
    ])
    page = login_page(owner)
    page.set_viewport_size({"width": 1280, "height": 1100})
    page.goto(f"{live_server.url}/projects/{project.pk}/quality/")
    page.locator("[data-charts]").wait_for()
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "quality.png"), full_page=True)

    for n, (kind, status, done, total, message) in enumerate([
        (Job.Kind.THUMBNAILS, Job.Status.SUCCEEDED, 20, 20, ""),
        (Job.Kind.IMPORT_DATASET, Job.Status.SUCCEEDED, 120, 120, ""),
        (Job.Kind.TRAIN, Job.Status.FAILED, 3, 40, "out of memory: batch 64 at 512 px needs 11.2 GiB; pick a smaller preset"),
        (Job.Kind.EXPORT, Job.Status.CANCELLED, 40, 120, "cancelled"),
        (Job.Kind.PRELABEL, Job.Status.RUNNING, 37, 120, ""),
        (Job.Kind.EXPORT, Job.Status.RUNNING, 81, 120, ""),
        (Job.Kind.EVALUATE, Job.Status.QUEUED, 0, 30, ""),
    ]):
        Job.objects.create(project=project, kind=kind, status=status, done=done, total=total, message=message)
    page.set_viewport_size({"width": 1280, "height": 560})
    page.goto(f"{live_server.url}/projects/{project.pk}/jobs/")
    page.locator("[data-jobs] tbody tr").nth(6).wait_for()
    page.screenshot(path=str(DOCS / "jobs.png"), full_page=True)

    jpeg, shapes = _street()
    street = ingest.images_import(project=project, user=owner, files=[("street_0042.jpg", io.BytesIO(jpeg))], make_thumbnails=False).created[0]
    person = project.label_classes.get(name="person")
    first = services.annotation_document_save(image=street, user=teammate, version=0, annotations=[
        {"label_class": road.pk, "mask": masks.encode(shapes["road"])}, {"label_class": car.pk, "mask": masks.encode(shapes["car_a"])},
        {"label_class": car.pk, "mask": masks.encode(shapes["car_b"])}, {"label_class": person.pk, "mask": masks.encode(shapes["person"])},
    ])
    services.annotation_document_save(image=street, user=amy, version=1, annotations=[
        {"id": first.saved_ids[0], "label_class": road.pk, "mask": masks.encode(shapes["road"])},
        {"id": first.saved_ids[1], "label_class": car.pk, "mask": masks.encode(shapes["car_a"])},
    ])
    services.annotation_document_save(image=street, user=owner, version=2, annotations=[
        {"id": first.saved_ids[1], "label_class": car.pk, "mask": masks.encode(shapes["car_a"])},
    ])
    page.set_viewport_size({"width": 1280, "height": 900})
    open_editor(page, live_server, street)
    page.locator("[data-history] li[data-version='1'] [data-action=history-view]").click()
    page.locator('canvas[data-history-canvas="1"]').wait_for()
    page.locator(".lbl-side").evaluate("el => { el.scrollTop = el.scrollHeight; }")
    page.wait_for_timeout(300)
    page.screenshot(path=str(DOCS / "history.png"))

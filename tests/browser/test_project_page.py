"""The project page in a real browser: upload images, export a dataset, follow the job, download it."""
from __future__ import annotations

import io
import zipfile

import pytest

from annotations.models import Image, Job

from ..conftest import png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_uploads_images_then_exports_and_downloads_a_dataset(login_page, live_server, owner, project, car, tmp_path):
    paths = []
    for i in range(2):
        path = tmp_path / f"photo{i}.png"
        path.write_bytes(png_bytes(80, 60, seed=40 + i))
        paths.append(str(path))
    page = login_page(owner)
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    upload = page.locator('form[data-action="upload"]')
    upload.locator('input[type="file"]').set_input_files(paths)
    upload.locator("button").click()
    page.wait_for_function("() => document.querySelector('form[data-action=upload] output').textContent.includes('2 image(s) added')")
    assert Image.objects.filter(project=project).count() == 2

    export = page.locator('form[data-action="export"]')
    export.locator("select[name=format]").select_option("coco")
    export.locator("button").click()
    link = page.locator("[data-jobs] a[data-download]").first
    link.wait_for()
    job = Job.objects.filter(project=project, kind="export").get()
    assert job.status == "succeeded"
    with page.expect_download() as info:
        link.click()
    with zipfile.ZipFile(io.BytesIO(open(info.value.path(), "rb").read())) as archive:
        names = archive.namelist()
    assert "annotations/instances_train.json" in names and sum(n.startswith("images/") for n in names) == 2
    assert not page.js_errors


def test_a_refused_upload_says_why_and_adds_nothing(login_page, live_server, owner, project, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"not an image")
    page = login_page(owner)
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    upload = page.locator('form[data-action="upload"]')
    upload.locator('input[type="file"]').set_input_files(str(bad))
    upload.locator("button").click()
    page.wait_for_selector('form[data-action="upload"] output.error')
    assert "notes.png: not an image" in upload.locator("output").text_content()
    assert Image.objects.count() == 0


def test_annotators_see_no_train_form(login_page, live_server, teammate, project):
    page = login_page(teammate)
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    assert page.locator('form[data-action="upload"]').count() == 1
    assert page.locator('form[data-action="train"]').count() == 0


def test_it_cancels_a_queued_job_from_the_job_table(login_page, live_server, owner, project):
    job = Job.objects.create(project=project, kind=Job.Kind.EXPORT, status=Job.Status.QUEUED, total=4, done=1)
    page = login_page(owner)
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    row = page.locator(f"[data-jobs] tr[data-job-id='{job.pk}']")
    row.locator("button", has_text="Cancel").click()
    page.wait_for_selector(f"[data-jobs] tr[data-job-id='{job.pk}'][data-status='cancelled']")
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert row.locator("button").count() == 0
    assert not page.js_errors


def test_the_train_form_sends_its_budget_and_shows_the_servers_refusal(login_page, live_server, owner, project, car):
    page = login_page(owner)
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    train = page.locator('form[data-action="train"]')
    train.locator("select[name=network]").select_option("segnet")
    train.locator("input[name=minutes]").fill("3")
    train.locator("button").click()
    page.wait_for_selector('form[data-action="train"] output.error')
    assert "training needs at least 2 approved images" in train.locator("output").text_content()
    assert not Job.objects.filter(project=project, kind="train").exists()


def test_the_prelabel_form_queues_a_job_for_the_chosen_model(login_page, live_server, owner, project, car):
    from annotations.models import ModelVersion

    version = ModelVersion.objects.create(project=project, name="unet-v1", architecture="unet")
    page = login_page(owner)
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    prelabel = page.locator('form[data-action="prelabel"]')
    prelabel.locator("select[name=images]").select_option("all")
    prelabel.locator("input[name=score_threshold]").fill("0.7")
    prelabel.locator("button").click()
    page.wait_for_function("() => /pre-label job \\d+ queued/.test(document.querySelector('form[data-action=prelabel] output').textContent)")
    job = Job.objects.get(project=project, kind="prelabel")
    assert job.params["model_version"] == version.pk
    assert job.params["images"] == "all" and job.params["score_threshold"] == 0.7
    page.wait_for_selector(f"[data-jobs] tr[data-job-id='{job.pk}']")

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

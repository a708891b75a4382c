"""The jobs panel in a real browser: every job of the project a page at a time, progress bars that
move while a job runs (the page polls the jobs API), a failed job's error, cancel, and the
download of a finished export."""
from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from annotations.models import Job

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_jobs_panel_pages_shows_live_progress_errors_and_cancels(login_page, live_server, owner, project):
    for n in range(22):  # older, finished thumbnail jobs: more than one page of 20
        Job.objects.create(project=project, kind=Job.Kind.THUMBNAILS, status=Job.Status.SUCCEEDED, done=n, total=n)
    failed = Job.objects.create(project=project, kind=Job.Kind.TRAIN, status=Job.Status.FAILED,
                                message="out of memory: batch 64 at 512 px needs 11.2 GiB")
    name = f"exports/{project.pk}/job-x-coco.zip"
    (Path(settings.MEDIA_ROOT) / name).parent.mkdir(parents=True, exist_ok=True)
    (Path(settings.MEDIA_ROOT) / name).write_bytes(b"PK\x05\x06" + b"\0" * 18)
    export = Job.objects.create(project=project, kind=Job.Kind.EXPORT, status=Job.Status.SUCCEEDED, done=5, total=5, result_file=name)
    queued = Job.objects.create(project=project, kind=Job.Kind.PRELABEL, status=Job.Status.QUEUED, total=10)
    running = Job.objects.create(project=project, kind=Job.Kind.IMPORT_DATASET, status=Job.Status.RUNNING, done=2, total=10)

    page = login_page(owner)
    page.goto(f"{live_server.url}/projects/{project.pk}/jobs/")
    row = page.locator(f'tr[data-job-id="{running.pk}"]')
    row.wait_for()
    assert page.locator("[data-page-label]").text_content() == "Page 1 of 2 · 26 jobs"
    assert page.locator("[data-jobs] tbody tr").count() == 20
    assert row.locator("progress").get_attribute("value") == "2"
    # live: the worker reports progress, the bar follows without a reload
    Job.objects.filter(pk=running.pk).update(done=7)
    page.wait_for_function(f"""() => document.querySelector('tr[data-job-id="{running.pk}"] progress')?.value === 7""")
    assert "7/10 (70 %)" in row.text_content()
    assert "out of memory" in page.locator(f'tr[data-job-id="{failed.pk}"] td.error').text_content()
    # cancel the queued one
    page.locator(f'tr[data-job-id="{queued.pk}"] [data-cancel]').click()
    page.wait_for_selector(f'tr[data-job-id="{queued.pk}"][data-status="cancelled"]')
    assert Job.objects.get(pk=queued.pk).status == Job.Status.CANCELLED
    # the export's zip downloads
    with page.expect_download() as download:
        page.locator(f'tr[data-job-id="{export.pk}"] a[data-download]').click()
    assert download.value.suggested_filename == "job-x-coco.zip"
    # the next page holds the oldest jobs
    Job.objects.filter(pk=running.pk).update(status=Job.Status.SUCCEEDED, done=10)
    page.click('[data-page="next"]')
    page.wait_for_selector("[data-page-label]:has-text('Page 2 of 2')")
    assert page.locator("[data-jobs] tbody tr").count() == 6
    assert page.locator('[data-page="next"]').is_disabled()
    assert page.js_errors == []


def test_outsiders_get_no_jobs_panel(login_page, live_server, outsider, project):
    page = login_page(outsider)
    assert page.goto(f"{live_server.url}/projects/{project.pk}/jobs/").status == 404

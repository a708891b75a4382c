"""Jobs through the API: list, detail with progress, cancel."""
from __future__ import annotations

import pytest

from annotations.jobs import JobCancelled, JobReporter
from annotations.models import Job

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(project, owner):
    return Job.objects.create(project=project, kind=Job.Kind.EXPORT, total=10, done=4, status=Job.Status.RUNNING, created_by=owner)


def test_jobs_are_listed_with_progress(owner_api, project, job):
    body = owner_api.get(f"/api/projects/{project.pk}/jobs/").json()
    assert body["results"][0]["id"] == job.pk and body["results"][0]["progress"] == 0.4


def test_cancelling_stops_the_task_at_its_next_report(teammate_api, job):
    response = teammate_api.post(f"/api/jobs/{job.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    with pytest.raises(JobCancelled):
        JobReporter(job.pk).progress(done=5)
    JobReporter(job.pk).succeed(result={"late": True})
    job.refresh_from_db()
    assert job.status == "cancelled" and job.done == 4


def test_cancelling_a_finished_job_is_a_conflict(owner_api, job):
    Job.objects.filter(pk=job.pk).update(status=Job.Status.SUCCEEDED)
    response = owner_api.post(f"/api/jobs/{job.pk}/cancel/")
    assert response.status_code == 409 and "already ended" in response.json()["message"]


def test_outsiders_see_no_jobs(outsider_api, job):
    assert outsider_api.get(f"/api/jobs/{job.pk}/").status_code == 404
    assert outsider_api.post(f"/api/jobs/{job.pk}/cancel/").status_code == 404


def test_a_job_without_a_file_has_nothing_to_download(owner_api, job):
    response = owner_api.get(f"/api/jobs/{job.pk}/download/")
    assert response.status_code == 404 and "no file" in response.json()["message"]

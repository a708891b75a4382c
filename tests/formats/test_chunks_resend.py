"""Chunk messages that the broker lost are sent again from the chunk rows (jobs_resend_lost, run
when a worker starts), in-process here; tests/integration/test_scale_out.py does it with a real
Redis and real workers. A re-sent chunk runs its images, and the last one to succeed ends the Job:
the same zip as a one-worker export."""
from __future__ import annotations

import pytest

from annotations.export_chunks import export_plan
from annotations.exports import export_options, export_start
from annotations.jobs import CHUNK_TASKS, jobs_resend_lost
from annotations.models import Job, JobChunk, ModelVersion
from workers.chunks import chunks_plan
from workers.export_job import PLAN_KEY

from .test_export_chunks import zip_content
from ..task_runner import InProcessRunner, QueueOnly

pytestmark = pytest.mark.django_db


class Recorder(QueueOnly):
    """Sends nothing; remembers what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int, int]] = []

    def send_chunk(self, task: str, job_id: int, index: int) -> str:
        self.sent.append((task, job_id, index))
        return f"job-{job_id}-chunk-{index}"


def planned_export(project, owner, settings, *, chunk: int, **options) -> Job:
    """An export Job whose first task planned its chunks and whose chunk messages are all gone."""
    settings.LABELER_EXPORT_CHUNK = chunk
    job = export_start(project=project, user=owner, options=export_options(**options))  # its message: never run here
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, celery_task_id="planner-done")
    job.refresh_from_db()
    plan, chunks = export_plan(job=job)
    Job.objects.filter(pk=job.pk).update(result={PLAN_KEY: plan})
    assert chunks_plan(job.pk, chunks)
    return Job.objects.get(pk=job.pk)


def test_only_the_unfinished_chunks_whose_message_is_gone_are_sent_again(lossless_project, owner, settings):
    job = planned_export(lossless_project, owner, settings, chunk=2, format="coco")
    assert job.result["chunks"] == 3
    JobChunk.objects.filter(job=job, index=0).update(status=JobChunk.Status.SUCCEEDED)
    runner = Recorder()
    assert jobs_resend_lost(live_task_ids={f"job-{job.pk}-chunk-1"}, runner=runner) == [job.pk]
    assert runner.sent == [(CHUNK_TASKS["export"], job.pk, 2)]


def test_a_job_whose_first_task_is_still_live_is_left_to_it(lossless_project, owner, settings):
    job = planned_export(lossless_project, owner, settings, chunk=2, format="coco")
    runner = Recorder()
    assert jobs_resend_lost(live_task_ids={"planner-done"}, runner=runner) == []
    assert runner.sent == []


def test_lost_export_chunks_sent_again_end_the_job_with_the_zip_of_a_one_worker_export(
    lossless_project, owner, settings, django_capture_on_commit_callbacks,
):
    settings.LABELER_EXPORT_CHUNK = 1000
    with django_capture_on_commit_callbacks(execute=True):
        whole = export_start(project=lossless_project, user=owner, options=export_options(format="voc", with_images=True))
    whole.refresh_from_db()
    job = planned_export(lossless_project, owner, settings, chunk=2, format="voc", with_images=True)
    assert jobs_resend_lost(live_task_ids=set(), runner=InProcessRunner()) == [job.pk]
    job.refresh_from_db()
    assert job.status == "succeeded", job.message
    assert list(JobChunk.objects.filter(job=job).values_list("status", flat=True)) == ["succeeded"] * 3
    assert zip_content(job.result_file.name) == zip_content(whole.result_file.name)


def test_when_every_chunk_succeeded_but_the_finish_was_lost_the_last_chunk_sent_again_ends_the_job(project, owner):
    version = ModelVersion.objects.create(project=project, name="m", architecture="unet")
    job = Job.objects.create(project=project, kind=Job.Kind.PRELABEL, status=Job.Status.RUNNING, celery_task_id="planner-done",
                             params={"model_version": version.pk}, total=5, done=5, result={"chunks": 2})
    for index, (images, proposals) in enumerate([([1, 2, 3], 4), ([4, 5], 1)]):
        JobChunk.objects.create(job=job, index=index, total=len(images), done=len(images), images=images,
                                status=JobChunk.Status.SUCCEEDED, result={"images": len(images), "proposals": proposals, "errors": []})
    recorder = Recorder()
    jobs_resend_lost(live_task_ids=set(), runner=recorder)
    assert recorder.sent == [(CHUNK_TASKS["prelabel"], job.pk, 1)]
    jobs_resend_lost(live_task_ids=set(), runner=InProcessRunner())
    job.refresh_from_db()
    assert job.status == "succeeded" and (job.result["images"], job.result["proposals"], job.result["chunks"]) == (5, 5, 2)
    assert job.message == "5 proposal(s) on 5 image(s)"

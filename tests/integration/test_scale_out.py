"""Scaling out with the same code: workers that share nothing but the database, Redis and an
S3-compatible store (moto on loopback), each with its own local media folder.

One pre-label job is shared by two real worker processes (each runs some chunks) and writes the
proposals a single worker writes; so is one export job, whose zip has the content of a one-worker
export; a cancel stops every chunk of either; a chunk that a killed worker held is redelivered; a
chunk whose message Redis lost is sent again when a worker starts, and the Job ends as an
undisturbed one; export, import and train jobs run end to end with media in the bucket only."""
from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

import pytest

from annotations import media
from annotations.dataset_imports import dataset_import_start
from annotations.exports import export_options, export_start
from annotations.jobs import job_cancel, job_start
from annotations.models import Annotation, Image, Job, JobChunk, ModelVersion
from workers.model_versions import model_version_register

from ..conftest import png_bytes
from ..formats.test_export_chunks import zip_content
from ..model_support import shapes_project
from ..prelabel.test_prelabel_chunks import proposals_of
from ..s3_support import bucket_keys
from ..task_runner import QueueOnly
from ..training.support import TINY_UNET_PARAMS, approved_shapes
from .conftest import Worker, wait_for_job

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DURABLE = {"images", "thumbnails", "exports", "models", "superpixels", "uploads"}


class Pool:
    """Worker processes on the S3 store; the session's local-media worker steps aside meanwhile."""

    def __init__(self, session_worker: Worker, env: dict[str, str], root: Path) -> None:
        self.session_worker, self.env, self.root, self.workers = session_worker, env, root, []

    def add(self, *, queues: str = "default,gpu") -> Worker:
        n = len(self.workers)
        media_root = self.root / f"worker{n}-media"  # each its own disk: nothing shared but the store
        media_root.mkdir(parents=True)
        worker = Worker({**self.env, "MEDIA_ROOT": str(media_root)}, self.root / f"worker{n}.log", queues=queues)
        worker.start()
        self.workers.append(worker)
        return worker

    def durable_local_files(self) -> list[str]:
        return [str(p) for w in self.workers for p in Path(w.env["MEDIA_ROOT"]).rglob("*")
                if p.is_file() and p.relative_to(w.env["MEDIA_ROOT"]).parts[0] in DURABLE]

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()


@pytest.fixture
def pool(celery_worker_process, settings, s3_media, tmp_path):
    celery_worker_process.stop()
    settings.LABELER_TASK_RUNNER = "annotations.jobs.CeleryRunner"
    env = {**celery_worker_process.env, **s3_media, "LABELER_PRELABEL_CHUNK": "4", "LABELER_EXPORT_CHUNK": "4"}
    pool = Pool(celery_worker_process, env, tmp_path)
    yield pool
    pool.stop()  # the `worker` fixture starts the session's worker again when a test wants it


def _prelabel(project, version) -> Job:
    return job_start(project=project, user=None, kind=Job.Kind.PRELABEL,
                     params={"model_version": version.pk, "images": "all", "score_threshold": 0.5})


def test_two_workers_share_one_prelabel_job_and_write_what_one_worker_writes(pool, owner, unet_checkpoint):
    project, _ = shapes_project(owner=owner, n=32)
    version = model_version_register(project=project, checkpoint_path=unet_checkpoint, name="unet-pool")
    pool.add()
    alone = wait_for_job(_prelabel(project, version).pk, timeout=120)
    assert alone.status == "succeeded", alone.message
    assert alone.result["chunks"] == 8 and len(alone.result["chunks_by_worker"]) == 1
    expected = proposals_of(project)

    pool.add()
    shared = wait_for_job(_prelabel(project, version).pk, timeout=120)
    assert shared.status == "succeeded", shared.message
    assert (shared.done, shared.total) == (32, 32) and shared.result["images"] == 32
    by_worker = shared.result["chunks_by_worker"]
    assert len(by_worker) == 2 and all(n >= 1 for n in by_worker.values()), by_worker  # both took chunks
    assert sum(by_worker.values()) == 8
    assert proposals_of(project) == expected  # identical, and no image's proposals twice
    assert pool.durable_local_files() == []


def test_a_cancel_stops_every_chunk_on_every_worker(pool, owner, unet_checkpoint):
    project, _ = shapes_project(owner=owner, n=80, size=(128, 128), seed=7)
    version = model_version_register(project=project, checkpoint_path=unet_checkpoint, name="unet-cancel")
    pool.add()
    pool.add()
    job = _prelabel(project, version)
    deadline = time.monotonic() + 120
    while Job.objects.get(pk=job.pk).done < 6 and time.monotonic() < deadline:
        time.sleep(0.02)
    job_cancel(job=Job.objects.get(pk=job.pk))
    time.sleep(4)  # the chunks that were running see it at their next image; queued ones at their start
    settled = (Job.objects.get(pk=job.pk).done, Annotation.objects.filter(model_version=version).count())
    time.sleep(3)
    job = Job.objects.get(pk=job.pk)
    assert job.status == "cancelled" and job.done < 80, (job.status, job.done)
    assert (job.done, Annotation.objects.filter(model_version=version).count()) == settled  # nothing moves any more
    assert not JobChunk.objects.filter(job=job, status="succeeded", done__lt=4).exists()


def test_a_chunk_held_by_a_killed_worker_is_redelivered_and_nothing_is_done_twice(pool, owner, unet_checkpoint):
    project, _ = shapes_project(owner=owner, n=40, size=(128, 128), seed=9)
    version = model_version_register(project=project, checkpoint_path=unet_checkpoint, name="unet-kill")
    victim = pool.add()
    pool.add()
    job = _prelabel(project, version)
    deadline = time.monotonic() + 120
    while Job.objects.get(pk=job.pk).done < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    victim.kill()
    job = wait_for_job(job.pk, timeout=180)
    assert job.status == "succeeded", job.message
    assert (job.done, job.total) == (40, 40) and job.result["images"] == 40
    per_image_class: dict[tuple[int, int], int] = {}
    for key in Annotation.objects.filter(model_version=version).values_list("image_id", "label_class_id"):
        per_image_class[key] = per_image_class.get(key, 0) + 1
    assert max(per_image_class.values()) == 1 and len({i for i, _ in per_image_class}) == 40


def _export(project, owner, **options) -> Job:
    return export_start(project=project, user=owner, options=export_options(**options))


def test_two_workers_share_one_export_job_and_write_the_zip_one_worker_writes(pool, owner):
    project, _ = approved_shapes(owner=owner, n=48)
    pool.add()
    options = {"format": "voc", "with_images": True, "split": "train=0.7,val=0.3"}
    alone = wait_for_job(_export(project, owner, **options).pk, timeout=120)
    assert alone.status == "succeeded", alone.message
    assert alone.result["chunks"] == 12 and len(alone.result["chunks_by_worker"]) == 1
    pool.add()
    shared = wait_for_job(_export(project, owner, **options).pk, timeout=120)
    assert shared.status == "succeeded", shared.message
    assert (shared.done, shared.total) == (48, 48) and shared.result["images"] == 48
    by_worker = shared.result["chunks_by_worker"]
    assert len(by_worker) == 2 and all(n >= 1 for n in by_worker.values()), by_worker  # both took chunks
    assert zip_content(shared.result_file.name) == zip_content(alone.result_file.name)
    assert not any(k.startswith(f"exports/{project.pk}/job-") and "-parts/" in k
                   for k in bucket_keys(pool.env["MEDIA_S3_ENDPOINT_URL"], pool.env["MEDIA_S3_BUCKET"], "exports/"))
    assert pool.durable_local_files() == []


def test_a_cancel_stops_every_chunk_of_an_export_on_every_worker(pool, owner):
    project, _ = approved_shapes(owner=owner, n=160)
    pool.add()
    pool.add()
    job = _export(project, owner, format="voc", with_images=True)
    deadline = time.monotonic() + 120
    while Job.objects.get(pk=job.pk).done < 8 and time.monotonic() < deadline:
        time.sleep(0.01)
    job_cancel(job=Job.objects.get(pk=job.pk))
    time.sleep(3)  # running chunks see it at their next progress report; queued ones at their start
    settled = list(JobChunk.objects.filter(job=job).values_list("index", "status", "done"))
    time.sleep(2)
    job = Job.objects.get(pk=job.pk)
    assert job.status == "cancelled" and job.done < 160 and not job.result_file, (job.status, job.done)
    assert list(JobChunk.objects.filter(job=job).values_list("index", "status", "done")) == settled  # nothing moves
    assert sum(status == "succeeded" for _, status, _ in settled) < 40
    keys = bucket_keys(pool.env["MEDIA_S3_ENDPOINT_URL"], pool.env["MEDIA_S3_BUCKET"], f"exports/{project.pk}/")
    assert keys == [], keys  # no zip, and every part removed


def _drop_queued_messages() -> list[str]:
    """What a Redis that lost its data does to the queues: every waiting message gone. Returns the
    ids of the messages dropped."""
    from labeler.celery import app
    from workers.startup import QUEUES, _redis, _task_id

    connection, client = _redis(app)
    dropped = []
    try:
        channel = connection.default_channel
        for queue in QUEUES:
            for key in {channel._q_for_pri(queue, pri) for pri in channel.priority_steps}:
                dropped += [_task_id(raw) for raw in client.lrange(key, 0, -1)]
                client.delete(key)
    finally:
        connection.release()
    return dropped


@pytest.mark.parametrize("kind", ["prelabel", "export"])
def test_chunks_whose_messages_redis_lost_are_sent_again_when_a_worker_starts(pool, owner, unet_checkpoint, kind):
    """The Job's first task runs on a worker that takes only its queue, so the chunks it sends wait
    in theirs; Redis then loses them; a worker that starts sends them again and the Job ends with
    what an undisturbed run writes."""
    from labeler.celery import app
    from workers.startup import live_task_ids

    from annotations.jobs import TASKS, chunk_task_id, deployment_id

    if kind == "prelabel":
        project, _ = shapes_project(owner=owner, n=20, seed=11)
        version = model_version_register(project=project, checkpoint_path=unet_checkpoint, name="unet-lost")
        params = {"model_version": version.pk, "images": "all", "score_threshold": 0.5}
    else:
        project, _ = approved_shapes(owner=owner, n=20)
        params = export_options(format="coco", with_images=True, void_as_ignore=True).as_params()
    planner = pool.add(queues="planners")
    job = job_start(project=project, user=owner, kind=kind, params=params, total=20, runner=QueueOnly())
    sent = app.send_task(TASKS[kind], args=[job.pk], kwargs={"deployment": deployment_id()}, queue="planners")
    Job.objects.filter(pk=job.pk).update(celery_task_id=sent.id)
    deadline = time.monotonic() + 60
    chunk_ids = {chunk_task_id(job.pk, i) for i in range(5)}
    while not chunk_ids <= live_task_ids(app) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert chunk_ids <= live_task_ids(app), "the first task did not send its five chunks"
    planner.stop()
    assert set(_drop_queued_messages()) == chunk_ids
    assert not chunk_ids & live_task_ids(app) and Job.objects.get(pk=job.pk).status == "running"

    pool.add()  # on start: finds the five chunks unfinished with no message, and sends them again
    job = wait_for_job(job.pk, timeout=180)
    assert job.status == "succeeded", job.message
    assert (job.done, job.total) == (20, 20) and job.result["chunks"] == 5
    assert list(JobChunk.objects.filter(job=job).values_list("status", flat=True)) == ["succeeded"] * 5
    if kind == "prelabel":
        disturbed = proposals_of(project)
        again = wait_for_job(_prelabel(project, version).pk, timeout=180)
        assert again.status == "succeeded", again.message
        assert proposals_of(project) == disturbed and disturbed  # the same proposals, none twice
    else:
        again = wait_for_job(job_start(project=project, user=owner, kind=kind, params=params, total=20).pk, timeout=180)
        assert again.status == "succeeded", again.message
        assert zip_content(job.result_file.name) == zip_content(again.result_file.name)


def test_export_import_and_train_jobs_run_on_a_worker_with_media_in_the_bucket_only(pool, owner, s3_media):
    endpoint, bucket = s3_media["MEDIA_S3_ENDPOINT_URL"], s3_media["MEDIA_S3_BUCKET"]
    pool.add()
    project, _ = approved_shapes(owner=owner, n=16)
    trained = wait_for_job(job_start(project=project, user=owner, kind=Job.Kind.TRAIN,
                                     params={**TINY_UNET_PARAMS, "epochs": 3, "cpu_threads": 1, "name": "unet-s3-train"},
                                     total=3).pk, timeout=240)
    assert trained.status == "succeeded", trained.message
    version = ModelVersion.objects.get(name="unet-s3-train")
    assert version.checkpoint.name in bucket_keys(endpoint, bucket, "models/")

    exported = wait_for_job(export_start(project=project, user=owner, options=export_options(format="coco", with_images=True)).pk)
    assert exported.status == "succeeded", exported.message
    with zipfile.ZipFile(io.BytesIO(media.read_bytes(exported.result_file.name))) as z:
        assert sum(n.startswith("images/") for n in z.namelist()) == 16

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("images/new.png", png_bytes(64, 48, seed=77))
        z.writestr("annotations/instances_default.json", json.dumps({
            "images": [{"id": 1, "file_name": "new.png", "width": 64, "height": 48}], "categories": [{"id": 1, "name": "circle"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[0, 0, 10, 0, 10, 10, 0, 10]]}]}))
    buffer.seek(0)
    buffer.name = "more.zip"
    imported = wait_for_job(dataset_import_start(project=project, user=owner, archive=buffer, format="coco").pk)
    assert imported.status == "succeeded", imported.message
    new = Image.objects.get(project=project, file_name="new.png")
    keys = bucket_keys(endpoint, bucket)
    assert new.file.name in keys and not [k for k in keys if k.startswith(("tmp/", "uploads/"))], keys
    assert pool.durable_local_files() == []


def test_manage_py_worker_takes_only_the_queues_it_is_given(celery_worker_process, s3_media, tmp_path):
    """What a GPU machine runs: `manage.py worker --queues gpu`, with the database, Redis and store settings only."""
    import subprocess
    import sys

    from labeler.celery import app

    env = {**celery_worker_process.env, **s3_media, "MEDIA_ROOT": str(tmp_path / "scratch")}
    name = f"gpu-only-{time.monotonic_ns()}@test"
    process = subprocess.Popen([sys.executable, "manage.py", "worker", "--queues", "gpu", "--concurrency", "1", "--name", name],
                               cwd=Path(__file__).resolve().parents[2], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        queues = None
        while time.monotonic() < deadline and queues is None:
            queues = (app.control.inspect(destination=[name], timeout=1).active_queues() or {}).get(name)
        assert queues is not None, "the worker did not answer"
        assert [q["name"] for q in queues] == ["gpu"]
    finally:
        process.terminate()
        process.wait(timeout=60)


def test_manage_py_worker_refuses_an_unknown_queue():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match=r"unknown queue\(s\) \['cpu'\]"):
        call_command("worker", queues="gpu,cpu")

"""Scale-out benchmark: one pre-label job on 1 and on 2 worker processes, and the export job with
local vs S3-compatible media.

    .venv/bin/python bench/scale.py                          # 384 images / 10,000 images
    .venv/bin/python bench/scale.py --prelabel-images 128 --export-images 1000
    .venv/bin/python bench/scale.py --skip prelabel --skip export   # only (c)

(a) pre-label: a small CPU net (U-Net depth 2, width 16, random weights) over N synthetic 128x128
    JPEGs, sent in chunks of --chunk images to real Celery workers (`-Q gpu -c 1`, one torch thread
    each) on a real redis-server and a throwaway SQLite database. Each configuration first runs a
    warm-up job (model load, first decode), then the timed jobs; the median of --repeats is
    compared. Prints images/s with 1 and 2 workers and the ratio (target ~2x on 2 cores).
(b) export: the export job (COCO with images, run in this process as a worker runs it) over
    --export-images 64x48 PNGs stored in the local media folder, then the same images stored in
    an S3 bucket of a moto server on loopback (its own process) (reads go through the worker's media cache, the zip
    is a multipart upload). Prints seconds for both and the ratio S3 / local.
(c) export on workers: the export job over --chunked-images 64x48 PNGs (local media folder, which
    the workers on this machine share), sent to real Celery workers (`-Q default -c 1`): one worker
    with chunks larger than the job (the one-worker path), then chunks of --export-chunk images on 1
    and on 2 workers. COCO with images and VOC with images, median of --repeats after a warm-up.
    Prints seconds, images/s and the ratio 2 workers / 1 worker.
"""
from __future__ import annotations

import argparse
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
WORK = Path(tempfile.mkdtemp(prefix="labeler-scale-"))
os.environ["LABELER_VAR_DIR"] = str(WORK / "var")
os.environ["DATABASE_URL"] = f"sqlite:///{WORK / 'bench.sqlite3'}"
os.environ["MEDIA_ROOT"] = str(WORK / "media")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeler.settings")
os.environ["LABELER_TASK_RUNNER"] = "annotations.jobs.CeleryRunner"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return f"{cpu}, {os.cpu_count()} cores (shared VM; load average {load} at the start)"


def _images(n: int, size: tuple[int, int], fmt: str, seed: int = 3) -> list[tuple[str, io.BytesIO]]:
    import numpy as np
    from PIL import Image as PILImage

    rng = np.random.default_rng(seed)
    files = []
    for i in range(n):
        array = rng.integers(0, 255, size=(size[1], size[0], 3), dtype=np.uint8)
        buffer = io.BytesIO()
        PILImage.fromarray(array).save(buffer, format=fmt)
        buffer.seek(0)
        files.append((f"s{i:05d}.{fmt.lower().replace('jpeg', 'jpg')}", buffer))
    return files


def _project(name: str, files, classes=("circle", "rectangle", "triangle")):
    from django.contrib.auth import get_user_model

    from annotations import ingest, services

    owner = get_user_model().objects.get_or_create(username="bench")[0]
    project = services.project_create(name=name, owner=owner)
    for c in classes:
        services.label_class_create(project=project, name=c, kind="semantic")
    for start in range(0, len(files), 500):  # a batch per request, as uploads come
        ingest.images_import(project=project, user=owner, files=files[start:start + 500], make_thumbnails=False)
    return project, owner


class Workers:
    def __init__(self, redis_url: str) -> None:
        self.redis_url, self.processes = redis_url, []

    def start(self, n: int, chunk: int, *, queue: str = "gpu", export_chunk: int = 2000) -> None:
        from labeler.celery import app

        env = {**os.environ, "REDIS_URL": self.redis_url, "LABELER_PRELABEL_CHUNK": str(chunk),
               "LABELER_EXPORT_CHUNK": str(export_chunk),
               "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
        for i in range(n):
            log = (WORK / f"worker{len(self.processes)}.log").open("ab")
            self.processes.append(subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "labeler", "worker", "-Q", queue, "-c", "1", "-n",
                 f"bench{len(self.processes)}-{time.monotonic_ns()}@%h", "-l", "WARNING", "--without-gossip", "--without-mingle"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if len(app.control.ping(timeout=0.5) or []) >= len(self.processes):
                return
        raise RuntimeError(f"workers did not answer; see {WORK}/worker*.log")

    def stop(self) -> None:
        for p in self.processes:
            p.terminate()
        for p in self.processes:
            p.wait(timeout=60)
        self.processes = []


def _prelabel_once(project, version) -> float:
    from annotations.jobs import job_start
    from annotations.models import Job

    job = job_start(project=project, user=None, kind=Job.Kind.PRELABEL,
                    params={"model_version": version.pk, "images": "all", "score_threshold": 0.5, "batch_size": 4})
    return _timed(job, "pre-label")


def _timed(job, what: str) -> tuple[float, dict]:
    """Seconds until the Job (just started) ends, and its result; a failed Job raises."""
    from annotations.models import Job

    started = time.monotonic()
    while True:
        job = Job.objects.get(pk=job.pk)
        if job.is_finished:
            break
        time.sleep(0.02)
    if job.status != "succeeded":
        raise RuntimeError(f"{what} job failed: {job.message}")
    return time.monotonic() - started, job.result


def prelabel_part(args, redis_url: str) -> tuple[float, float]:
    import torch

    from workers.ml.checkpoints import ModelSpec, save_checkpoint
    from workers.model_versions import model_version_register

    project, _ = _project("scale prelabel", _images(args.prelabel_images, (128, 128), "JPEG"))
    spec = ModelSpec(arch="unet", class_names=("background", "circle", "rectangle", "triangle"),
                     builder_kwargs={"depth": 2, "base_width": 16})
    torch.manual_seed(0)
    checkpoint = WORK / "unet.pt"
    save_checkpoint(checkpoint, spec.build().eval(), spec)
    version = model_version_register(project=project, checkpoint_path=checkpoint, name="bench-unet")
    rates = {}
    for n in (1, 2):
        workers = Workers(redis_url)
        workers.start(n, args.chunk)
        try:
            _prelabel_once(project, version)  # warm-up: each worker loads the model on its first chunk
            runs = [_prelabel_once(project, version) for _ in range(args.repeats)]
        finally:
            workers.stop()
        seconds = statistics.median(s for s, _ in runs)
        rates[n] = args.prelabel_images / seconds
        print(f"  {n} worker(s): {seconds:6.2f} s  {rates[n]:7.1f} images/s  chunks by worker {runs[-1][1]['chunks_by_worker']}")
    print(f"  ratio 2 workers / 1 worker: {rates[2] / rates[1]:.2f}x")
    return rates[1], rates[2]


def export_part(args) -> tuple[float, float]:
    from django.test import override_settings

    from annotations.exports import export_options, export_start
    from annotations.models import Job
    from labeler.settings import s3_media_backend
    from workers.management.job_here import run_job_here

    from labeler.redis_server import free_port
    from tests.s3_support import s3_client, s3_env  # the loopback server the tests use

    port = free_port()
    # The store in a process of its own, as it would be on its own machine (not under this one's GIL).
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    endpoint = f"http://127.0.0.1:{port}"
    s3_client(endpoint).create_bucket(Bucket="bench")
    from django.conf import settings

    stores = {"local": settings.STORAGES, "s3": {**settings.STORAGES, "default": s3_media_backend(s3_env(endpoint, "bench"))}}
    seconds = {}
    try:
        for store, storages in stores.items():
            with override_settings(STORAGES=storages):
                started = time.monotonic()
                project, owner = _project(f"scale export {store}", _images(args.export_images, (64, 48), "PNG", seed=11))
                stored = time.monotonic() - started
                with override_settings(LABELER_TASK_RUNNER="workers.management.job_here.SendNothing"):
                    job = export_start(project=project, user=owner, options=export_options(format="coco", with_images=True))
                job = Job.objects.get(pk=job.pk)
                started = time.monotonic()
                run_job_here(job)
                seconds[store] = time.monotonic() - started
                job.refresh_from_db()
                if job.status != "succeeded":
                    raise RuntimeError(f"export on {store} failed: {job.message}")
                from annotations import media

                size = media.size(job.result_file.name)
                print(f"  {store:>5}: export {seconds[store]:6.2f} s ({args.export_images / seconds[store]:7.1f} images/s, "
                      f"zip {size / 1e6:.1f} MB); storing the images took {stored:.1f} s")
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"  ratio S3 / local: {seconds['s3'] / seconds['local']:.2f}x the time")
    return seconds["local"], seconds["s3"]


def _export_once(project, owner, options) -> tuple[float, dict]:
    from annotations.exports import export_start

    return _timed(export_start(project=project, user=owner, options=options), "export")


def chunked_export_part(args, redis_url: str) -> dict[str, float]:
    from annotations.exports import export_options

    n = args.chunked_images
    project, owner = _project("scale chunked export", _images(n, (64, 48), "PNG", seed=13))
    _label(project)
    ratios = {}
    for fmt in ("coco", "voc"):
        options = export_options(format=fmt, with_images=True)
        rates = {}
        for label, workers_n, chunk in (("1 worker, one chunk", 1, n + 1), (f"1 worker, chunks of {args.export_chunk}", 1, args.export_chunk),
                                        (f"2 workers, chunks of {args.export_chunk}", 2, args.export_chunk)):
            workers = Workers(redis_url)
            workers.start(workers_n, args.chunk, queue="default", export_chunk=chunk)
            try:
                _export_once(project, owner, options)  # warm-up (imports, the page cache)
                runs = [_export_once(project, owner, options) for _ in range(args.repeats)]
            finally:
                workers.stop()
            seconds = statistics.median(s for s, _ in runs)
            rates[label] = n / seconds
            print(f"  {fmt} {label:>28}: {seconds:6.2f} s  {rates[label]:7.0f} images/s  "
                  f"chunks by worker {runs[-1][1].get('chunks_by_worker', {'-': 1})}")
        two, one, whole = rates[f"2 workers, chunks of {args.export_chunk}"], rates[f"1 worker, chunks of {args.export_chunk}"], rates["1 worker, one chunk"]
        print(f"  {fmt} ratio 2 workers / 1 worker (chunked): {two / one:.2f}x; 2 workers / one-worker path: {two / whole:.2f}x")
        ratios[fmt] = two / whole
    return ratios


def _label(project) -> None:
    """One rectangle of each class on every image (bulk rows: the bench times the export, not saves)."""
    import numpy as np

    from annotations import masks
    from annotations.models import Annotation

    rows = []
    classes = list(project.label_classes.order_by("id"))
    for image in project.images.all():
        for z, cls in enumerate(classes):
            bitmap = np.zeros((image.height, image.width), np.uint8)
            bitmap[4 + 12 * z:14 + 12 * z, 5 + 15 * z:25 + 15 * z] = 1
            rle = masks.encode(bitmap)
            x, y, w, h = masks.bbox(rle)
            rows.append(Annotation(image=image, label_class=cls, rle_counts=rle["counts"], bbox_x=x, bbox_y=y,
                                   bbox_w=w, bbox_h=h, area=masks.area(rle), z_order=z))
    Annotation.objects.bulk_create(rows, batch_size=2000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prelabel-images", type=int, default=384)
    parser.add_argument("--chunk", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--export-images", type=int, default=10_000)
    parser.add_argument("--chunked-images", type=int, default=10_000)
    parser.add_argument("--export-chunk", type=int, default=2000)
    parser.add_argument("--skip", choices=["prelabel", "export", "chunked"], action="append", default=[])
    args = parser.parse_args()

    from labeler.redis_server import free_port, start_redis

    port = free_port()
    redis = start_redis(port=port, directory=WORK / "redis")
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(f"machine: {machine()}")
    try:
        if "prelabel" not in args.skip:
            print(f"\n(a) pre-label, {args.prelabel_images} images of 128x128 in chunks of {args.chunk}, U-Net d2 w16 on CPU, 1 torch thread per worker")
            prelabel_part(args, os.environ["REDIS_URL"])
        if "export" not in args.skip:
            print(f"\n(b) export job (COCO with images), {args.export_images} PNGs of 64x48")
            export_part(args)
        if "chunked" not in args.skip:
            print(f"\n(c) export job on workers, {args.chunked_images} PNGs of 64x48 with 3 masks each, local media")
            chunked_export_part(args, os.environ["REDIS_URL"])
    finally:
        redis.terminate()


if __name__ == "__main__":
    main()

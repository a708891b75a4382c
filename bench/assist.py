"""Box-to-mask assist latency: the editor's request through Django, Redis and a warm gpu worker,
against the bare `assist_box` call on the same model, image and box in this process.

    .venv/bin/python bench/assist.py [--calls 20] [--archs unet,maskrcnn] [--size 768x1024]

Starts its own redis-server and a Celery worker on the `gpu` queue against a throwaway SQLite
database. Weights are random: latency does not depend on them. Prints the first (cold) call,
which loads the model into the worker, and the median / p90 of the warm calls. With `--numerics
bf16-cl` (or fp32-cl) the semantic versions are registered as trained in those CPU numerics (the
budget recipe's choice), so the worker assists in them, and the fp32 bare call is printed next to them.
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
VAR = tempfile.mkdtemp(prefix="labeler-assist-")
os.environ["LABELER_VAR_DIR"] = VAR
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeler.settings")

ARCHS = {
    "unet": {"depth": 4, "base_width": 32},
    "maskrcnn": {"backbone": "resnet50_fpn_v2", "min_size": 768, "max_size": 1024},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--archs", default="unet,maskrcnn")
    parser.add_argument("--size", default="768x1024", help="HxW")
    parser.add_argument("--numerics", default=None, help="CPU numerics the semantic versions were trained in (fp32-cl, bf16-cl)")
    args = parser.parse_args()

    from labeler.redis_server import free_port, start_redis

    port = free_port()
    redis = start_redis(port=port, directory=Path(VAR) / "redis")
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{settings.DATABASES['default']['NAME']}", PYTHONPATH=str(ROOT))
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "labeler", "worker", "-Q", "gpu", "-c", "1",
                               "-l", "WARNING", "--without-gossip", "--without-mingle"], cwd=ROOT, env=env)
    try:
        run(args)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        redis.terminate()


def run(args) -> None:
    import torch
    from django.contrib.auth import get_user_model
    from django.test import Client
    from PIL import Image as PILImage

    from annotations import ingest, services
    from labeler.celery import app
    from workers.ml.checkpoints import ModelSpec, save_checkpoint
    from workers.ml.inference import assist_box
    from workers.ml.synthetic import make_shapes
    from workers.model_versions import model_version_register

    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=0.5):
        if time.monotonic() > deadline:
            raise SystemExit("the worker did not start")
    h, w = (int(v) for v in args.size.split("x"))
    owner = get_user_model().objects.create_user(username="bench")
    client = Client()
    client.force_login(owner)
    import platform

    cpu = platform.processor()
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"machine: {cpu}, {os.cpu_count()} cores, torch {torch.__version__}, device {device}")
    print(f"image {w}x{h}, box 200x150, {args.calls} warm calls\n")
    print(f"{'arch':<9} {'bare ms':>8} {'cold ms':>8} {'api p50':>8} {'api p90':>8} {'worker ms p50':>20} {'api/bare':>9}")
    sample = make_shapes(1, size=(h, w), seed=4, difficulty="realistic")[0]
    for arch in args.archs.split(","):
        kind = "instance" if arch == "maskrcnn" else "semantic"
        project = services.project_create(name=f"assist {arch}", owner=owner)
        for name in ("circle", "rectangle", "triangle"):
            services.label_class_create(project=project, name=name, kind=kind)
        buffer = io.BytesIO()
        PILImage.fromarray(sample.image).save(buffer, format="PNG")
        buffer.seek(0)
        image = ingest.images_import(project=project, user=owner, files=[("a.png", buffer)], make_thumbnails=False).created[0]
        spec = ModelSpec(arch=arch, class_names=("background", "circle", "rectangle", "triangle"), builder_kwargs=ARCHS[arch])
        with torch.random.fork_rng():
            torch.manual_seed(0)
            model = spec.build().eval()
        ckpt = Path(VAR) / f"{arch}.pt"
        save_checkpoint(ckpt, model, spec)
        version = model_version_register(project=project, checkpoint_path=ckpt, name=arch)
        numerics = None if kind == "instance" else args.numerics
        if numerics:  # as the budget recipe records it on the versions it trains
            version.training = {**(version.training or {}), "recipe": {"numerics": numerics}}
            version.save(update_fields=["training"])
        box = [w // 3, h // 3, 200, 150]
        xyxy = (box[0], box[1], box[0] + box[2], box[1] + box[3])

        def bare_calls(numerics):
            assist_box(model, sample.image, xyxy, spec=spec, numerics=numerics)  # warm-up
            out = []
            for _ in range(max(3, args.calls // 4)):
                started = time.perf_counter()
                assist_box(model, sample.image, xyxy, spec=spec, numerics=numerics)
                out.append((time.perf_counter() - started) * 1000)
            return out

        bare = bare_calls(numerics)
        if numerics:
            print(f"{'':<9} {statistics.median(bare_calls(None)):>8.1f}   (bare, fp32; the row below in {numerics})")
        url = f"/api/images/{image.pk}/assist/"
        started = time.perf_counter()
        first = client.post(url, {"box": box}, content_type="application/json")
        assert first.status_code == 200, first.json()
        cold = (time.perf_counter() - started) * 1000
        latencies, model_ms = [], []
        for _ in range(args.calls):
            answer = client.post(url, {"box": box}, content_type="application/json").json()
            latencies.append(answer["latency_ms"])
            model_ms.append(answer["ms"])
        q = statistics.quantiles(latencies, n=10)
        bare_p50 = statistics.median(bare)
        print(f"{arch:<9} {bare_p50:>8.1f} {cold:>8.0f} {statistics.median(latencies):>8.1f} {q[8]:>8.1f} "
              f"{statistics.median(model_ms):>20.1f} {statistics.median(latencies) / bare_p50:>9.2f}", flush=True)


if __name__ == "__main__":
    main()

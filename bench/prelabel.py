"""Pre-label benchmark: the whole job against the bare model, per architecture, same images and device.

    .venv/bin/python bench/prelabel.py                      # 48 images of 512x384, all four nets
    .venv/bin/python bench/prelabel.py --images 200 --archs unet,maskrcnn --batch-sizes 1,4,8

(a) bare forward: the model over pre-decoded, pre-normalized tensors in batches, nothing else
    (no decode, no argmax, no RLE, no database).
(b) whole job: `workers.prelabel_job.run_prelabel` on a real project in a throwaway SQLite database:
    decode ahead in threads, inference, argmax / thresholds, RLE encode, proposal rows, progress.
Prints images/s for both and the ratio (b)/(a); the target is >= 0.9. Bare and job runs
alternate (`--repeats`) and the medians are compared, since a shared machine's speed drifts. Weights are random
(throughput does not depend on them, but the number of proposals does, so it is printed too).
On CUDA it also compares batch sizes and autocast on/off for the bare forward. With `--numerics
bf16-cl` (or fp32-cl) the semantic versions are registered as trained in those CPU numerics, so the
job runs in them (workers/ml/device.py), and the fp32 bare forward is printed next to them.
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from machine import machine, torch_line  # noqa: E402
os.environ["LABELER_VAR_DIR"] = tempfile.mkdtemp(prefix="labeler-bench-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeler.settings")
os.environ["LABELER_TASK_RUNNER"] = "workers.management.job_here.SendNothing"  # the bench runs the job itself

ARCHS = {
    "unet": {"depth": 4, "base_width": 32},
    "segnet": {"depth": 4, "base_width": 32},
    "fcn": {"backbone": "resnet50"},
    "maskrcnn": {"backbone": "resnet50_fpn_v2", "min_size": 384, "max_size": 512},
}


def make_project(n: int, size: tuple[int, int]):
    from django.contrib.auth import get_user_model
    from PIL import Image as PILImage

    from annotations import ingest, services

    owner = get_user_model().objects.create_user(username=f"bench{time.monotonic_ns()}")
    project = services.project_create(name=f"bench {time.monotonic_ns()}", owner=owner)
    for name in ("circle", "rectangle", "triangle"):
        services.label_class_create(project=project, name=name, kind="semantic")
    from workers.ml.synthetic import make_shapes

    files = []
    for i, sample in enumerate(make_shapes(n, size=size, seed=3, difficulty="realistic")):
        buffer = io.BytesIO()
        PILImage.fromarray(sample.image).save(buffer, format="JPEG", quality=90)
        files.append((f"b{i}.jpg", io.BytesIO(buffer.getvalue())))
    ingest.images_import(project=project, user=owner, files=files, make_thumbnails=False)
    return project


def bare_forward(model, spec, paths, batch_size: int, device, use_autocast: bool = True, numerics: str | None = None) -> float:
    import torch

    from workers.ml import device as devices
    from workers.ml.datasets import load_image, normalize, to_tensor_image

    tensors = []
    for p in paths:
        t = to_tensor_image(load_image(p))
        tensors.append(t if spec.is_instance else normalize(t, spec.normalization))
    numerics = None if spec.is_instance else numerics
    model = model.to(device, memory_format=devices.memory_format(device, numerics)).eval()

    def run():
        for i in range(0, len(tensors), batch_size):
            chunk = tensors[i:i + batch_size]
            ctx = devices.autocast(device, numerics) if use_autocast else torch.autocast(device.type, enabled=False)
            with torch.inference_mode(), ctx:
                if spec.is_instance:
                    model([t.to(device) for t in chunk])
                else:
                    x = torch.stack(chunk).to(device).contiguous(memory_format=devices.memory_format(device, numerics))
                    model(x)
        if device.type == "cuda":
            torch.cuda.synchronize()

    started = time.perf_counter()
    run()
    return len(tensors) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=48)
    parser.add_argument("--size", default="384x512", help="HxW")
    parser.add_argument("--archs", default="unet,segnet,fcn,maskrcnn")
    parser.add_argument("--repeats", type=int, default=2, help="job runs, each followed by a bare run")
    parser.add_argument("--batch-sizes", default="", help="extra batch sizes to compare for the bare forward")
    parser.add_argument("--numerics", default=None, help="CPU numerics the semantic versions were trained in (fp32-cl, bf16-cl)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import torch
    from django.conf import settings

    from annotations.models import Annotation, Job
    from workers.ml.checkpoints import ModelSpec, save_checkpoint
    from workers.ml.device import select_device
    from workers.ml.inference import Predictor
    from workers.model_versions import model_version_register
    from workers.prelabel_job import run_prelabel

    h, w = (int(v) for v in args.size.split("x"))
    device = select_device()
    print(f"machine: {machine()}; {torch_line()}")
    print(f"images: {args.images} synthetic 'realistic' JPEGs of {w}x{h}; device {device}"
          + (f"; semantic nets in CPU numerics {args.numerics}" if args.numerics else "") + "\n")
    project = make_project(args.images, (h, w))
    paths = [str(Path(settings.MEDIA_ROOT) / f) for f in project.images.order_by("pk").values_list("file", flat=True)]
    print(f"{'arch':<9} {'batch':>5} {'bare img/s':>11} {'job img/s':>10} {'job/bare':>9} {'proposals':>10}")
    for arch in args.archs.split(","):
        spec = ModelSpec(arch=arch, class_names=("background", "circle", "rectangle", "triangle"), builder_kwargs=ARCHS[arch])
        with torch.random.fork_rng():
            torch.manual_seed(0)
            model = spec.build().eval()
        ckpt = Path(settings.MEDIA_ROOT) / f"{arch}.pt"
        save_checkpoint(ckpt, model, spec)
        version = model_version_register(project=project, checkpoint_path=ckpt, name=f"bench-{arch}")
        numerics = None if spec.is_instance else args.numerics
        if numerics:  # as the budget recipe records it on the versions it trains
            version.training = {**(version.training or {}), "recipe": {"numerics": numerics}}
            version.save(update_fields=["training"])
        batch = Predictor(model, spec, device=device).batch_size
        bare_forward(model, spec, paths[: batch * 2], batch, device, numerics=numerics)  # warm-up (allocator, cudnn autotune)
        # The machine's speed drifts (shared VM): bare and job runs alternate, medians compared.
        bares, wholes = [bare_forward(model, spec, paths, batch, device, numerics=numerics)], []
        for _ in range(args.repeats):
            job = Job.objects.create(project=project, kind=Job.Kind.PRELABEL,
                                     params={"model_version": version.pk, "images": "all", "score_threshold": 0.05,
                                             "batch_size": batch})
            started = time.perf_counter()
            run_prelabel(job.pk)
            wholes.append(args.images / (time.perf_counter() - started))
            job.refresh_from_db()
            assert job.status == "succeeded", job.message
            bares.append(bare_forward(model, spec, paths, batch, device, numerics=numerics))
        bare, whole = statistics.median(bares), statistics.median(wholes)
        proposals = Annotation.objects.filter(model_version=version).count()
        print(f"{arch:<9} {batch:>5} {bare:>11.2f} {whole:>10.2f} {whole / bare:>9.2f} {proposals:>10}   "
              f"(bare {', '.join(f'{b:.2f}' for b in bares)}; job {', '.join(f'{w:.2f}' for w in wholes)})", flush=True)
        for extra in [int(b) for b in args.batch_sizes.split(",") if b]:
            rate = bare_forward(model, spec, paths, extra, device)
            print(f"{'':<9} {extra:>5} {rate:>11.2f}   (bare forward, batch {extra})")
        if numerics and device.type == "cpu":
            rate = bare_forward(model, spec, paths, batch, device)
            print(f"{'':<9} {batch:>5} {rate:>11.2f}   (bare forward, fp32: {bare / rate:.2f}x in {numerics})")
        if device.type == "cuda":
            rate = bare_forward(model, spec, paths, batch, device, use_autocast=False)
            print(f"{'':<9} {batch:>5} {rate:>11.2f}   (bare forward, fp32, autocast off)")


if __name__ == "__main__":
    main()

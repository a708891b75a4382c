"""Training benchmark: images/s per architecture on this machine, and the validation metric
(mIoU for semantic nets, COCO mask AP for Mask R-CNN) reached after fixed wall-clock budgets
on a synthetic shape set, so users know what a CPU-only (or a GPU) run buys them.

    .venv/bin/python bench/train.py                      # budgets 30 s and 60 s
    .venv/bin/python bench/train.py --budgets 120,300,600 --archs unet,maskrcnn

Every budget is a fresh run with its own LR schedule (cosine over the budget). Images/s is
measured between training steps only (validation pauses excluded) and printed as a ratio to
the U-Net of the same run as well as in absolute numbers.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

from workers.ml.checkpoints import ModelSpec  # noqa: E402
from workers.ml.datasets import InstanceSample, SemanticSample  # noqa: E402
from workers.ml.device import select_device  # noqa: E402
from workers.ml.synthetic import CLASS_NAMES, make_shapes  # noqa: E402
from workers.ml.training import TrainConfig, train  # noqa: E402

PRESETS = {
    # architecture -> (builder kwargs, training recipe)
    "full": {
        "unet": ({"depth": 4, "base_width": 32}, {"lr": 3e-3, "batch_size": 8}),
        "segnet": ({"depth": 4, "base_width": 32}, {"lr": 3e-3, "batch_size": 8, "class_weights": "median_frequency"}),
        "fcn": ({"backbone": "resnet50"}, {"lr": 1e-3, "batch_size": 8}),
        "maskrcnn": ({"backbone": "resnet50_fpn_v2", "min_size": 96, "max_size": 96}, {"lr": 1e-4, "batch_size": 4}),
    },
    "tiny": {
        "unet": ({"depth": 2, "base_width": 8}, {"lr": 1e-2, "batch_size": 8}),
        "segnet": ({"depth": 2, "base_width": 16}, {"lr": 3e-3, "batch_size": 8, "class_weights": "median_frequency"}),
        # The pre-label tests' tiny FCN and Mask R-CNN (tests/ml/support.py).
        "fcn": ({"backbone": "resnet18", "output_stride": 8}, {"lr": 1e-2, "batch_size": 8}),
        "maskrcnn": (
            {"backbone": "resnet18_fpn", "min_size": 96, "max_size": 96, "returned_layers": [1, 2],
             "fpn_channels": 64, "anchor_sizes": [16, 32, 64], "head_width": 64, "mask_head_layers": 2,
             "rpn_pre_nms_top_n_train": 200, "rpn_post_nms_top_n_train": 100, "rpn_pre_nms_top_n_test": 100,
             "rpn_post_nms_top_n_test": 50, "rpn_batch_size_per_image": 64, "box_batch_size_per_image": 32,
             "box_detections_per_img": 20},
            {"lr": 1e-3, "batch_size": 8},
        ),
    },
}


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    device = select_device()
    gpu = f", GPU {torch.cuda.get_device_name(device)}" if device.type == "cuda" else ""
    return (
        f"{cpu}, {os.cpu_count()} cores (torch threads {torch.get_num_threads()}){gpu}; "
        f"torch {torch.__version__}, Python {platform.python_version()}, device {device}"
    )


def run(arch: str, preset: str, budget_s: float, train_set, val_set) -> dict:
    builder_kwargs, recipe = PRESETS[preset][arch]
    spec = ModelSpec(arch=arch, class_names=CLASS_NAMES, builder_kwargs=builder_kwargs)
    model = spec.build()
    step_times: list[tuple[float, bool]] = []  # (time, this call ended an epoch)

    def progress(epoch, step, loss, metric):
        step_times.append((time.perf_counter(), metric is not None))

    if spec.is_instance:
        train_samples = [InstanceSample(s.image, s.instances) for s in train_set]
        val_samples = [InstanceSample(s.image, s.instances) for s in val_set]
    else:
        train_samples = [SemanticSample(s.image, s.label_map) for s in train_set]
        val_samples = [SemanticSample(s.image, s.label_map) for s in val_set]
    result = train(
        model, spec, train_samples, val_samples,
        config=TrainConfig(minutes=budget_s / 60, **recipe), progress=progress,
    )
    # Step-to-step gaps, leaving out the first step (warm-up) and the gaps spanning a validation.
    gaps = [
        b[0] - a[0]
        for a, b in zip(step_times, step_times[1:])
        if not a[1] and not b[1]
    ][1:]
    images_per_s = recipe["batch_size"] / (sum(gaps) / len(gaps)) if gaps else float("nan")
    return {
        "images_per_s": images_per_s,
        "metric": result.metrics.get("metric", float("nan")),
        "epochs": result.epochs_completed,
        "images_seen": result.images_seen,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budgets", default="30,60", help="seconds per run, comma separated")
    parser.add_argument("--archs", default="unet,segnet,fcn,maskrcnn")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="full")
    parser.add_argument("--size", type=int, default=96, help="synthetic image side (px)")
    parser.add_argument("--train-images", type=int, default=128)
    parser.add_argument("--val-images", type=int, default=16)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    budgets = [float(b) for b in args.budgets.split(",")]
    archs = args.archs.split(",")

    train_set = make_shapes(args.train_images, size=(args.size, args.size), difficulty="realistic", seed=1)
    val_set = make_shapes(args.val_images, size=(args.size, args.size), difficulty="realistic", seed=2)
    print(f"machine: {machine()}")
    print(
        f"data: synthetic 'realistic' shapes, {args.size}x{args.size}, {args.train_images} train / "
        f"{args.val_images} val images, 3 classes + background; preset {args.preset}"
    )
    rows = []
    for arch in archs:
        for budget in budgets:
            r = run(arch, args.preset, budget, train_set, val_set)
            rows.append((arch, budget, r))
            print(
                f"  {arch:9s} budget {budget:6.0f}s: {r['images_per_s']:7.2f} img/s, "
                f"{r['epochs']} epochs, {r['images_seen']} images, "
                f"val {'AP' if arch == 'maskrcnn' else 'mIoU'} {r['metric']:.3f}",
                flush=True,
            )
    base = [r["images_per_s"] for a, _, r in rows if a == "unet" and r["images_per_s"] == r["images_per_s"]]
    base_ips = max(base) if base else None
    print("\narch       img/s (vs unet)  " + "  ".join(f"metric@{b:.0f}s" for b in budgets))
    for arch in archs:
        mine = [(b, r) for a, b, r in rows if a == arch]
        measured = [r["images_per_s"] for _, r in mine if r["images_per_s"] == r["images_per_s"]]
        ips = max(measured) if measured else float("nan")
        ratio = f"{ips / base_ips:5.2f}x" if base_ips else "  n/a"
        print(f"{arch:9s} {ips:7.2f} ({ratio})    " + "  ".join(f"{r['metric']:11.3f}" for _, r in mine))


if __name__ == "__main__":
    main()

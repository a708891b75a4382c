"""Training benchmark: images/s per architecture on this machine, and the validation metric
(mIoU for semantic nets, COCO mask AP for Mask R-CNN) reached after fixed wall-clock budgets
on a synthetic shape set, so users know what a CPU-only (or a GPU) run buys them.

    .venv/bin/python bench/train.py                      # budgets 30 s and 60 s
    .venv/bin/python bench/train.py --budgets 120,300,600 --archs unet,maskrcnn

Every budget is a fresh run with its own LR schedule (cosine over the budget). Images/s is
measured between training steps only (validation pauses excluded) and printed as a ratio to
the U-Net of the same run as well as in absolute numbers.

Recipe comparison (issue: pre-labels worth correcting after a few labelled images):

    .venv/bin/python bench/train.py --compare --data cells --budgets 120,300,600

trains the same U-Net (depth 4, width 32) three ways on the same data, in the same run, and
scores each on held-out images: "old" is the train job's former fixed recipe (512-px crops,
batch 8, AdamW 3e-3, cross-entropy, last epoch kept), "new" is the budget recipe of
workers/ml/recipe.py (planned crop/batch/steps, CE + Dice, class-balanced crops, elastic,
photometric jitter, best validation kept), "plain" is a fixed 30-line PyTorch loop (256-px crops,
batch 4, flips/rot90, Adam 1e-3). `--data cells` is a thin-structure set made here (EM-like
Voronoi cells, 1-3 px membranes, 24 + 6 images of 512x512); `--data shapes` the hard shapes.
With `--parallel` the three run at once, one torch thread each, so a busy machine slows all
three alike; without it they run one after another with all threads.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

from machine import machine, torch_line  # noqa: E402
from workers.ml.checkpoints import ModelSpec  # noqa: E402
from workers.ml.datasets import InstanceSample, SemanticSample  # noqa: E402
from workers.ml.device import select_device  # noqa: E402
from workers.ml.synthetic import CELL_CLASS_NAMES, CLASS_NAMES, make_cells, make_shapes  # noqa: E402
from workers.ml.training import TrainConfig, evaluate, train  # noqa: E402

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



# --- recipe comparison --------------------------------------------------------------------

COMPARE_UNET = {"depth": 4, "base_width": 32}
CONTENDERS = ("old", "new", "plain")
# Ablations, run with --contenders: the budget recipe with a moving average of the weights; the
# budget recipe with its crop set to 256 px whatever the plan chose (its steps then bound by time).
ABLATIONS = ("new-ema", "new-crop256")


def comparison_data(kind: str):
    """(train, val, class names): the same images in every process (fixed seeds)."""
    if kind == "cells":
        return make_cells(24, size=(512, 512), seed=11), make_cells(6, size=(512, 512), seed=12), CELL_CLASS_NAMES
    return (make_shapes(128, size=(96, 96), difficulty="realistic", seed=1),
            make_shapes(16, size=(96, 96), difficulty="realistic", seed=2), CLASS_NAMES)


def comparison_test_data(kind: str):
    """Images no contender sees while training or choosing its checkpoint (the budget recipe keeps
    its best validation on the val images, so its val score is chosen on them): a fresh seed."""
    if kind == "cells":
        return make_cells(6, size=(512, 512), seed=13)
    return make_shapes(16, size=(96, 96), difficulty="realistic", seed=3)


def _plain_loop(model, train_set, budget_s: float, started: float) -> int:
    """The fixed loop a practitioner would write first; returns the steps it made and its peak RSS (MB)."""
    import numpy as np
    import torch.nn.functional as F

    from workers.ml.checkpoints import IMAGENET_NORMALIZATION
    from workers.ml.datasets import normalize, to_tensor_image

    import psutil

    rng = np.random.default_rng(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    smallest = min(min(item.label_map.shape) for item in train_set)
    crop, batch, steps, peak = min(256, smallest), 4, 0, 0.0
    model.train()
    while time.monotonic() - started < budget_s:
        if steps % 10 == 0:
            peak = max(peak, psutil.Process().memory_info().rss / 2**20)
        xs, ys = [], []
        for _ in range(batch):
            item = train_set[rng.integers(len(train_set))]
            h, w = item.label_map.shape
            top, left = rng.integers(0, h - crop + 1), rng.integers(0, w - crop + 1)
            image = item.image[top:top + crop, left:left + crop]
            label = item.label_map[top:top + crop, left:left + crop]
            k = int(rng.integers(4))
            image, label = np.rot90(image, k), np.rot90(label, k)
            if rng.random() < 0.5:
                image, label = image[:, ::-1], label[:, ::-1]
            xs.append(normalize(to_tensor_image(image.copy()), IMAGENET_NORMALIZATION))
            ys.append(torch.from_numpy(label.astype("int64")))
        loss = F.cross_entropy(model(torch.stack(xs)), torch.stack(ys))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        steps += 1
    return steps, round(peak, 1)


def run_contender(contender: str, data: str, budget_s: float, threads: int | None) -> dict:
    """Train one contender for `budget_s` seconds and score it on the validation images."""
    from workers.ml.recipe import BASE_RECIPES, apply_plan, config_from, plan_semantic

    if threads:
        torch.set_num_threads(threads)
    train_set, val_set, names = comparison_data(data)
    spec = ModelSpec(arch="unet", class_names=names, builder_kwargs=COMPARE_UNET)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = spec.build()
    train_samples = [SemanticSample(s.image, s.label_map) for s in train_set]
    val_samples = [SemanticSample(s.image, s.label_map) for s in val_set]
    started = time.monotonic()
    steps, extra = 0, {}
    test_samples = [SemanticSample(s.image, s.label_map) for s in comparison_test_data(data)]
    if contender == "plain":
        steps, peak = _plain_loop(model, train_set, budget_s, started)
        extra = {"crop": min(256, min(min(s.label_map.shape) for s in train_set)), "batch": 4, "peak_rss_mb": peak}
    else:
        if contender == "old":
            smallest = min(min(s.label_map.shape) for s in train_set)
            config = TrainConfig(minutes=budget_s / 60, lr=3e-3, batch_size=8, crop_size=min(512, smallest // 32 * 32))
        else:
            plan = plan_semantic(model=model, spec=spec, budget_s=budget_s, device=select_device(),
                                 image_sides=[s.label_map.shape for s in train_set],
                                 val_pixels=sum(s.label_map.size for s in val_set))
            if contender == "new-crop256":
                import dataclasses

                plan = dataclasses.replace(plan, crop_size=min(256, max(s.label_map.shape[0] for s in train_set)))
            recipe = {**BASE_RECIPES["unet"], "minutes": budget_s / 60}
            if contender == "new-ema":
                recipe["ema"] = True
            config = config_from(apply_plan(recipe, plan))
            extra = {"crop": plan.crop_size, "batch": plan.batch_size, "planned_steps": plan.steps, "ema_decay": config.ema_decay,
                     "numerics": plan.numerics, "numerics_probe": plan.numerics_probe}
        result = train(model, spec, train_samples, val_samples, config=config)
        steps, extra["peak_rss_mb"] = result.steps, result.peak_rss_mb
        extra.setdefault("crop", config.crop_size)
        extra.setdefault("batch", config.batch_size)
    seconds = time.monotonic() - started
    scores, test = evaluate(model, spec, val_samples), evaluate(model, spec, test_samples)
    return {"contender": contender, "budget_s": budget_s, "seconds": round(seconds, 1), "steps": steps,
            "iou": scores["per_class_iou"], "miou": scores["miou"], "pixel_accuracy": scores["pixel_accuracy"],
            "test_iou": test["per_class_iou"], "test_pixel_accuracy": test["pixel_accuracy"], **extra}


def compare(data: str, budgets: list[float], parallel: bool, threads: int | None,
            contenders: tuple[str, ...] = CONTENDERS) -> None:
    import multiprocessing

    _, _, names = comparison_data(data) if data == "shapes" else (None, None, CELL_CLASS_NAMES)
    print(f"machine: {machine()}; {torch_line()}, device {select_device()}")
    print(f"data: {data}; classes {', '.join(names[1:])}; U-Net {COMPARE_UNET}; "
          + ("contenders in parallel, 1 torch thread each" if parallel else "contenders one after another"))
    print("val: the held-out images the budget recipe also chooses its best checkpoint on; "
          "test: images no contender saw (a fresh seed)")
    thin = names[1]
    rows = []
    for budget in budgets:
        jobs = [(c, data, budget, 1 if parallel else threads) for c in contenders]
        if parallel:
            with multiprocessing.get_context("spawn").Pool(len(jobs)) as pool:
                results = pool.starmap(run_contender, jobs)
        else:
            results = [run_contender(*job) for job in jobs]
        by = {r["contender"]: r for r in results}
        for r in results:
            print(f"  {budget:5.0f}s {r['contender']:9s}: {r['steps']:5d} steps (crop {r.get('crop')}, batch {r.get('batch')}), "
                  f"IoU {thin} val {r['iou'][1]:.3f} test {r['test_iou'][1]:.3f}, mIoU {r['miou']:.3f}, "
                  f"pixel acc {r['pixel_accuracy']:.3f}, peak RSS {r.get('peak_rss_mb') or float('nan'):.0f} MB"
                  + (f", numerics {r['numerics']} (probe s/step {r['numerics_probe']})" if r.get("numerics") else "")
                  + (f", EMA decay {r['ema_decay']}" if r.get("ema_decay") else ""), flush=True)
        rows.append((budget, by))
    print(f"\nIoU {thin}, val (test)")
    print("budget  " + "  ".join(f"{c:>15s}" for c in contenders) + "   " + "  ".join(
        f"{'new-' + c:>15s}" for c in contenders if c != "new" and "new" in contenders) + "   steps")
    for budget, by in rows:
        cells = [f"{by[c]['iou'][1]:.3f} ({by[c]['test_iou'][1]:.3f})" for c in contenders]
        deltas = []
        if "new" in contenders:
            n = by["new"]
            deltas = [f"{n['iou'][1] - by[c]['iou'][1]:+.3f} ({n['test_iou'][1] - by[c]['test_iou'][1]:+.3f})"
                      for c in contenders if c != "new"]
        print(f"{budget:5.0f}s  " + "  ".join(f"{x:>15s}" for x in cells) + "   " + "  ".join(f"{x:>15s}" for x in deltas)
              + "   " + " ".join(str(by[c]["steps"]) for c in contenders))
    print("pixel accuracy, val (test): " + "; ".join(
        f"{budget:.0f}s " + ", ".join(f"{c} {by[c]['pixel_accuracy']:.3f} ({by[c]['test_pixel_accuracy']:.3f})" for c in contenders)
        for budget, by in rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budgets", default="30,60", help="seconds per run, comma separated")
    parser.add_argument("--archs", default="unet,segnet,fcn,maskrcnn")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="full")
    parser.add_argument("--size", type=int, default=96, help="synthetic image side (px)")
    parser.add_argument("--train-images", type=int, default=128)
    parser.add_argument("--val-images", type=int, default=16)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--compare", action="store_true", help="old vs new vs plain recipe (see the module doc)")
    parser.add_argument("--data", choices=("cells", "shapes"), default="cells", help="data for --compare")
    parser.add_argument("--parallel", action="store_true", help="--compare: run the contenders at once")
    parser.add_argument("--contenders", default=",".join(CONTENDERS),
                        help=f"--compare: which of {', '.join(CONTENDERS + ABLATIONS)} (default: the three)")
    args = parser.parse_args()
    if args.compare:
        contenders = tuple(args.contenders.split(","))
        unknown = [c for c in contenders if c not in CONTENDERS + ABLATIONS]
        if unknown:
            parser.error(f"unknown contender(s) {', '.join(unknown)}: choose from {', '.join(CONTENDERS + ABLATIONS)}")
        compare(args.data, [float(b) for b in args.budgets.split(",")], args.parallel, args.threads, contenders)
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    budgets = [float(b) for b in args.budgets.split(",")]
    archs = args.archs.split(",")

    train_set = make_shapes(args.train_images, size=(args.size, args.size), difficulty="realistic", seed=1)
    val_set = make_shapes(args.val_images, size=(args.size, args.size), difficulty="realistic", seed=2)
    print(f"machine: {machine()}; {torch_line()}, device {select_device()}")
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

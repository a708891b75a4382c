"""Clicks to a good mask: NoC@85 / NoC@90 with a robot annotator, for every way the editor makes a mask.

    .venv/bin/python bench/clicks.py [--images 8] [--size 1024x768] [--max-clicks 20] [--train-seconds 60]

The interactive-segmentation protocol (Xu et al. 2016 and since): the robot places each next click
at the centre (the point farthest from its edge) of the largest error region, positive when that
region is missed object, negative when it is wrongly included; NoC@t is the number of
interactions until IoU >= t, counted as --max-clicks when never reached. The set is made here:
1024x768 images with textured backgrounds (low-frequency colour fields, fine noise, blobs of
colour), one object each: a textured blob with soft (blurred) edges, or, in every third image, a
thin curved object 5-9 px wide; one or two distractor blobs. How each way counts:
- polygon (baseline): a vertex is a click; the robot draws the best polygon of k vertices
  (Douglas-Peucker on the true outline) for growing k — an optimistic baseline;
- brush: one dab a click, a disc as large as the error region allows at the robot's point;
- superpixels (Felzenszwalb, the stored ones; SLIC for the comparison that chose it): one
  superpixel added / Alt-removed a click; the robot picks the granularity that helps most
  (switching is free);
- magic wand: a click adds (Alt removes) the contiguous colour region; the robot picks the tolerance
  that helps most among 4..64 (the slider is free);
- GrabCut box + clicks: the box (the object's bounds plus 5 px) counts as 2 clicks, then clicks
  refine through workers/grabcut.py (method grabcut);
- thin-structure paths box + clicks (method thin, workers/thin.py), the same way;
- model-free box + clicks (method auto, what the editor's box tool does without a model): thin paths
  when the box holds a thin structure, else GrabCut — workers.thin.box_mask, the very function the
  worker runs;
- trained model box + clicks: a tiny FCN (ResNet-18, output stride 8) trained here on the same kind of
  images for --train-seconds; its box mask, then clicks through GrabCut seeded with it, as the gpu
  worker does.
ms per interaction: the median time of one step of that method in this process (the server's share
for GrabCut and the model; numpy stand-ins for the browser-side tools, whose in-page times the
Vitest and browser tests check).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from machine import machine  # noqa: E402
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeler.settings")
# torch's OpenMP threads otherwise spin for a while after each call and take the cores GrabCut is
# timed on (a worker process runs one request at a time and has no such neighbour).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


# ---------------------------------------------------------------- the synthetic set

def _field(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """A smooth random colour field (bicubic-upsampled noise), H x W x 3 float."""
    import cv2

    small = rng.uniform(0, 255, (cells, max(2, cells * w // h), 3)).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _blob(rng: np.random.Generator, h: int, w: int, cx: float, cy: float, r: float) -> np.ndarray:
    """A random star-shaped blob (radius perturbed by a few harmonics), bool."""
    yy, xx = np.mgrid[0:h, 0:w]
    ang = np.arctan2(yy - cy, xx - cx)
    radius = np.full_like(ang, r)
    for k in range(2, 6):
        radius += r * rng.uniform(0, 0.18) * np.cos(k * ang + rng.uniform(0, 2 * np.pi))
    return (xx - cx) ** 2 + (yy - cy) ** 2 <= radius**2


def _thin(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    import cv2

    mask = np.zeros((h, w), np.uint8)
    pts = []
    x, y = rng.uniform(0.2 * w, 0.35 * w), rng.uniform(0.3 * h, 0.7 * h)
    heading = rng.uniform(-0.5, 0.5)
    for _ in range(14):
        pts.append((int(x), int(y)))
        heading += rng.uniform(-0.45, 0.45)
        x, y = x + 32 * np.cos(heading), y + 32 * np.sin(heading)
    cv2.polylines(mask, [np.array(pts, np.int32)], False, 1, thickness=int(rng.integers(5, 10)), lineType=cv2.LINE_AA)
    return mask > 0


def make_image(seed: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray, str]:
    """(rgb uint8, truth bool, kind) for one synthetic image."""
    import cv2

    rng = np.random.default_rng(seed)
    bg = _field(rng, h, w, 6) * 0.7 + _field(rng, h, w, 40) * 0.3
    for _ in range(int(rng.integers(1, 3))):  # distractors: blobs of other colours
        d = _blob(rng, h, w, rng.uniform(0, w), rng.uniform(0, h), rng.uniform(60, 160))
        bg[d] = bg[d] * 0.5 + rng.uniform(0, 255, 3) * 0.5
    kind = "thin" if seed % 3 == 2 else "blob"
    truth = _thin(rng, h, w) if kind == "thin" else _blob(rng, h, w, rng.uniform(0.3 * w, 0.7 * w), rng.uniform(0.3 * h, 0.7 * h), rng.uniform(90, 200))
    # The object's colour differs from the background around it by a moderate step (60-100 in a
    # random direction), its texture is strong at two scales, and its edge is blurred: no single
    # colour tolerance separates it, as in photographs.
    around = bg[truth].mean(axis=0)
    direction = rng.normal(size=3)
    colour = np.clip(around + rng.uniform(60, 100) * direction / np.linalg.norm(direction), 0, 255)
    texture = 0.45 * (_field(rng, h, w, 80) - 127) + 0.25 * (_field(rng, h, w, 20) - 127)
    obj = np.clip(colour + texture, 0, 255)
    alpha = cv2.GaussianBlur(truth.astype(np.float32), (0, 0), 1.5)[..., None]  # soft edges
    rgb = bg * (1 - alpha) + obj * alpha + rng.normal(0, 10, (h, w, 3))
    return np.clip(rgb, 0, 255).astype(np.uint8), truth, kind


# ---------------------------------------------------------------- the robot

def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def next_click(pred: np.ndarray, truth: np.ndarray) -> tuple[int, int, bool, float]:
    """(x, y, positive, inscribed radius) at the centre of the largest error region."""
    import cv2

    best = None
    for positive, err in ((True, truth & ~pred), (False, pred & ~truth)):
        if not err.any():
            continue
        padded = np.pad(err, 1).astype(np.uint8)
        dist = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]
        n, labels, stats, _ = cv2.connectedComponentsWithStats(err.astype(np.uint8), connectivity=4)
        k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        area = int(stats[k, cv2.CC_STAT_AREA])
        if best is None or area > best[0]:
            d = np.where(labels == k, dist, 0)
            y, x = np.unravel_index(int(np.argmax(d)), d.shape)
            best = (area, int(x), int(y), positive, float(d[y, x]))
    assert best is not None
    return best[1], best[2], best[3], best[4]


@dataclass
class Run:
    ious: list[float] = field(default_factory=list)  # IoU after each interaction
    ms: list[float] = field(default_factory=list)  # time of each interaction

    def noc(self, threshold: float, cap: int) -> int:
        for i, v in enumerate(self.ious, start=1):
            if v >= threshold:
                return min(i, cap)
        return cap


def clicking(truth: np.ndarray, step: Callable[[np.ndarray, tuple[int, int, bool, float]], np.ndarray],
             cap: int, start: np.ndarray | None = None, start_cost: int = 0, start_ms: float = 0.0) -> Run:
    """The robot loop: click, let the method answer, until IoU 0.90 or the cap."""
    run = Run()
    pred = np.zeros_like(truth) if start is None else start
    if start is not None:  # the start (a box) costs `start_cost` interactions; only the last has a mask
        run.ious.extend([0.0] * (start_cost - 1) + [iou(pred, truth)])
        run.ms.append(start_ms)
    while len(run.ious) < cap and (not run.ious or run.ious[-1] < 0.90):
        click = next_click(pred, truth)
        t0 = time.perf_counter()
        pred = step(pred, click)
        run.ms.append((time.perf_counter() - t0) * 1000)
        run.ious.append(iou(pred, truth))
    return run


# ---------------------------------------------------------------- the methods

def polygon_run(truth: np.ndarray, cap: int) -> Run:
    import cv2

    contours, _ = cv2.findContours(truth.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    contour = max(contours, key=cv2.contourArea)
    best = {}
    ms = []
    for eps in np.geomspace(0.2, 200, 80)[::-1]:
        poly = cv2.approxPolyDP(contour, float(eps), True)
        k = len(poly)
        if k < 3 or k > cap:
            continue
        t0 = time.perf_counter()
        pred = np.zeros_like(truth, np.uint8)
        cv2.fillPoly(pred, [poly], 1)
        ms.append((time.perf_counter() - t0) * 1000 / k)
        best[k] = max(best.get(k, 0.0), iou(pred > 0, truth))
    run = Run(ms=ms)
    top = 0.0
    for k in range(1, cap + 1):
        top = max(top, best.get(k, 0.0))
        run.ious.append(top)
    return run


def brush_step(pred: np.ndarray, click) -> np.ndarray:
    import cv2

    x, y, positive, radius = click
    out = pred.astype(np.uint8)
    cv2.circle(out, (x, y), max(1, int(radius)), 1 if positive else 0, -1)
    return out > 0


def superpixel_step(levels: list[np.ndarray], truth: np.ndarray):
    def step(pred: np.ndarray, click) -> np.ndarray:
        x, y, positive, _ = click
        best, best_iou = pred, -1.0
        for labels in levels:
            seg = labels == labels[y, x]
            cand = (pred | seg) if positive else (pred & ~seg)
            v = iou(cand, truth)
            if v > best_iou:
                best, best_iou = cand, v
        return best
    return step


def wand_step(rgb: np.ndarray, truth: np.ndarray):
    import cv2

    def step(pred: np.ndarray, click) -> np.ndarray:
        x, y, positive, _ = click
        best, best_iou = pred, -1.0
        for tol in (4, 8, 16, 24, 32, 48, 64):
            filled = np.zeros((rgb.shape[0] + 2, rgb.shape[1] + 2), np.uint8)
            flags = 4 | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (1 << 8)
            cv2.floodFill(rgb, filled, (x, y), (0, 0, 0), (tol,) * 3, (tol,) * 3, flags)
            region = filled[1:-1, 1:-1] > 0
            cand = (pred | region) if positive else (pred & ~region)
            v = iou(cand, truth)
            if v > best_iou:
                best, best_iou = cand, v
        return best
    return step


def box_of(truth: np.ndarray, pad: int = 5) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(truth)
    h, w = truth.shape
    x0, y0 = max(0, xs.min() - pad), max(0, ys.min() - pad)
    x1, y1 = min(w, xs.max() + 1 + pad), min(h, ys.max() + 1 + pad)
    return int(x0), int(y0), int(x1 - x0), int(y1 - y0)


def grabcut_run(rgb: np.ndarray, truth: np.ndarray, cap: int, init_fn=None, method: str | None = None) -> tuple[Run, list[float]]:
    """Box (2 clicks) then clicks through workers.grabcut (or, with `method`, workers.thin.box_mask);
    returns the run and the server ms per call."""
    from workers.grabcut import Click, NoForeground
    from workers.grabcut import grabcut as plain
    from workers.thin import box_mask

    def grabcut(rgb, *, box, clicks=None, init=None):
        return plain(rgb, box=box, clicks=clicks, init=init) if method is None else box_mask(rgb, box=box, clicks=clicks, method=method)[0]

    box = box_of(truth)
    clicks: list[Click] = []
    server_ms: list[float] = []
    t0 = time.perf_counter()
    init = init_fn(rgb, box) if init_fn else None
    try:
        start = init if (init is not None and init.any()) else grabcut(rgb, box=box)
    except NoForeground:
        start = np.zeros_like(truth)
    server_ms.append((time.perf_counter() - t0) * 1000)

    def step(pred: np.ndarray, click) -> np.ndarray:
        x, y, positive, _ = click
        clicks.append(Click(x, y, positive))
        t = time.perf_counter()
        try:
            out = grabcut(rgb, box=box, clicks=clicks, init=init)
        except NoForeground:
            out = np.zeros_like(truth)
        server_ms.append((time.perf_counter() - t) * 1000)
        return out

    run = clicking(truth, step, cap, start=start, start_cost=2, start_ms=server_ms[0])
    return run, server_ms


# ---------------------------------------------------------------- the model

def train_model(seconds: float, size: tuple[int, int], seed: int = 1000):
    """A tiny FCN trained on crops of images like the set's (other seeds), for about `seconds`."""
    import torch

    from workers.ml.checkpoints import ModelSpec
    from workers.ml.datasets import SemanticSample
    from workers.ml.training import TrainConfig, train

    h, w = size
    samples = []
    for i in range(24):
        rgb, truth, _ = make_image(seed + i, h // 2, w // 2)
        samples.append(SemanticSample(rgb, truth.astype(np.uint8)))
    spec = ModelSpec(arch="fcn", class_names=("background", "object"), builder_kwargs={"backbone": "resnet18", "output_stride": 8})
    with torch.random.fork_rng():
        torch.manual_seed(0)
        result = train(spec.build(), spec, samples, config=TrainConfig(minutes=seconds / 60, batch_size=8, lr=3e-3, crop_size=192, dice_weight=1.0))
    model = result.model.eval()
    return model, spec


def model_box_fn(model, spec):
    from workers.ml.inference import assist_box

    def init(rgb: np.ndarray, box) -> np.ndarray:
        x, y, bw, bh = box
        return assist_box(model, rgb, (x, y, x + bw, y + bh), spec=spec, class_index=1, device="cpu").astype(bool)
    return init


# ---------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--size", default="1024x768", help="WxH")
    parser.add_argument("--max-clicks", type=int, default=20)
    parser.add_argument("--train-seconds", type=float, default=60)
    args = parser.parse_args()
    import django

    django.setup()
    import cv2

    from workers.superpixels import block_mean, segment

    w, h = (int(v) for v in args.size.split("x"))
    cap = args.max_clicks
    print(f"machine: {machine()}; OpenCV threads {cv2.getNumThreads()}", flush=True)
    print(f"set: {args.images} images {w}x{h} (every third thin), NoC capped at {cap}", flush=True)
    t0 = time.perf_counter()
    model, spec = train_model(args.train_seconds, (h, w))
    print(f"model: tiny FCN trained {time.perf_counter() - t0:.0f} s", flush=True)
    init_fn = model_box_fn(model, spec)

    names = ["polygon", "brush", "superpixels (SLIC)", "superpixels (Felzenszwalb)", "magic wand", "GrabCut box + clicks",
             "thin paths box + clicks", "model-free box + clicks (auto: thin paths or GrabCut)", "model box + clicks"]
    runs: dict[str, list[Run]] = {n: [] for n in names}
    kinds: list[str] = []
    seg_ms: dict[str, list[float]] = {"slic": [], "felzenszwalb": []}
    for i in range(args.images):
        rgb, truth, kind = make_image(i, h, w)
        kinds.append(kind)
        runs["polygon"].append(polygon_run(truth, cap))
        runs["brush"].append(clicking(truth, brush_step, cap))
        for method, name in (("slic", "superpixels (SLIC)"), ("felzenszwalb", "superpixels (Felzenszwalb)")):
            t = time.perf_counter()
            levels = [labels for labels, _ in segment(block_mean(rgb, 1), method=method)]
            seg_ms[method].append((time.perf_counter() - t) * 1000)
            runs[name].append(clicking(truth, superpixel_step(levels, truth), cap))
        runs["magic wand"].append(clicking(truth, wand_step(rgb, truth), cap))
        runs["GrabCut box + clicks"].append(grabcut_run(rgb, truth, cap)[0])
        runs["thin paths box + clicks"].append(grabcut_run(rgb, truth, cap, method="thin")[0])
        runs["model-free box + clicks (auto: thin paths or GrabCut)"].append(grabcut_run(rgb, truth, cap, method="auto")[0])
        runs["model box + clicks"].append(grabcut_run(rgb, truth, cap, init_fn=init_fn)[0])
        print(f"  image {i} ({kind}) done", flush=True)

    base85 = statistics.mean(r.noc(0.85, cap) for r in runs["polygon"])
    base90 = statistics.mean(r.noc(0.90, cap) for r in runs["polygon"])
    print()
    print(f"| way of making a mask | NoC@85 | x polygon | NoC@90 | x polygon | failed@85 | NoC@85 blob / thin | NoC@90 blob / thin | ms p50 | ms p50 blob / thin | ms max |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in names:
        rs = runs[name]
        n85 = statistics.mean(r.noc(0.85, cap) for r in rs)
        n90 = statistics.mean(r.noc(0.90, cap) for r in rs)
        failed = sum(1 for r in rs if not any(v >= 0.85 for v in r.ious))
        blob = [r.noc(0.85, cap) for r, k in zip(rs, kinds) if k == "blob"]
        thin = [r.noc(0.85, cap) for r, k in zip(rs, kinds) if k == "thin"]
        ms = statistics.median(m for r in rs for m in r.ms) if any(r.ms for r in rs) else float("nan")
        worst = max((m for r in rs for m in r.ms), default=float("nan"))
        by_kind = [statistics.median(m for r, k in zip(rs, kinds) if k == kind for m in r.ms) if any(r.ms for r, k in zip(rs, kinds) if k == kind) else float("nan")
                   for kind in ("blob", "thin")]
        split = f"{statistics.mean(blob):.1f} / {statistics.mean(thin):.1f}" if blob and thin else "-"
        blob90 = [r.noc(0.90, cap) for r, k in zip(rs, kinds) if k == "blob"]
        thin90 = [r.noc(0.90, cap) for r, k in zip(rs, kinds) if k == "thin"]
        split90 = f"{statistics.mean(blob90):.1f} / {statistics.mean(thin90):.1f}" if blob90 and thin90 else "-"
        print(f"| {name} | {n85:.2f} | {n85 / base85:.2f} | {n90:.2f} | {n90 / base90:.2f} | {failed}/{len(rs)} | {split} | {split90} | {ms:.1f} | {by_kind[0]:.1f} / {by_kind[1]:.1f} | {worst:.1f} |")
    print()
    print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    for method, times in seg_ms.items():
        print(f"superpixels {method}: 3 levels of a {w}x{h} image in {statistics.median(times):.0f} ms (median)")


if __name__ == "__main__":
    main()

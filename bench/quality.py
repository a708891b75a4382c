"""Quality report benchmark: how long `quality.quality_report` takes as the ground-truth sample grows.

Builds a synthetic project per size (sample images of 64x48 px, each with `--instances` ground-truth
instance masks and one semantic mask, and an annotator's work: the same masks jittered by a pixel or
two, one instance missed and one spurious), then times the report (database reads, attribution,
matching, tallies). The baseline, measured in the same run on the same rows, is the unavoidable
part: pycocotools.mask.iou of each image's work against its truth, masks already in memory.

    .venv/bin/python bench/quality.py                      # 100 and 1,000 sample images
    .venv/bin/python bench/quality.py --sizes 50,500 --instances 10
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from django_setup import django_setup  # noqa: E402
from machine import machine  # noqa: E402


def build(n: int, instances: int, width: int = 64, height: int = 48):
    import numpy as np
    from django.contrib.auth.models import User
    from pycocotools import mask as cocomask

    from annotations import services
    from annotations.models import Annotation, Image, Membership

    owner, _ = User.objects.get_or_create(username="bench-owner")
    tom, _ = User.objects.get_or_create(username="bench-tom")
    project = services.project_create(name=f"quality-{n}-{time.time_ns()}", owner=owner)
    services.membership_set(project=project, user=tom, role=Membership.Role.ANNOTATOR)
    car = services.label_class_create(project=project, name="car", kind="instance")
    road = services.label_class_create(project=project, name="road", kind="semantic")
    images = Image.objects.bulk_create([
        Image(project=project, file=f"images/x/{n}-{i}.png", file_name=f"img{i:06d}.png", width=width, height=height,
              sha256=f"{n:08d}{i:056d}", status="done", ground_truth=True) for i in range(n)
    ], batch_size=1000)
    rng = np.random.default_rng(n)
    rows = []
    for image in images:
        truth = np.zeros((height, width, instances + 1), np.uint8, order="F")
        work = np.zeros_like(truth)
        for k in range(instances):
            y0, x0 = int(rng.integers(0, height - 8)), int(rng.integers(0, width - 8))
            h, w = int(rng.integers(4, height // 3)), int(rng.integers(4, width // 3))
            truth[y0:y0 + h, x0:x0 + w, k] = 1
            dy, dx = (int(v) for v in rng.integers(-2, 3, size=2))
            if k == 0:
                work[0:3, 0:3, k] = 1  # spurious; the first truth is missed
            else:
                work[max(0, y0 + dy):y0 + dy + h, max(0, x0 + dx):x0 + dx + w, k] = 1
        truth[height * 3 // 4:, :, instances] = 1
        work[height * 3 // 4 + 1:, :, instances] = 1
        for is_truth, stack in ((True, truth), (False, work)):
            for k, rle in enumerate(cocomask.encode(stack)):
                rows.append(Annotation(image=image, label_class=road if k == instances else car, rle_counts=rle["counts"].decode(),
                                       ground_truth=is_truth, author=tom if not is_truth else owner))
    Annotation.objects.bulk_create(rows, batch_size=5000)
    ids = [i.pk for i in images]
    services.documents_commit(image_ids=ids, author=tom)
    services.documents_commit(image_ids=ids, author=owner, ground_truth=True)
    return project, owner


def baseline(project) -> float:
    from pycocotools import mask as cocomask

    from annotations.models import Annotation

    by_image: dict[int, tuple[list, list]] = {}
    for image_id, counts, truth in Annotation.with_ground_truth.filter(image__project=project).values_list(
        "image_id", "rle_counts", "ground_truth",
    ):
        by_image.setdefault(image_id, ([], []))[int(truth)].append({"size": [48, 64], "counts": counts.encode()})
    start = time.perf_counter()
    for work, truth in by_image.values():
        cocomask.iou(work, truth, [0] * len(truth))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--instances", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="labeler-quality-bench-"))
    django_setup(workdir, migrate=True)
    from annotations import quality

    print(f"machine: {machine()}")
    print(f"sample images 64x48, {args.instances} instance masks + 1 semantic mask each, ground truth and work; best of {args.repeat}")
    print(f"{'images':>7} {'baseline s':>10} {'report s':>9} {'x baseline':>10} {'images/s':>9}  tom's figures")
    for n in (int(v) for v in args.sizes.split(",")):
        project, owner = build(n, args.instances)
        base = min(baseline(project) for _ in range(args.repeat))
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            report = quality.quality_report(project=project, user=owner, threshold=0.5)
            times.append(time.perf_counter() - start)
        best = min(times)
        tom = report.per_annotator[0]
        print(f"{n:>7} {base:>10.3f} {best:>9.3f} {best / base:>10.1f} {n / best:>9.0f}  "
              f"P {tom['precision']} R {tom['recall']} acc {tom['accuracy']} mIoU {tom['mean_iou']}", flush=True)


if __name__ == "__main__":
    main()

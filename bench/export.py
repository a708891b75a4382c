"""Dataset export/import benchmark: how time and peak memory grow with the number of images.

Builds a synthetic project per size (default 1,000 and 10,000 images x 20 instances; images are
tiny random 64x48 PNGs, masks random rectangles, so the figures show per-image overhead rather
than pixel work), then times COCO and VOC export (with images) and import of that export into a
new project. Each phase runs in its own process so its peak RSS (VmHWM) is its own; an
"idle" process (Django + numpy + pycocotools loaded, nothing done) gives the floor. The baseline
is raw pycocotools decode+encode of the same stored masks, measured in the same run. Each phase
also reports its own CPU time, the steadier figure on a shared machine.

    .venv/bin/python bench/export.py                       # 1,000 and 10,000 images
    .venv/bin/python bench/export.py --sizes 200,2000 --instances 10
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from django_setup import django_setup  # noqa: E402
from machine import machine  # noqa: E402


def _peak_rss_mb() -> float:
    """This process's own high-water RSS. Not ru_maxrss: Linux carries the parent's peak across
    fork+exec into it, which made every child look as big as the benchmark's parent."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # elsewhere: best effort


def build(n_images: int, instances: int, width: int, height: int) -> int:
    import hashlib
    import io

    import numpy as np
    from django.conf import settings
    from django.contrib.auth.models import User
    from PIL import Image as PILImage
    from pycocotools import mask as cocomask

    from annotations import services
    from annotations.models import Annotation, Image

    user, _ = User.objects.get_or_create(username="bench")
    project = services.project_create(name=f"bench-{n_images}-{time.time_ns()}", owner=user)
    classes = [
        services.label_class_create(project=project, name="car", kind="instance"),
        services.label_class_create(project=project, name="person", kind="instance"),
        services.label_class_create(project=project, name="road", kind="semantic"),
    ]
    rng = np.random.default_rng(n_images)
    media = Path(settings.MEDIA_ROOT)
    images, rows = [], []
    for i in range(n_images):
        pixels = rng.integers(0, 255, size=(height, width, 3), dtype=np.uint8)
        buffer = io.BytesIO()
        PILImage.fromarray(pixels).save(buffer, format="PNG")
        data = buffer.getvalue()
        sha = hashlib.sha256(data).hexdigest()
        relative = f"images/{sha[:2]}/{sha}.png"
        (media / relative).parent.mkdir(parents=True, exist_ok=True)
        (media / relative).write_bytes(data)
        images.append(Image(project=project, file=relative, file_name=f"img{i:06d}.png", width=width, height=height,
                            sha256=sha, status="done"))
    images = Image.objects.bulk_create(images, batch_size=1000)
    for image in images:
        stack = np.zeros((height, width, instances + 1), dtype=np.uint8, order="F")
        stack[height * 3 // 4:, :, instances] = 1  # one semantic road band
        for k in range(instances):
            y0, x0 = int(rng.integers(0, height - 4)), int(rng.integers(0, width - 4))
            stack[y0:y0 + int(rng.integers(2, height // 2)), x0:x0 + int(rng.integers(2, width // 2)), k] = 1
        encoded = cocomask.encode(stack)
        boxes, areas = cocomask.toBbox(encoded), cocomask.area(encoded)
        for k, rle in enumerate(encoded):
            x, y, w, h = (int(v) for v in boxes[k])
            rows.append(Annotation(
                image=image, label_class=classes[2] if k == instances else classes[k % 2], rle_counts=rle["counts"].decode(),
                bbox_x=x, bbox_y=y, bbox_w=w, bbox_h=h, area=int(areas[k]), z_order=k if k < instances else -1,
            ))
        if len(rows) >= 20_000:
            Annotation.objects.bulk_create(rows)
            rows = []
    Annotation.objects.bulk_create(rows)
    return project.pk


def baseline(project_id: int) -> tuple[float, int]:
    """Seconds to decode and re-encode every stored mask with pycocotools alone, and the mask count."""
    import numpy as np
    from pycocotools import mask as cocomask

    from annotations.models import Annotation

    rows = list(Annotation.objects.filter(image__project_id=project_id).values_list("rle_counts", "image__height", "image__width"))
    start = time.perf_counter()
    for counts, h, w in rows:
        bitmap = cocomask.decode({"size": [h, w], "counts": counts.encode()})
        cocomask.encode(np.asfortranarray(bitmap))
    return time.perf_counter() - start, len(rows)


def phase(name: str, project_id: int, path: str) -> dict:
    """Run in a child process: one export or import, timed, with this process's peak RSS."""
    from annotations import services
    from annotations.models import Project

    project = Project.objects.get(pk=project_id)
    start = time.perf_counter()
    cpu_start = time.process_time()
    if name == "idle":
        pass
    elif name.endswith("-export"):
        from annotations.exports import export_options, export_write

        export_write(project=project, options=export_options(format=name.split("-")[0], with_images=True), target=path)
    else:
        from annotations.dataset_imports import dataset_import

        target = services.project_create(name=f"{project.name}-{name}", owner=project.created_by)
        dataset_import(project=target, user=None, archive=path, format=name.split("-")[0], make_thumbnails=False)
    return {"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu_start, "peak_rss_mb": _peak_rss_mb()}


def _child(workdir: Path, name: str, project_id: int, path: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--workdir", str(workdir), "--phase", name, "--project", str(project_id), "--path", path],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000", help="numbers of images, comma separated")
    parser.add_argument("--instances", type=int, default=20, help="instance masks per image (plus one semantic mask)")
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--height", type=int, default=48)
    parser.add_argument("--workdir", default="")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--project", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        django_setup(Path(args.workdir))
        print(json.dumps(phase(args.phase, args.project, args.path)))
        return

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="labeler-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    django_setup(workdir, migrate=True)
    print(f"machine: {machine()}")
    print(f"images: {args.width}x{args.height} random PNGs, {args.instances} instance masks + 1 semantic mask each; "
          f"exports include the images (VOC re-encodes PNG -> JPEG); work dir {workdir}")
    print("CPU s is the phase's own CPU time (the machine may be shared; wall seconds then overstate)")
    print(f"{'images':>7} {'phase':<12} {'seconds':>8} {'images/s':>9} {'x baseline':>10} {'peak RSS MB':>11} {'zip MB':>7} {'CPU s':>7} {'img/CPU s':>9}")
    for n in (int(v) for v in args.sizes.split(",")):
        start = time.perf_counter()
        project_id = build(n, args.instances, args.width, args.height)
        built = time.perf_counter() - start
        base_seconds, mask_count = baseline(project_id)
        base_rate = n / base_seconds
        print(f"{n:>7} {'(build)':<12} {built:>8.1f}   {mask_count} masks")
        print(f"{n:>7} {'baseline':<12} {base_seconds:>8.2f} {base_rate:>9.0f} {1.0:>10.2f} {'':>11}   pycocotools decode+encode only")
        idle = _child(workdir, "idle", project_id, "")
        print(f"{n:>7} {'idle':<12} {'':>8} {'':>9} {'':>10} {idle['peak_rss_mb']:>11.0f}   process floor")
        for fmt in ("coco", "voc"):
            archive = workdir / f"{n}-{fmt}.zip"
            for name in (f"{fmt}-export", f"{fmt}-import"):
                result = _child(workdir, name, project_id, str(archive))
                rate = n / result["seconds"]
                size = archive.stat().st_size / 1e6 if archive.exists() else 0
                print(f"{n:>7} {name:<12} {result['seconds']:>8.2f} {rate:>9.0f} {rate / base_rate:>10.2f} "
                      f"{result['peak_rss_mb']:>11.0f} {size:>7.1f} {result['cpu_seconds']:>7.2f} "
                      f"{n / result['cpu_seconds']:>9.0f}", flush=True)


if __name__ == "__main__":
    main()

"""Bounded loopback load test: N simulated annotators open and save 200-mask documents.

Starts gunicorn as `make up` does (DEBUG off, the same settings) on a fresh database (SQLite in a
temporary folder, or --database-url postgres://... which must be empty or disposable), seeds one
project with N annotators, each with an image of its own holding a 200-mask document, then runs N
client threads for --seconds: each opens its document (GET), thinks, saves it with one annotation
changed, thinks, and so on, in two ways one after the other: as the editor does it ("editor": the
GET revalidates the copy it holds with If-None-Match, 304 while it is current, and the save is a
delta PATCH of the one annotation) and as a script would ("full": a plain GET and a PUT of the whole
document). Prints p50/p99 latency and the error count for GET and the save (an error is any answer
but 200/304, or no answer), the server's own p50/p99 for the same requests (gunicorn's access log),
and, as the baseline measured in the same run, one client alone doing the same with no think time.
The clock runs from sending a request to having its whole answer; the body is encoded before.

    .venv/bin/python bench/load.py [--annotators 50] [--seconds 60] [--think 1.0] [--database-url URL] [--modes editor,full]
                                   [--client-processes 5]

The annotators run as threads of --client-processes client processes (default 5, ten threads each):
fifty threads of one Python process queue for its one GIL to read their answers, and that wait
would be counted as the server's; --client-processes 1 measures it that way.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import orjson
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from labeler import gunicorn_conf  # noqa: E402  (the worker and thread counts make up runs)

MASKS = 200
_JSON = {"Content-Type": "application/json"}
WIDTH, HEIGHT = 640, 480


def _machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _seed(env: dict[str, str], annotators: int) -> dict:
    """Migrate and seed in a child process (the settings read the environment once)."""
    script = f"""
import io, json, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
import numpy as np
from PIL import Image as PILImage
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from annotations import ingest, masks, services
from annotations.models import Membership
owner = get_user_model().objects.create_user(username="lead", password="lead-pass-123")
project = services.project_create(name="Load", owner=owner)
classes = [services.label_class_create(project=project, name=f"c{{i}}", kind="instance") for i in range(5)]
rng = np.random.default_rng(0)
out = []
for n in range({annotators}):
    user = get_user_model().objects.create_user(username=f"annotator{{n}}", password="x-pass-123456")
    services.membership_set(project=project, user=user, role=Membership.Role.ANNOTATOR)
    buffer = io.BytesIO()
    PILImage.fromarray(rng.integers(0, 255, ({HEIGHT}, {WIDTH}, 3), dtype=np.uint8)).save(buffer, format="PNG")
    buffer.seek(0)
    image = ingest.images_import(project=project, user=None, files=[(f"img{{n}}.png", buffer)], make_thumbnails=False).created[0]
    items = []
    for k in range({MASKS}):
        bitmap = np.zeros(({HEIGHT}, {WIDTH}), np.uint8)
        x, y = rng.integers(0, {WIDTH} - 40), rng.integers(0, {HEIGHT} - 40)
        bitmap[y:y + rng.integers(8, 40), x:x + rng.integers(8, 40)] = 1
        items.append({{"label_class": classes[k % 5].pk, "mask": masks.encode(bitmap), "z_order": k}})
    services.annotation_document_save(image=image, user=owner, version=0, annotations=items)
    out.append({{"image": image.pk, "token": Token.objects.create(user=user).key}})
print("SEED" + json.dumps(out))
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stdout[-3000:] + done.stderr[-3000:])
    return json.loads(done.stdout.split("SEED", 1)[1])


def _annotator(base: str, seat: dict, until: float, think: float, record: dict[str, list], errors: dict[str, int],
               lock: threading.Lock, mode: str) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Token {seat['token']}"
    url = f"{base}/api/images/{seat['image']}/annotations/"
    rng = np.random.default_rng(seat["image"])
    document, etag = None, None  # the copy this client holds (the editor's browser keeps it)
    while time.monotonic() < until:
        started = time.perf_counter()
        headers = {"If-None-Match": etag} if mode == "editor" and etag and document else {}
        try:
            got = session.get(url, headers=headers, timeout=30)
            ok = got.status_code in (200, 304) if headers else got.status_code == 200
            why = f"{got.status_code} {got.text[:200]}"
        except requests.RequestException as exc:
            ok, why = False, f"no answer: {exc}"
        took = time.perf_counter() - started
        with lock:
            record["GET"].append(took)
            errors["GET"] += not ok
            if not ok:
                print(f"  GET error ({mode}): {why}", flush=True)
        if not ok:
            time.sleep(think)
            continue
        if got.status_code == 200:
            document, etag = orjson.loads(got.content), got.headers.get("ETag")
        time.sleep(think * rng.uniform(0.5, 1.5))
        changed = document["annotations"][int(rng.integers(len(document["annotations"])))]
        # The body is built before the clock starts, as a browser's timings start once the request is sent.
        if mode == "editor":  # one changed annotation, as a delta
            body = orjson.dumps({"version": document["version"], "upsert": [{"id": changed["id"], "z_order": changed["z_order"] + 1}]})
        else:
            items = [{"id": a["id"], "label_class": a["label_class"], "mask": a["mask"],
                      "z_order": a["z_order"] + (a is changed)} for a in document["annotations"]]
            body = orjson.dumps({"version": document["version"], "annotations": items})
        started = time.perf_counter()
        try:
            saved = session.request("PATCH" if mode == "editor" else "PUT", url, data=body, headers=_JSON, timeout=30)
            ok = saved.status_code == 200
            why = f"{saved.status_code} {saved.text[:200]}"
        except requests.RequestException as exc:
            ok, why = False, f"no answer: {exc}"
        took = time.perf_counter() - started
        with lock:
            record["SAVE"].append(took)
            errors["SAVE"] += not ok
            if not ok:
                print(f"  save error ({mode}): {why}", flush=True)
        if ok:
            changed["z_order"] += 1
            document["version"] = orjson.loads(saved.content)["version"]
            etag = saved.headers.get("ETag")
        else:
            document = None  # read it again
        time.sleep(think * rng.uniform(0.5, 1.5))


def _threads(base: str, seats: list[tuple[int, dict]], total: int, start: float, until: float, think: float,
             mode: str) -> tuple[dict[str, list], dict[str, int]]:
    """The annotators `seats` ((index among all, seat)) as threads of this process; annotator i
    arrives at start + i * think / total (arrivals spread over one think time)."""
    record: dict[str, list] = {"GET": [], "SAVE": []}
    errors = {"GET": 0, "SAVE": 0}
    lock = threading.Lock()

    def arrive(index: int, seat: dict) -> None:
        time.sleep(max(0.0, start + index * think / max(1, total) - time.monotonic()))
        _annotator(base, seat, until, think, record, errors, lock, mode)

    threads = [threading.Thread(target=arrive, args=(i, seat), daemon=True) for i, seat in seats]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return record, errors


def _run(base: str, seats: list[dict], seconds: float, think: float, mode: str,
         processes: int = 1) -> tuple[dict[str, list], dict[str, int]]:
    """Every seat's annotator for `seconds`, spread over `processes` client processes (as threads
    of each): 50 annotators are 50 browsers, and 50 threads of one Python process queue for its
    GIL to read their answers, which the clock would count as the server's time."""
    import multiprocessing

    start = time.monotonic() + 0.2  # CLOCK_MONOTONIC: the same clock in every process
    until = start + seconds
    indexed = list(enumerate(seats))
    groups = [indexed[k::processes] for k in range(max(1, min(processes, len(seats))))]
    if len(groups) == 1:
        return _threads(base, groups[0], len(seats), start, until, think, mode)
    with multiprocessing.get_context("fork").Pool(len(groups)) as pool:
        parts = pool.starmap(_threads, [(base, group, len(seats), start, until, think, mode) for group in groups])
    record = {op: [t for part, _ in parts for t in part[op]] for op in ("GET", "SAVE")}
    errors = {op: sum(e[op] for _, e in parts) for op in ("GET", "SAVE")}
    return record, errors


def _log_lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def _server_times(path: Path, start: int) -> dict[str, list[float]]:
    """The server's time (s) of each request logged after line `start`: GET, and the saves (PUT/PATCH)."""
    out: dict[str, list[float]] = {"GET": [], "SAVE": []}
    for line in path.read_text().splitlines()[start:]:
        method, micros = line.split()
        out["GET" if method == "GET" else "SAVE"].append(int(micros) / 1e6)
    return out


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--annotators", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think", type=float, default=1.0, help="seconds between an annotator's requests (x0.5-1.5)")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--gunicorn-workers", type=int, default=None, help="default: labeler/gunicorn_conf.py's (what make up runs)")
    parser.add_argument("--modes", default="editor,full", help="editor (ETag + delta PATCH) and/or full (GET + PUT)")
    parser.add_argument("--client-processes", type=int, default=5,
                        help="client processes the annotators' threads are spread over (1: all threads in one process)")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    if not set(modes) <= {"editor", "full"}:
        raise SystemExit(f"--modes: editor and/or full, got {args.modes!r}")

    from labeler.redis_server import free_port

    var = Path(tempfile.mkdtemp(prefix="labeler-load-"))
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}}
    env.update(LABELER_VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="labeler.settings", PYTHONPATH=str(ROOT),
               LABELER_TASK_RUNNER="tests.task_runner.QueueOnly", LOG_LEVEL="WARNING")
    env["DATABASE_URL"] = args.database_url or f"sqlite:///{var / 'load.sqlite3'}"
    database = "PostgreSQL" if env["DATABASE_URL"].startswith("postgres") else "SQLite"
    print(f"seeding {args.annotators} annotators x {MASKS} masks ({database}) ...", flush=True)
    seats = _seed(env, args.annotators)
    port = free_port()
    access_log = var / "access.log"  # the server's own time for each request (gunicorn's %(D)s, microseconds)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "labeler.wsgi", "-c", "python:labeler.gunicorn_conf", "-b", f"127.0.0.1:{port}",
         *(["-w", str(args.gunicorn_workers)] if args.gunicorn_workers else []), "--log-level", "warning",
         "--access-logfile", str(access_log), "--access-logformat", "%(m)s %(D)s"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(f"{base}/accounts/login/", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.3)
        size = len(requests.get(f"{base}/api/images/{seats[0]['image']}/annotations/",
                                headers={"Authorization": f"Token {seats[0]['token']}"}, timeout=30).content)
        runs, served = {}, {}
        for mode in modes:
            alone = _run(base, seats[:1], min(10.0, args.seconds), 0.0, mode)
            time.sleep(0.5)  # the last answers' log lines are written
            start = _log_lines(access_log)
            runs[mode] = (alone, _run(base, seats, args.seconds, args.think, mode, args.client_processes))
            time.sleep(0.5)
            served[mode] = _server_times(access_log, start)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"\nmachine: {_machine()}; {database}; gunicorn {args.gunicorn_workers or gunicorn_conf.workers} workers x {gunicorn_conf.threads} threads; "
          f"document {MASKS} masks, {size / 1024:.0f} KiB; think time {args.think:g} s; "
          f"clients: {min(args.client_processes, args.annotators)} process(es), {args.annotators} threads in all")
    print(f"{'':>6} {'':>22} {'':>4} {'requests':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'p50 x alone':>12} {'server p50/p99':>15}")
    for mode, ((alone, alone_errors), (loaded, loaded_errors)) in runs.items():
        for op in ("GET", "SAVE"):
            print(f"{mode:>6} {'1 annotator, no think':>22} {op:>4} {len(alone[op]):>9} {_pct(alone[op], .5):>8.1f} "
                  f"{_pct(alone[op], .99):>8.1f} {alone_errors[op]:>7} {1.0:>12.2f}")
        for op in ("GET", "SAVE"):
            ratio = _pct(loaded[op], .5) / _pct(alone[op], .5)
            print(f"{mode:>6} {f'{args.annotators} annotators':>22} {op:>4} {len(loaded[op]):>9} {_pct(loaded[op], .5):>8.1f} "
                  f"{_pct(loaded[op], .99):>8.1f} {loaded_errors[op]:>7} {ratio:>12.2f} "
                  f"{f'{_pct(served[mode][op], .5):.1f} / {_pct(served[mode][op], .99):.1f}':>15}")
    print("(latency as each client saw it, from sending the request to the whole answer; server: gunicorn's time for the same requests)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

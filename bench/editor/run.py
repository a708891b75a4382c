"""Editor benchmark in headless Chromium, against a stand-in of the API and against the real stack.

Stand-in (the baseline, as before): a small in-process HTTP server with the API's JSON shapes, so
only the browser is timed: open a 4000x3000 image with 0 / 100 / 1,000 instances, navigation to
ready, main-thread time per frame of brush strokes, and a plain page that only loads the JPEG.

Real stack (bench/editor/stack.py): Django under gunicorn as `make up` runs it, on a fresh SQLite
(or --database-url) database seeded with the same masks, the built editor, the same Chromium:
  - API, token auth, one client: GET / PUT (whole document) / PATCH (delta, one mask) p50 and p99
    at 200 and 1,000 masks, and the GET answered 304 for a current ETag;
  - editor at 100 and 1,000 masks: open, navigation -> ready, the longest main-thread task while
    opening, per-frame main-thread time while painting (max, p95), the save after one stroke
    (delta, then the same edit as a full PUT), and a 409 race (two tabs save deltas at once).
Targets (issue 17): frames < 16 ms, no opening task > 50 ms, navigation -> ready < 500 ms at 1,000
masks; GET/PUT p99 < 50 ms at 200 masks and < 150 ms at 1,000; a delta of one mask < 30 ms.

    cd frontend && npm run build && cd .. && .venv/bin/python bench/editor/run.py [--runs 5] [--no-real] [--database-url URL]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
from PIL import Image
from pycocotools import mask as cocomask

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from labeler import gunicorn_conf  # noqa: E402  (the worker and thread counts make up runs)
STATIC = REPO / "annotations" / "static" / "editor"
CHROMIUM = os.environ.get("LABELER_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
W, H = 4000, 3000

CLASSES = [
    {"id": 1, "name": "car", "color": "#e8590c", "kind": "instance", "hotkey": "1", "order": 0},
    {"id": 2, "name": "person", "color": "#1c7ed6", "kind": "instance", "hotkey": "2", "order": 1},
    {"id": 3, "name": "road", "color": "#868e96", "kind": "semantic", "hotkey": "3", "order": 2},
]


def make_photo() -> bytes:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    rgb = np.stack([(x / W) * 200 + 30, (y / H) * 180 + 40, ((x + y) / (W + H)) * 150 + 60], -1)
    rgb += rng.normal(0, 12, rgb.shape).astype(np.float32)
    buf = io.BytesIO()
    Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=88)
    return buf.getvalue()


def make_instances(n: int) -> list[dict]:
    rng = np.random.default_rng(1)
    out = []
    bm = np.zeros((W, H), np.uint8).T  # one Fortran-ordered buffer, cleared after each mask
    for i in range(n):
        rx, ry = int(rng.integers(40, 260)), int(rng.integers(40, 220))
        cx, cy = int(rng.integers(rx, W - rx)), int(rng.integers(ry, H - ry))
        yy, xx = np.mgrid[cy - ry: cy + ry + 1, cx - rx: cx + rx + 1]
        bm[cy - ry: cy + ry + 1, cx - rx: cx + rx + 1] = (((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1)
        rle = cocomask.encode(bm)
        area = int(bm[cy - ry: cy + ry + 1, cx - rx: cx + rx + 1].sum())
        bm[cy - ry: cy + ry + 1, cx - rx: cx + rx + 1] = 0
        proposal = i % 4 == 0
        out.append({
            "id": i + 1, "label_class": 1 + (i % 2), "mask": {"size": [H, W], "counts": rle["counts"].decode()},
            "bbox": [cx - rx, cy - ry, 2 * rx + 1, 2 * ry + 1], "area": area, "z_order": i,
            "source": "model" if proposal else "human", "model_version": 1 if proposal else None,
            "model_version_name": "maskrcnn-v1" if proposal else None, "score": 0.8 if proposal else None,
            "is_proposal": proposal, "author": None if proposal else "bench", "updated_at": "2024-01-01T00:00:00Z",
        })
    return out


def make_void() -> dict:
    """VOC-style void: a band around each instance of make_instances (same seed), and one block."""
    rng = np.random.default_rng(1)
    bm = np.zeros((H, W), np.uint8)
    for _ in range(100):
        rx, ry = int(rng.integers(40, 260)), int(rng.integers(40, 220))
        cx, cy = int(rng.integers(rx, W - rx)), int(rng.integers(ry, H - ry))
        y0, y1, x0, x1 = max(0, cy - ry - 8), min(H, cy + ry + 9), max(0, cx - rx - 8), min(W, cx + rx + 9)
        yy, xx = np.mgrid[y0:y1, x0:x1]
        d = ((xx - cx) / (rx + 6)) ** 2 + ((yy - cy) / (ry + 6)) ** 2
        inner = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2
        bm[y0:y1, x0:x1] |= ((d <= 1) & (inner > 1)).astype(np.uint8)
    bm[1900:2800, 200:1400] = 1
    rle = cocomask.encode(np.asfortranarray(bm))
    return {"size": [H, W], "counts": rle["counts"].decode()}


EDITOR_PAGE = """<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="/static/editor/editor.css">
</head><body style="margin:0"><div id="editor" data-project-id="1" data-image-id="{image}" data-image-url="/media/photo.jpg?{image}" data-api-root="/api/"></div>
<script type="module" src="/static/editor/editor.js"></script></body></html>"""

PLAIN_PAGE = """<!doctype html><html><body style="margin:0"><canvas id="c" width="1400" height="860"></canvas><script>
window.plain = (async () => {{
  const t0 = performance.now();
  const img = new Image(); img.src = "/media/photo.jpg?{nonce}"; await img.decode();
  const ctx = document.getElementById("c").getContext("2d");
  const s = Math.min(1400 / img.naturalWidth, 860 / img.naturalHeight);
  ctx.drawImage(img, 0, 0, img.naturalWidth * s, img.naturalHeight * s);
  ctx.getImageData(0, 0, 1, 1);
  return performance.now() - t0;
}})();
</script></body></html>"""


def serve(photo: bytes, docs: dict[int, dict]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def send(self, body: bytes, ctype: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            parts = [p for p in path.split("/") if p]
            if path == "/plain.html":
                return self.send(PLAIN_PAGE.format(nonce=self.path).encode(), "text/html")
            if path.startswith("/edit/"):
                return self.send(EDITOR_PAGE.format(image=parts[1]).encode(), "text/html")
            if path.startswith("/static/editor/"):
                f = STATIC / parts[-1]
                ctype = "text/javascript" if f.suffix == ".js" else "text/css"
                return self.send(f.read_bytes(), ctype)
            if path.startswith("/media/"):
                return self.send(photo, "image/jpeg")
            if parts[:2] == ["api", "projects"]:
                return self.send(json.dumps({"id": 1, "name": "Bench", "description": "", "label_classes": CLASSES}).encode(), "application/json")
            if parts[:2] == ["api", "images"]:
                iid = int(parts[2])
                if len(parts) == 3:
                    meta = {"id": iid, "project": 1, "file_name": "photo.jpg", "width": W, "height": H, "status": "in_progress",
                            "url": f"/media/photo.jpg?{iid}", "thumbnail_url": "", "sha256": "", "prev_id": None, "next_id": None}
                    return self.send(json.dumps(meta).encode(), "application/json")
                return self.send(json.dumps(docs[iid]).encode(), "application/json")
            self.send_error(404)

    class Server(ThreadingHTTPServer):
        def handle_error(self, request, client_address) -> None:
            if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):  # a page closed mid-request
                super().handle_error(request, client_address)

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


STROKE_JS = """async ([classKey, zoom, steps, radius, tool]) => {
  const h = window.labelerEditor; const ed = h.editor;
  const stage = document.querySelector('.lbl-stage');
  const key = (k) => window.dispatchEvent(new KeyboardEvent('keydown', {key: k, shiftKey: k === 'V', bubbles: true}));
  key(classKey); key('n'); key(tool); key(zoom); ed.setRadius(radius);
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const r = stage.getBoundingClientRect();
  const from = {x: r.left + r.width * 0.15, y: r.top + r.height * 0.2};
  const to = {x: r.left + r.width * 0.85, y: r.top + r.height * 0.8};
  const ev = (type, x, y) => new PointerEvent(type, {clientX: x, clientY: y, button: 0, buttons: 1, pointerId: 1, bubbles: true, isPrimary: true});
  const work = []; const gaps = [];
  ed.renderer.frameTimes.length = 0;
  stage.dispatchEvent(ev('pointerdown', from.x, from.y));
  let last = performance.now();
  for (let i = 1; i <= steps; i++) {
    await new Promise(r => requestAnimationFrame(r));
    const now = performance.now(); gaps.push(now - last); last = now;
    const t = i / steps;
    // Each frame: one pointer sample (handler work) and then the renderer's frame.
    const t0 = performance.now();
    const x = from.x + (to.x - from.x) * t, y = from.y + (to.y - from.y) * t + Math.sin(t * 20) * 30;
    stage.dispatchEvent(ev('pointermove', x, y));
    ed.renderer.frame();
    work.push(performance.now() - t0);
  }
  const t0 = performance.now();
  stage.dispatchEvent(ev('pointerup', to.x, to.y));
  const commit = performance.now() - t0;
  return {work, gaps, commit, radius: ed['radius'], scale: ed.view.scale};
}"""


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


# Registered before any page script: the long main-thread tasks (> 50 ms) of the whole page life,
# and a console line once the editor marked both editor:ready and editor:masks. The bench waits for
# that line, not with wait_for_selector: Playwright's selector engine is a big script that it
# compiles into the page on the first wait, a task of its own (8-9 ms CPU, 25-55 ms on a busy
# machine, trace.py shows it as EvaluateScript) that the long-task observer then counted as the
# editor's while it opened.
OPENED = "labeler-bench: opened"
LONGTASKS_INIT = """
window.__longtasks = [];
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__longtasks.push({start: e.startTime, duration: e.duration});
  }).observe({type: 'longtask', buffered: true});
} catch (e) { window.__longtasks = null; }
new PerformanceObserver((list, observer) => {
  const marks = new Set(performance.getEntriesByType('mark').map((m) => m.name));
  if (marks.has('editor:ready') && marks.has('editor:masks')) { observer.disconnect(); console.debug('%OPENED%'); }
}).observe({type: 'mark'});
""".replace("%OPENED%", OPENED)


def goto_opened(page, url: str) -> None:
    """Opens `url` and waits until the editor is ready with every mask shown (see LONGTASKS_INIT)."""
    with page.expect_console_message(lambda m: m.text == OPENED, timeout=120_000):
        page.goto(url)

# "ready": the editor is interactive with the photo shown; "masks": every mask's tint is painted
# (with tint workers they arrive after ready). Long tasks count up to whichever comes last.
OPEN_JS = """async () => {
  const ed = window.labelerEditor.editor;
  await ed.masksShown;
  const ready = performance.getEntriesByName('editor:ready')[0].startTime;
  const masks = performance.getEntriesByName('editor:masks')[0].startTime;
  const tasks = (window.__longtasks || []).filter((t) => t.start < Math.max(ready, masks));
  return {open: ed.openMs, nav: ready, masks, phases: ed.openTimings, workers: ed.renderer.tintWorkerCount,
          longest: tasks.reduce((m, t) => Math.max(m, t.duration), 0), longtasks: tasks.length};
}"""

SAVE_JS = """async (full) => {
  const ed = window.labelerEditor.editor; const saver = ed.saver; const api = ed.api;
  if (full) saver.replaceNext = true;
  // the request alone (network + server), to tell it from the editor's own work
  let request = 0;
  const method = full ? 'saveAnnotations' : 'saveDelta';
  const original = api[method];
  api[method] = async (...args) => { const t = performance.now(); try { return await original.apply(api, args); } finally { request = performance.now() - t; } };
  const t0 = performance.now();
  const ok = await saver.save();
  const ms = performance.now() - t0;
  api[method] = original;
  return {ok, ms, request, sent: saver.lastSent, state: saver.state.kind};
}"""


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    load = os.getloadavg()[0]
    return f"{cpu}, {os.cpu_count()} CPUs, load average {load:.1f} at start, {platform.system()} {platform.release()}"


def open_times(context, url: str, runs: int, wait_ms: int = 0) -> dict[str, list]:
    """Opens `url` runs + 1 times (the first warms the JIT and caches, dropped)."""
    out: dict[str, list] = {"open": [], "nav": [], "masks": [], "longest": [], "phases": []}
    for i in range(runs + 1):
        page = context.new_page()
        goto_opened(page, url)
        if wait_ms:
            page.wait_for_timeout(wait_ms)
        r = page.evaluate(OPEN_JS)
        page.close()
        if i:
            for k in ("open", "nav", "masks", "longest", "phases"):
                out[k].append(r[k])
    return out


def strokes(page, label_prefix: str) -> dict[str, dict]:
    results = {}
    for label, class_key, zoom in [("instance, fit", "1", "f"), ("instance, 1:1", "1", "0"), ("semantic layer, fit", "3", "f")]:
        res = page.evaluate(STROKE_JS, [class_key, zoom, 120, 30])
        work = res["work"]
        results[label] = {"p50": pct(work, .5), "p95": pct(work, .95), "max": max(work), "commit": res["commit"],
                          "gap95": pct(res["gaps"][1:], .95), "scale": res["scale"]}
        print(f"  {label_prefix} {label:20s} p50 {pct(work, .5):5.2f} ms  p95 {pct(work, .95):5.2f} ms  max {max(work):5.2f} ms | "
              f"rAF interval p95 {pct(res['gaps'][1:], .95):5.1f} ms | commit {res['commit']:.1f} ms (zoom {res['scale']:.2f})", flush=True)
    return results


def summary(label: str, t: dict[str, list]) -> None:
    phases = ", ".join(f"{k} {statistics.median(p[k] for p in t['phases']):.0f}" for k in t["phases"][0])
    print(f"  {label:34s} open {statistics.median(t['open']):6.1f} ms | navigation -> ready {statistics.median(t['nav']):6.1f} ms | "
          f"-> masks shown {statistics.median(t['masks']):6.1f} ms | "
          f"longest task while opening {max(t['longest']):5.1f} ms (median {statistics.median(t['longest']):.1f}) | {phases}", flush=True)


def standin(browser, runs: int, sizes: list[int]) -> dict:
    print("\n== stand-in API (browser only) ==", flush=True)
    photo = make_photo()
    docs = {i + 1: {"image": i + 1, "version": 1, "width": W, "height": H, "void": None, "annotations": make_instances(n)}
            for i, n in enumerate(sizes)}
    server = serve(photo, docs)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    context = browser.new_context(viewport={"width": 1400, "height": 860})
    context.add_init_script(LONGTASKS_INIT)
    plain = []
    for _ in range(runs + 1):
        page = context.new_page()
        page.goto(f"{base}/plain.html")
        plain.append(page.evaluate("window.plain"))
        page.close()
    out: dict = {"plain": statistics.median(plain[1:])}
    print(f"  plain JPEG load + drawImage: {out['plain']:.1f} ms")
    for i, n in enumerate(sizes):
        t = open_times(context, f"{base}/edit/{i + 1}/", runs)
        summary(f"stand-in, {n} instances:", t)
        out[n] = {"open": t, "strokes": None}
        if n:
            page = context.new_page()
            page.goto(f"{base}/edit/{i + 1}/")
            page.wait_for_selector("#editor[data-ready='true']", timeout=120_000)
            page.wait_for_timeout(500)
            out[n]["strokes"] = strokes(page, f"stand-in {n}:")
            page.close()
    context.close()
    server.shutdown()
    return out


def api_times(stack, sizes: list[int], runs: int) -> dict:
    import requests

    print(f"\n== real stack API: gunicorn {gunicorn_conf.workers} workers x {gunicorn_conf.threads} threads, {stack.database}, token auth, one client ==", flush=True)
    session = requests.Session()
    session.headers["Authorization"] = f"Token {stack.token}"
    out = {}
    for n in sizes:
        url = f"{stack.base}/api/images/{stack.images[n]}/annotations/"
        gets, puts, patches, not_modified = [], [], [], []
        doc = session.get(url, timeout=60).json()
        size = len(session.get(url, timeout=60).content)
        for _ in range(runs):
            t0 = time.perf_counter()
            r = session.get(url, timeout=60)
            gets.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200
            t0 = time.perf_counter()
            r304 = session.get(url, headers={"If-None-Match": r.headers["ETag"]}, timeout=60)
            not_modified.append((time.perf_counter() - t0) * 1000)
            assert r304.status_code == 304, r304.status_code
        items = [{"id": a["id"], "label_class": a["label_class"], "mask": a["mask"], "z_order": a["z_order"],
                  "is_proposal": a["is_proposal"]} for a in doc["annotations"]]
        version = doc["version"]
        put_bytes = len(json.dumps({"version": version, "annotations": items}))
        for i in range(runs):
            items[i % len(items)]["z_order"] += 1  # one changed annotation per save, as the load bench does
            t0 = time.perf_counter()
            r = session.put(url, json={"version": version, "annotations": items}, timeout=60)
            puts.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.text[:300]
            version = r.json()["version"]
        target = doc["annotations"][len(doc["annotations"]) // 2]
        other = doc["annotations"][len(doc["annotations"]) // 2 + 1]["mask"]
        patch_bytes = 0
        for i in range(runs):
            body = {"version": version, "upsert": [{"id": target["id"], "mask": other if i % 2 == 0 else target["mask"]}], "delete": []}
            patch_bytes = len(json.dumps(body))
            t0 = time.perf_counter()
            r = session.patch(url, json=body, timeout=60)
            patches.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.text[:300]
            version = r.json()["version"]
        out[n] = {"get": gets, "put": puts, "patch": patches, "304": not_modified, "size": size, "put_bytes": put_bytes,
                  "patch_bytes": patch_bytes}
        print(f"  {n:5d} masks: GET p50 {pct(gets, .5):6.1f} p99 {pct(gets, .99):6.1f} ms ({size / 1e6:.2f} MB) | "
              f"GET 304 p50 {pct(not_modified, .5):5.1f} ms | PUT p50 {pct(puts, .5):6.1f} p99 {pct(puts, .99):6.1f} ms "
              f"({put_bytes / 1e6:.2f} MB) | PATCH one mask p50 {pct(patches, .5):5.1f} p99 {pct(patches, .99):5.1f} ms "
              f"({patch_bytes / 1e3:.1f} kB)  [{runs} each]", flush=True)
    return out


def real_editor(browser, stack, sizes: list[int], runs: int) -> dict:
    print("\n== real stack editor (Django + built editor + Chromium) ==", flush=True)
    host = stack.base.split("//", 1)[1].split(":")[0]

    def new_context():
        context = browser.new_context(viewport={"width": 1400, "height": 860})
        context.add_cookies([{"name": "sessionid", "value": stack.session, "domain": host, "path": "/"}])
        context.add_init_script(LONGTASKS_INIT)
        return context

    context = new_context()
    out: dict = {}
    for n in sizes:
        url = f"{stack.base}/projects/{stack.project}/images/{stack.images[n]}/edit/"
        t = open_times(context, url, runs)
        summary(f"real stack, {n} instances:", t)
        out[n] = {"open": t}
        if not n:
            continue
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector("#editor[data-ready='true']", timeout=120_000)
        page.wait_for_timeout(500)
        out[n]["strokes"] = strokes(page, f"real {n}:")
        page.evaluate(SAVE_JS, False)  # the strokes above, saved
        page.evaluate(STROKE_JS, ["1", "f", 30, 30])
        delta = page.evaluate(SAVE_JS, False)  # one stroke: one new mask
        page.evaluate(STROKE_JS, ["1", "f", 30, 30])
        full = page.evaluate(SAVE_JS, True)  # one stroke, the whole document
        out[n]["save"] = {"delta": delta, "full": full}
        print(f"  real {n}: save after one stroke: delta {delta['ms']:.1f} ms (request {delta['request']:.1f} ms; "
              f"{delta['sent']['upserts']} upsert, {delta['sent']['bytes'] / 1e3:.1f} kB sent) | full PUT {full['ms']:.1f} ms "
              f"(request {full['request']:.1f} ms; {full['sent']['upserts']} annotations, {full['sent']['bytes'] / 1e6:.2f} MB sent) "
              f"| x{full['ms'] / delta['ms']:.1f}", flush=True)
        page.close()
    # The 409 race: two tabs on the same version, one stroke each, both save at once.
    n = sizes[-1]
    url = f"{stack.base}/projects/{stack.project}/images/{stack.images[n]}/edit/"
    tabs = []
    for _ in range(2):
        tab = new_context().new_page()
        tab.goto(url)
        tab.wait_for_selector("#editor[data-ready='true']", timeout=120_000)
        tab.evaluate(STROKE_JS, ["2", "f", 20, 20])
        tabs.append(tab)
    for tab in tabs:
        tab.evaluate("""() => { const s = window.labelerEditor.editor.saver; const t0 = performance.now();
            window.__race = s.save().then((ok) => ({ok, ms: performance.now() - t0, state: s.state.kind})); return 1; }""")
    race = [tab.evaluate("() => window.__race") for tab in tabs]
    out["race"] = race
    print(f"  409 race at {n} masks, two tabs saving deltas at once: "
          + "; ".join(f"tab {i + 1}: {'saved' if r['ok'] else r['state']} after {r['ms']:.0f} ms" for i, r in enumerate(race)), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--api-runs", type=int, default=50)
    parser.add_argument("--no-real", action="store_true", help="only the stand-in")
    parser.add_argument("--api-only", action="store_true", help="only the real stack's API timings (no browser)")
    parser.add_argument("--database-url", default="", help="the real stack's database (default: SQLite in a temporary folder)")
    args = parser.parse_args()
    if not (STATIC / "editor.js").exists():
        sys.exit("build the editor first: cd frontend && npm ci && npm run build")
    from playwright.sync_api import sync_playwright

    print(f"machine: {machine()}", flush=True)
    sizes = [0, 100, 1000]
    if args.api_only:
        from stack import real_stack

        with real_stack([200, 1000], database_url=args.database_url) as stack:
            api_times(stack, [200, 1000], args.api_runs)
        return
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        print(f"Chromium {browser.version} headless, --disable-gpu (software canvas); a 4000x3000 JPEG; medians of {args.runs}", flush=True)
        base = standin(browser, args.runs, sizes)
        if not args.no_real:
            from stack import real_stack

            print("\nseeding the real stack (0, 100, 200, 1,000 masks; pycocotools)...", flush=True)
            with real_stack([0, 100, 200, 1000], database_url=args.database_url) as stack:
                api = api_times(stack, [200, 1000], args.api_runs)
                real = real_editor(browser, stack, sizes, args.runs)
            print("\n== real stack vs stand-in (medians) ==")
            for n in sizes[1:]:
                so, ro = base[n]["open"], real[n]["open"]
                print(f"  {n:5d} masks: open {statistics.median(ro['open']):.0f} ms (stand-in {statistics.median(so['open']):.0f}, "
                      f"x{statistics.median(ro['open']) / statistics.median(so['open']):.2f}) | navigation -> ready "
                      f"{statistics.median(ro['nav']):.0f} ms (stand-in {statistics.median(so['nav']):.0f}) | stroke frame max "
                      f"{max(v['max'] for v in real[n]['strokes'].values()):.1f} ms (stand-in "
                      f"{max(v['max'] for v in base[n]['strokes'].values()):.1f})")
            del api
        browser.close()


if __name__ == "__main__":
    main()

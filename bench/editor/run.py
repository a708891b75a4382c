"""Editor benchmark in headless Chromium: time to open a 4000x3000 image with 100 instances, and
the main-thread time per frame of brush strokes. Not a test: it prints figures.

With a void region too (VOC-style 6 px bands around the 100 instances and a 1200x900 block), the
open and the void tool's strokes are timed against the same image without void.

Baselines measured in the same run: the same open with 0 instances, and a plain page that only
loads the same JPEG and draws it on a canvas. Targets: open < 300 ms, stroke frames < 16 ms.

The editor talks to a small in-process stand-in for the REST API (same JSON shapes), so the
figures measure the browser side only, not Django.

    cd frontend && npm run build && cd .. && .venv/bin/python bench/editor/run.py [--runs 5]
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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
from PIL import Image
from pycocotools import mask as cocomask

REPO = Path(__file__).resolve().parents[2]
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
    for i in range(n):
        rx, ry = int(rng.integers(40, 260)), int(rng.integers(40, 220))
        cx, cy = int(rng.integers(rx, W - rx)), int(rng.integers(ry, H - ry))
        bm = np.zeros((H, W), np.uint8)
        yy, xx = np.mgrid[cy - ry: cy + ry + 1, cx - rx: cx + rx + 1]
        bm[cy - ry: cy + ry + 1, cx - rx: cx + rx + 1] = (((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1)
        rle = cocomask.encode(np.asfortranarray(bm))
        proposal = i % 4 == 0
        out.append({
            "id": i + 1, "label_class": 1 + (i % 2), "mask": {"size": [H, W], "counts": rle["counts"].decode()},
            "bbox": [cx - rx, cy - ry, 2 * rx + 1, 2 * ry + 1], "area": int(bm.sum()), "z_order": i,
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
</head><body style="margin:0"><div id="editor" data-project-id="1" data-image-id="{image}" data-api-root="/api/"></div>
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

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not (STATIC / "editor.js").exists():
        sys.exit("build the editor first: cd frontend && npm ci && npm run build")
    from playwright.sync_api import sync_playwright

    print("preparing a 4000x3000 JPEG and 100 instance masks (pycocotools)...", flush=True)
    photo = make_photo()
    instances = make_instances(100)
    void = make_void()
    docs = {1: {"image": 1, "version": 1, "width": W, "height": H, "annotations": []},
            2: {"image": 2, "version": 1, "width": W, "height": H, "annotations": instances},
            3: {"image": 3, "version": 1, "width": W, "height": H, "annotations": instances, "void": void}}
    server = serve(photo, docs)
    base = f"http://127.0.0.1:{server.server_address[1]}"

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.processor())
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        print(f"machine: {cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}; Chromium {browser.version} headless, --disable-gpu (software canvas)")
        context = browser.new_context(viewport={"width": 1400, "height": 860})

        phases: list[dict] = []

        def open_times(image_id: int) -> tuple[list[float], list[float]]:
            opens, navs = [], []
            phases.clear()
            for _ in range(args.runs + 1):  # first run warms the JIT and caches, dropped
                page = context.new_page()
                page.goto(f"{base}/edit/{image_id}/")
                page.wait_for_selector("#editor[data-ready='true']", timeout=60_000)
                opens.append(page.evaluate("window.labelerEditor.editor.openMs"))
                navs.append(page.evaluate("performance.getEntriesByName('editor:ready')[0].startTime"))
                phases.append(page.evaluate("window.labelerEditor.editor.openTimings"))
                page.close()
            return opens[1:], navs[1:]

        def plain_times() -> list[float]:
            out = []
            for _ in range(args.runs + 1):
                page = context.new_page()
                page.goto(f"{base}/plain.html")
                out.append(page.evaluate("window.plain"))
                page.close()
            return out[1:]

        plain = plain_times()
        open0, nav0 = open_times(1)
        open100, nav100 = open_times(2)
        phase_text = ", ".join(f"{k} {statistics.median(p[k] for p in phases[1:]):.0f}" for k in phases[0])
        open_void, _ = open_times(3)
        void_phases = ", ".join(f"{k} {statistics.median(p[k] for p in phases[1:]):.0f}" for k in phases[0])
        m_plain, m0, m100 = statistics.median(plain), statistics.median(open0), statistics.median(open100)
        print("\nopen (editor.open(): API + JPEG decode + RLE decode + tint + first frame), median of", args.runs)
        print(f"  plain JPEG load + drawImage (baseline): {m_plain:7.1f} ms")
        print(f"  editor, 0 instances:                    {m0:7.1f} ms   (x{m0 / m_plain:.2f} of plain)")
        print(f"  editor, 100 instances:                  {m100:7.1f} ms   (x{m100 / m0:.2f} of 0 instances, x{m100 / m_plain:.2f} of plain)  target < 300 ms")
        print(f"  100 instances, ms since open() began: {phase_text}")
        print(f"  navigation start -> ready, 100 inst.:   {statistics.median(nav100):7.1f} ms   (0 instances: {statistics.median(nav0):.1f} ms)")
        m_void = statistics.median(open_void)
        print(f"  editor, 100 instances + void region:    {m_void:7.1f} ms   (x{m_void / m100:.2f} of 100 instances without void; "
              f"fastest runs {min(open_void):.1f} vs {min(open100):.1f} ms)")
        print(f"  100 instances + void, ms since open() began: {void_phases}")

        page = context.new_page()
        page.goto(f"{base}/edit/2/")
        page.wait_for_selector("#editor[data-ready='true']", timeout=60_000)
        page.wait_for_timeout(500)  # let the downscaled image levels build
        print("\nbrush stroke, main-thread work per frame (pointer sample + repaint), 100 instances loaded")
        for label, class_key, zoom in [("instance, fit", "1", "f"), ("instance, 1:1", "1", "0"), ("semantic layer, fit", "3", "f"), ("semantic layer, 1:1", "3", "0")]:
            res = page.evaluate(STROKE_JS, [class_key, zoom, 120, 30, "b"])
            work, gaps = res["work"], res["gaps"][1:]
            print(f"  {label:20s} p50 {pct(work, .5):5.2f} ms  p95 {pct(work, .95):5.2f} ms  max {max(work):5.2f} ms | "
                  f"rAF interval p50 {pct(gaps, .5):5.1f} ms p95 {pct(gaps, .95):5.1f} ms | commit {res['commit']:.1f} ms "
                  f"(brush r={res['radius']} px, zoom {res['scale']:.2f})")
        print("  target: frames < 16 ms")
        page.close()

        page = context.new_page()
        page.goto(f"{base}/edit/3/")
        page.wait_for_selector("#editor[data-ready='true']", timeout=60_000)
        page.wait_for_timeout(500)
        print("\nvoid tool stroke (Shift+V), main-thread work per frame, 100 instances and the void region loaded")
        for label, zoom in [("void, fit", "f"), ("void, 1:1", "0")]:
            res = page.evaluate(STROKE_JS, ["1", zoom, 120, 30, "V"])
            work, gaps = res["work"], res["gaps"][1:]
            print(f"  {label:20s} p50 {pct(work, .5):5.2f} ms  p95 {pct(work, .95):5.2f} ms  max {max(work):5.2f} ms | "
                  f"rAF interval p50 {pct(gaps, .5):5.1f} ms p95 {pct(gaps, .95):5.1f} ms | commit {res['commit']:.1f} ms "
                  f"(brush r={res['radius']} px, zoom {res['scale']:.2f})")
        print("  target: frames < 16 ms")
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main()

"""Interleaved A/B of editor builds on one real stack (bench/editor/stack.py): each build is a folder
holding a copy of annotations/static/editor from `npm run build` (the bundle before a change, and
after it), served to the browser for /static/editor/* instead of the stack's own. The opens alternate
between the builds (ABBA...), so a busy machine slows them alike. Per build and document size, over
the runs: the longest main-thread task while opening (the long-task observer, as run.py), the most
main-thread CPU in one task and the CPU of all tasks until opened (from a Chromium trace of each
open: CPU, unlike wall time, does not grow with the machine's load), navigation -> ready and ->
every mask shown.

    git stash; (cd frontend && npm run build); cp -r annotations/static/editor /tmp/before; git stash pop
    (cd frontend && npm run build); cp -r annotations/static/editor /tmp/after
    .venv/bin/python bench/editor/ab_builds.py /tmp/before /tmp/after [--sizes 0 100 1000] [--runs 6]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from run import ARGS, CHROMIUM, LONGTASKS_INIT, OPEN_JS, goto_opened, machine  # noqa: E402
from trace import top_tasks  # noqa: E402

CATEGORIES = ["toplevel", "blink.user_timing", "disabled-by-default-devtools.timeline"]
TYPES = {".js": "text/javascript", ".css": "text/css", ".map": "application/json"}


def serve_build(folder: Path):
    def handle(route) -> None:
        f = folder / route.request.url.split("?")[0].rsplit("/", 1)[-1]
        if not f.is_file():
            route.fulfill(status=404, body="")
            return
        route.fulfill(status=200, body=f.read_bytes(),
                      headers={"Content-Type": TYPES.get(f.suffix, "application/octet-stream"), "Cache-Control": "max-age=60, public"})
    return handle


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("builds", nargs="+", type=Path)
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 100, 1000])
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--no-trace", action="store_true", help="wall-clock figures only (tracing slows the page a little)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from stack import real_stack

    print(f"machine: {machine()}", flush=True)
    with real_stack(args.sizes) as stack, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        host = stack.base.split("//", 1)[1].split(":")[0]
        contexts = {}
        for build in args.builds:
            context = browser.new_context(viewport={"width": 1400, "height": 860})
            context.add_cookies([{"name": "sessionid", "value": stack.session, "domain": host, "path": "/"}])
            context.add_init_script(LONGTASKS_INIT)
            context.route("**/static/editor/*", serve_build(build))
            contexts[build] = context
        results = {(b, n): {"longest": [], "cpu": [], "cpu_all": [], "nav": [], "masks": []} for b in args.builds for n in args.sizes}
        for i in range(args.runs + 1):  # the first round warms caches and the JIT, dropped
            for n in args.sizes:
                url = f"{stack.base}/projects/{stack.project}/images/{stack.images[n]}/edit/"
                for build in (args.builds if i % 2 == 0 else args.builds[::-1]):
                    page = contexts[build].new_page()
                    if not args.no_trace:
                        browser.start_tracing(page=page, categories=CATEGORIES)
                    goto_opened(page, url)
                    r = page.evaluate(OPEN_JS)
                    cpus = [0.0]
                    if not args.no_trace:
                        events = json.loads(browser.stop_tracing())["traceEvents"]
                        until = max(e["ts"] for e in events if e.get("name") in ("editor:ready", "editor:masks"))
                        cpus = [t.get("tdur", 0) / 1000 for t, _ in top_tasks(events, until)[0]]
                    page.close()
                    if i:
                        out = results[(build, n)]
                        out["longest"].append(r["longest"])
                        out["cpu"].append(max(cpus))
                        out["cpu_all"].append(sum(cpus))
                        out["nav"].append(r["nav"])
                        out["masks"].append(r["masks"])
        browser.close()
    med = statistics.median
    print(f"real stack, {args.runs} opens per build and size, interleaved; load average {os.getloadavg()[0]:.1f} at the end; "
          + ("not traced (no CPU figures)" if args.no_trace else "traced (tracing slows the page a little, alike for every build)"))
    for n in args.sizes:
        for build in args.builds:
            r = results[(build, n)]
            cpu = "" if args.no_trace else (f"most CPU in one task max {max(r['cpu']):5.1f} ms (median {med(r['cpu']):4.1f}) | "
                                             f"CPU of all tasks {med(r['cpu_all']):4.0f} ms | ")
            print(f"  {n:5d} masks {str(build):28s} longest task max {max(r['longest']):5.1f} ms (median {med(r['longest']):4.1f}) | "
                  f"{cpu}navigation -> ready {med(r['nav']):4.0f} ms | -> masks shown {med(r['masks']):4.0f} ms", flush=True)


if __name__ == "__main__":
    main()

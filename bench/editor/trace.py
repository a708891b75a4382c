"""Where the long main-thread tasks of the editor's open go: a Chromium performance trace of the open,
on the real stack (Django page) and on the stand-in page, read back as each main-thread task before
ready / masks shown that ran longer than --over ms or used half of that in CPU: its wall time, its CPU
time (the trace's thread time: on a shared 2-core machine a task is often long for want of a core,
not for its work), what posted it, and the events whose own time (minus their children's) it spent.
A summary gives, per page and size, the longest task and the most CPU one task used.

    cd frontend && npm run build && cd .. && .venv/bin/python bench/editor/trace.py [--sizes 0 1000] [--runs 3] [--over 30]

With --save DIR the raw traces are written there (open them in Chromium's Performance panel).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from run import ARGS, CHROMIUM, LONGTASKS_INIT, W, H, goto_opened, make_instances, make_photo, machine, serve  # noqa: E402

CATEGORIES = [
    "devtools.timeline", "disabled-by-default-devtools.timeline", "disabled-by-default-devtools.timeline.frame",
    "toplevel", "v8", "v8.execute", "blink", "blink.user_timing", "loading", "disabled-by-default-v8.compile", "fonts",
    "disabled-by-default-fonts", "blink.debug", "disabled-by-default-blink.debug.layout",
]


def main_thread(events: list[dict]) -> tuple[int, int] | None:
    """(pid, tid) of the editor page's renderer main thread: the one that marked editor:ready."""
    for e in events:
        if e.get("name") == "editor:ready":
            return e["pid"], e["tid"]
    return None


def describe(e: dict) -> str:
    data = (e.get("args") or {}).get("data") or {}
    bits = [e["name"]]
    for key in ("url", "functionName", "type", "frame"):
        v = data.get(key)
        if v and key != "frame":
            bits.append(str(v).rsplit("/", 1)[-1][:60])
    if e["name"] in ("Layout",) and "beginData" in (e.get("args") or {}):
        bits.append(f"dirty {e['args']['beginData'].get('dirtyObjects')}/{e['args']['beginData'].get('totalObjects')}")
    if e["name"] == "UpdateLayoutTree" and isinstance(e.get("args"), dict):
        count = e["args"].get("elementCount") or data.get("elementCount")
        if count:
            bits.append(f"elements {count}")
    return " ".join(bits)


def top_tasks(events: list[dict], until_us: float | None) -> tuple[list[tuple[dict, list[dict]]], float]:
    """The main thread's outermost tasks up to `until_us` (a RunTask can run nested ones), each with
    the events inside it; and the trace's first timestamp on that thread."""
    key = main_thread(events)
    mine = [e for e in events if (e.get("pid"), e.get("tid")) == key and e.get("ph") == "X" and "dur" in e]
    mine.sort(key=lambda e: (e["ts"], -e["dur"]))
    t0 = mine[0]["ts"] if mine else 0.0
    top, end = [], -1.0
    for e in mine:
        if e["name"] in ("RunTask", "ThreadControllerImpl::RunTask") and e["ts"] >= end:
            top.append(e)
            end = e["ts"] + e["dur"]
    out = []
    i = 0
    for t in top:
        if until_us is not None and t["ts"] > until_us:
            break
        while i < len(mine) and mine[i]["ts"] < t["ts"]:
            i += 1
        inside, j = [], i
        while j < len(mine) and mine[j]["ts"] < t["ts"] + t["dur"]:
            if mine[j] is not t and mine[j]["ts"] + mine[j]["dur"] <= t["ts"] + t["dur"]:
                inside.append(mine[j])
            j += 1
        out.append((t, inside))
    return out, t0


def self_times(inside: list[dict]) -> dict[str, list[float]]:
    """Per event description: [wall ms, CPU ms, count], each event's own time (minus its children)."""
    stack: list[dict] = []
    child_wall: dict[int, float] = defaultdict(float)
    child_cpu: dict[int, float] = defaultdict(float)
    for e in inside:
        while stack and stack[-1]["ts"] + stack[-1]["dur"] <= e["ts"]:
            stack.pop()
        if stack:
            child_wall[id(stack[-1])] += e["dur"]
            child_cpu[id(stack[-1])] += e.get("tdur", 0)
        stack.append(e)
    agg: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    for e in inside:
        a = agg[describe(e)]
        a[0] += (e["dur"] - child_wall[id(e)]) / 1000
        a[1] += (e.get("tdur", 0) - child_cpu[id(e)]) / 1000
        a[2] += 1
    return agg


def report(label: str, trace: dict, over_ms: float) -> tuple[float, float]:
    """Prints each task before editor:ready / editor:masks (the later) that ran longer than
    `over_ms` or used more than half of it in CPU, with where its time went; answers the longest
    task (wall) and the most CPU a task used."""
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    marks = [e for e in events if e.get("name") in ("editor:ready", "editor:masks")]
    until = max((e["ts"] for e in marks), default=None)
    tasks, t0 = top_tasks(events, until)
    longest = max((t["dur"] / 1000 for t, _ in tasks), default=0.0)
    most_cpu = max((t.get("tdur", 0) / 1000 for t, _ in tasks), default=0.0)
    print(f"\n  {label}: {len(tasks)} tasks before ready and masks shown ({(until - t0) / 1000 if until else 0:.0f} ms); "
          f"longest {longest:.1f} ms, most CPU in one task {most_cpu:.1f} ms")
    for t, inside in tasks:
        wall, cpu = t["dur"] / 1000, t.get("tdur", 0) / 1000
        if wall <= over_ms and cpu <= over_ms / 2:
            continue
        posted = (t.get("args") or {}).get("src_func") or next(
            ((e.get("args") or {}).get("src_func") for e in inside if (e.get("args") or {}).get("src_func")), "?")
        print(f"    task at {(t['ts'] - t0) / 1000:5.0f} ms: {wall:5.1f} ms, CPU {cpu:5.1f} ms (posted from {posted})")
        for name, (w, c, n) in sorted(self_times(inside).items(), key=lambda kv: -kv[1][1])[:8]:
            if c >= 0.5 or w >= 2:
                print(f"      CPU {c:5.1f} ms  wall {w:5.1f} ms  x{int(n):<3d} {name}")
    return longest, most_cpu


def trace_open(browser, context, url: str, save: Path | None, name: str) -> dict:
    warm = context.new_page()  # the first open warms caches, as run.py drops its first run
    warm.goto(url)
    warm.wait_for_selector("#editor[data-ready='true']", timeout=120_000)
    warm.close()
    page = context.new_page()
    browser.start_tracing(page=page, categories=CATEGORIES)
    goto_opened(page, url)
    page.wait_for_timeout(300)
    observed = page.evaluate("""() => { const ready = performance.getEntriesByName('editor:ready')[0].startTime;
        return (window.__longtasks || []).map(t => `${Math.round(t.duration)} ms at ${Math.round(t.start)}${t.start > ready ? ' (after ready)' : ''}`); }""")
    raw = browser.stop_tracing()
    page.close()
    if save:
        save.mkdir(parents=True, exist_ok=True)
        (save / f"{name}.json").write_bytes(raw)
    trace = json.loads(raw)
    trace["observed"] = observed
    return trace


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 1000])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--over", type=float, default=30.0, help="detail the tasks longer than this, or that used half of it in CPU (ms)")
    parser.add_argument("--no-standin", action="store_true")
    parser.add_argument("--save", type=Path, default=None)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from stack import real_stack

    print(f"machine: {machine()}", flush=True)
    summary: dict[str, list[tuple[float, float]]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        if not args.no_standin:
            docs = {i + 1: {"image": i + 1, "version": 1, "width": W, "height": H, "void": None, "annotations": make_instances(n)}
                    for i, n in enumerate(args.sizes)}
            server = serve(make_photo(), docs)
            base = f"http://127.0.0.1:{server.server_address[1]}"
            context = browser.new_context(viewport={"width": 1400, "height": 860})
            context.add_init_script(LONGTASKS_INIT)
            for i, n in enumerate(args.sizes):
                for r in range(args.runs):
                    t = trace_open(browser, context, f"{base}/edit/{i + 1}/", args.save, f"standin-{n}-{r}")
                    summary.setdefault(f"stand-in, {n:4d} masks", []).append(
                        report(f"stand-in, {n} masks, run {r + 1} (long-task observer: {t['observed']})", t, args.over))
            context.close()
            server.shutdown()
        with real_stack(args.sizes) as stack:
            host = stack.base.split("//", 1)[1].split(":")[0]
            context = browser.new_context(viewport={"width": 1400, "height": 860})
            context.add_cookies([{"name": "sessionid", "value": stack.session, "domain": host, "path": "/"}])
            context.add_init_script(LONGTASKS_INIT)
            for n in args.sizes:
                url = f"{stack.base}/projects/{stack.project}/images/{stack.images[n]}/edit/"
                for r in range(args.runs):
                    t = trace_open(browser, context, url, args.save, f"real-{n}-{r}")
                    summary.setdefault(f"real stack, {n:4d} masks", []).append(
                        report(f"real stack, {n} masks, run {r + 1} (long-task observer: {t['observed']})", t, args.over))
            context.close()
        browser.close()
    print(f"\nsummary (traced, so slower than untraced; {args.runs} runs each; load average {os.getloadavg()[0]:.1f} at the end):")
    for label, rows in summary.items():
        print(f"  {label}: longest task {max(r[0] for r in rows):5.1f} ms, most CPU in one task {max(r[1] for r in rows):5.1f} ms")


if __name__ == "__main__":
    main()

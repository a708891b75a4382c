"""Where the long main-thread tasks of the editor's open go: a Chromium performance trace of the open,
on the real stack (Django page) and on the stand-in page, read back as each task over a threshold with
the trace events inside it (name, total and self milliseconds, the script URL or the function).

    cd frontend && npm run build && cd .. && .venv/bin/python bench/editor/trace.py [--sizes 0 1000] [--runs 3] [--over 30]

With --save DIR the raw traces are written there (open them in Chromium's Performance panel).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from run import ARGS, CHROMIUM, LONGTASKS_INIT, W, H, make_instances, make_photo, machine, serve  # noqa: E402

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


def long_tasks(events: list[dict], over_ms: float, until_us: float | None) -> list[tuple[dict, list[dict]]]:
    key = main_thread(events)
    mine = [e for e in events if (e.get("pid"), e.get("tid")) == key and e.get("ph") == "X" and "dur" in e]
    mine.sort(key=lambda e: (e["ts"], -e["dur"]))
    top, end = [], -1.0
    for e in mine:  # the outermost tasks only (a RunTask can run nested ones)
        if e["name"] in ("RunTask", "ThreadControllerImpl::RunTask") and e["ts"] >= end:
            top.append(e)
            end = e["ts"] + e["dur"]
    tasks = [e for e in top if e["dur"] > over_ms * 1000]
    out = []
    for t in tasks:
        if until_us is not None and t["ts"] > until_us:
            continue
        inside = [e for e in mine if e is not t and t["ts"] <= e["ts"] and e["ts"] + e["dur"] <= t["ts"] + t["dur"]]
        out.append((t, inside))
    return out


def self_times(task: dict, inside: list[dict]) -> list[tuple[str, float, float]]:
    """(description, total ms, self ms) of each event in the task: self = total - direct children."""
    stack: list[dict] = []
    children_time: dict[int, float] = defaultdict(float)
    for e in inside:
        while stack and stack[-1]["ts"] + stack[-1]["dur"] <= e["ts"]:
            stack.pop()
        if stack:
            children_time[id(stack[-1])] += e["dur"]
        stack.append(e)
    rows = [(describe(e), e["dur"] / 1000, (e["dur"] - children_time[id(e)]) / 1000) for e in inside]
    return rows


def report(label: str, trace: dict, over_ms: float) -> float:
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    marks = [e for e in events if e.get("name") in ("editor:ready", "editor:masks")]
    until = max((e["ts"] for e in marks), default=None)
    longest = 0.0
    found = long_tasks(events, over_ms, until)
    print(f"\n  {label}: {len(found)} main-thread task(s) over {over_ms:.0f} ms before ready/masks shown")
    for t, inside in found:
        longest = max(longest, t["dur"] / 1000)
        print(f"    task {t['dur'] / 1000:.1f} ms")
        rows = self_times(t, inside)
        agg: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
        for name, total, own in rows:
            a = agg[name]
            a[0] += total
            a[1] += own
            a[2] += 1
        for name, (total, own, n) in sorted(agg.items(), key=lambda kv: -kv[1][0])[:14]:
            print(f"      {total:6.1f} ms total {own:6.1f} ms self  x{int(n):<3d} {name}")
    return longest


def trace_open(browser, context, url: str, save: Path | None, name: str) -> dict:
    warm = context.new_page()  # the first open warms caches, as run.py drops its first run
    warm.goto(url)
    warm.wait_for_selector("#editor[data-ready='true']", timeout=120_000)
    warm.close()
    page = context.new_page()
    browser.start_tracing(page=page, categories=CATEGORIES)
    page.goto(url)
    page.wait_for_selector("#editor[data-ready='true']", timeout=120_000)
    page.evaluate("() => window.labelerEditor.editor.masksShown")
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
    parser.add_argument("--over", type=float, default=30.0, help="report tasks longer than this (ms)")
    parser.add_argument("--no-standin", action="store_true")
    parser.add_argument("--save", type=Path, default=None)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from stack import real_stack

    print(f"machine: {machine()}", flush=True)
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
                    report(f"stand-in, {n} masks, run {r + 1} (longtask observer: {t['observed']})", t, args.over)
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
                    report(f"real stack, {n} masks, run {r + 1} (longtask observer: {t['observed']})", t, args.over)
            context.close()
        browser.close()


if __name__ == "__main__":
    main()

"""The web server's settings, read by every way of starting it (`make up`, deploy/, the benches):
`gunicorn labeler.wsgi -c python:labeler.gunicorn_conf`; flags given on the command line win.

What it owns beyond the worker counts: when each worker's cyclic garbage collector runs. A
document save allocates thousands of containers that live until its answer is written (the parsed
JSON, the rows, DRF's request and response, which refer to each other). With CPython's defaults
the collector ran ~5 times inside a 200-mask PUT and ~24 times inside a 1,000-mask one, walking
those live objects and promoting them, and the full (gen2) pass, once every 30-40 saves, walked
every object Django, DRF and the schema had loaded: 55-60 ms, the whole p99 of the saves
(measured in process). So: after the app is loaded, what is alive is moved out of the collector's
sight (gc.freeze); the young generation may grow large enough that no ordinary request triggers
a pass while it runs; and each request starts with the pass (pre_request), when the previous
request's objects are unreachable: it frees them instead of promoting them (after a 1,000-mask
PUT: ~6,000 objects, 1-5 ms on the shared 2-core VM). A pass at the end of a request
(post_request) came too early: gunicorn still holds the response there, so its objects were
promoted, and a full pass after 100 requests then took 355 ms. With the pass before each request
the old generation stays at the ~4,500 objects of the app, and the full pass every
FULL_PASS_EVERY requests takes ~1 ms. Nothing is kept that would be freed otherwise: acyclic
garbage goes by reference counting as always. On SQLite, the worker also takes the WAL
checkpoints off its requests (labeler/sqlite_checkpoints.py).
"""
from __future__ import annotations

import gc
import itertools
import os

wsgi_app = "labeler.wsgi:application"
# Processes, not threads, carry the load: a save holds the GIL for its whole parse and write, so
# threads of one process queue behind it. Two per core: at 50 annotators on 2 cores (bench/load.py)
# the whole-document PUT's p99 was 57-63 ms with 4 processes x 4 threads against 64-72 ms with 2 x 4.
workers = int(os.environ.get("LABELER_WEB_WORKERS", str(max(2, 2 * (os.cpu_count() or 1)))))
threads = int(os.environ.get("LABELER_WEB_THREADS", "4"))
timeout = 300
# No keep-alive: a kept-alive connection pins its client to the one process that accepted it, so
# 50 annotators' connections spread unevenly over the processes and the busiest queued behind its
# own saves while others idled. Each request's new connection goes to whichever process accepts
# first (a loopback or LAN connect costs ~0.1 ms; a reverse proxy in front keeps the browsers'
# connections alive and, like nginx by default, opens one per request to us). bench/load.py,
# full mode, 2-core VM: GET / PUT p99 71.0 / 85.2 ms with keep-alive, 38.2 / 55.0 ms without.
keepalive = 0

# CPython's default is (700, 10, 10): a pass every 700 surviving containers. A 1,000-mask save
# makes ~17,000; a request that makes more than 50,000 still gets passes while it runs.
GC_THRESHOLDS = (50_000, 20, 100)
# A pass before a request promotes what the other threads' requests still hold; it is garbage by
# the next full pass, which walks it once. Every 10 requests keeps that pass ~1 ms (the app's
# ~4,500 unfrozen objects and a few requests' leftovers) instead of collecting 100 requests' worth.
FULL_PASS_EVERY = 10

_served = itertools.count(1)


def warm_and_freeze() -> None:
    """Import what the first request would (every view, the URL tree), then freeze what is alive."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 -- imports every view module now, before the freeze
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def collect_between_requests() -> int:
    """The passes the last request's objects would have had while it ran, now that they are
    unreachable; returns the generation collected (2 every FULL_PASS_EVERY requests, else 1)."""
    generation = 2 if next(_served) % FULL_PASS_EVERY == 0 else 1
    gc.collect(generation)
    return generation


def post_worker_init(worker) -> None:  # gunicorn hook: the worker has loaded the app
    from labeler import sqlite_checkpoints

    sqlite_checkpoints.start()  # SQLite only: WAL checkpoints in a thread, not in the requests
    warm_and_freeze()


def pre_request(worker, req) -> None:  # gunicorn hook: a request is about to be handled
    collect_between_requests()

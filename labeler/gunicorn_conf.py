"""The web server's settings, read by every way of starting it (`make up`, deploy/, the benches):
`gunicorn -c python:labeler.gunicorn_conf labeler.wsgi`; flags given on the command line win.

What it owns beyond the worker counts: the garbage collector of each worker. A document save
allocates thousands of containers that outlive a young-generation pass (the parsed JSON, the
rows): with CPython's defaults the cyclic collector ran ~5 times in a 200-mask PUT and ~24 times
in a 1,000-mask one, and the full (gen2) pass, once every 30-40 saves, walked every object Django,
DRF and the schema had loaded: 55-60 ms, the whole p99 of the saves (measured in process). After
the app is loaded, what is alive is moved out of the collector's sight (gc.freeze) and the young
generation may grow larger, so a pass is rarer and walks only what requests made. Nothing is kept
that would be freed otherwise: acyclic garbage goes by reference counting as always, and cycles
are still collected.
"""
from __future__ import annotations

import gc
import os

wsgi_app = "labeler.wsgi:application"
workers = int(os.environ.get("LABELER_WEB_WORKERS", "2"))
threads = int(os.environ.get("LABELER_WEB_THREADS", "4"))
timeout = 300

# CPython's default is (700, 10, 10): a pass every 700 surviving containers.
GC_THRESHOLDS = (50_000, 20, 100)


def warm_and_freeze() -> None:
    """Import what the first request would (every view, the URL tree), then freeze what is alive."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 -- imports every view module now, before the freeze
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def post_worker_init(worker) -> None:  # gunicorn hook: the worker has loaded the app
    warm_and_freeze()

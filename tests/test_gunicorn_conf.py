"""The web server's config (labeler/gunicorn_conf.py): every way of starting the web server reads
it; a worker that loaded the app has its views imported and what is alive frozen out of the
cyclic collector's sight, with a young generation no ordinary request fills; and before each
request the worker collects what the last one left (the saves' p99 was the collector's passes inside them)."""
from __future__ import annotations

import ast
import gc
import os
import subprocess
import sys
import weakref
from pathlib import Path

from labeler import gunicorn_conf

ROOT = Path(__file__).resolve().parents[1]

# What gunicorn does in a worker: load the app, then run the post_worker_init hook.
WORKER = """
import gc, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeler.settings")
from labeler import gunicorn_conf
before = gc.get_freeze_count(), gc.get_threshold(), "annotations.api.views" in sys.modules
import labeler.wsgi
gunicorn_conf.post_worker_init(worker=None)
after = gc.get_freeze_count(), gc.get_threshold(), "annotations.api.views" in sys.modules
print(repr((before, after)))
"""


def test_a_worker_that_loaded_the_app_imports_every_view_and_freezes_what_is_alive(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "LABELER_VAR_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", WORKER], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    (frozen_before, thresholds_before, views_before), (frozen_after, thresholds_after, views_after) = ast.literal_eval(out.stdout.strip().splitlines()[-1])
    assert frozen_before == 0 and not views_before and thresholds_before[0] < gunicorn_conf.GC_THRESHOLDS[0]
    assert views_after, "the views are imported before the freeze, not by the first request"
    assert frozen_after > 50_000, "Django, DRF and the views are out of the collector's sight"
    assert thresholds_after == gunicorn_conf.GC_THRESHOLDS


def test_every_way_of_starting_the_web_server_reads_the_config():
    config = "python:labeler.gunicorn_conf"
    for path in ("labeler/stack.py", "bench/load.py", "bench/editor/stack.py", "deploy/compose.yaml", "deploy/systemd/labeler-web.service"):
        text = (ROOT / path).read_text()
        assert "gunicorn" in text and config in text, f"{path} starts gunicorn without {config}"
    assert gunicorn_conf.wsgi_app == "labeler.wsgi:application"
    if "LABELER_WEB_WORKERS" not in os.environ:  # two processes a core: a save holds the GIL while it runs
        assert gunicorn_conf.workers == max(2, 2 * (os.cpu_count() or 1))
    assert (gunicorn_conf.threads, gunicorn_conf.timeout) == (4, 300)


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: reference counting alone never frees it


def test_before_each_request_the_worker_frees_the_cycles_the_last_one_left():
    gc.disable()  # as in a worker whose young generation no request fills
    try:
        left = weakref.ref(_Node())
        assert left() is not None
        gunicorn_conf.pre_request(worker=None, req=None)
        assert left() is None
    finally:
        gc.enable()


def test_one_request_in_ten_gets_a_full_pass():
    assert gunicorn_conf.FULL_PASS_EVERY == 10
    generations = [gunicorn_conf.collect_between_requests() for _ in range(gunicorn_conf.FULL_PASS_EVERY)]
    assert sorted(generations) == [1] * (gunicorn_conf.FULL_PASS_EVERY - 1) + [2]


def test_the_web_server_closes_each_connection_after_its_answer(tmp_path):
    """No keep-alive (gunicorn_conf.keepalive): a kept-alive connection would pin its client to one
    worker process; each request's own connection goes to whichever process accepts first."""
    import http.client
    import time

    from labeler.redis_server import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    env.update(LABELER_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="labeler.settings", LABELER_WEB_WORKERS="1",
               DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:labeler.gunicorn_conf", "-b", f"127.0.0.1:{port}"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                connection.request("GET", "/api/no-such-thing/")
                answer = connection.getresponse()
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.3)
        answer.read()
        assert answer.status in (401, 404) and answer.getheader("Connection") == "close"
        assert answer.will_close
    finally:
        server.terminate()
        server.wait(timeout=30)

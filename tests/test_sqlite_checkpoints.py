"""labeler/sqlite_checkpoints.py: in a web worker, SQLite's WAL checkpoints happen in a thread of
the worker's own, never inside a request's commit, and the WAL is still copied into the database."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# A process with the app's settings on a fresh SQLite file: Django connections as requests open
# them, with or without the checkpoint thread started.
PROBE = """
import os, sys, time
import django
django.setup()
from django.db import connection
from labeler import sqlite_checkpoints
thread = sqlite_checkpoints.start(interval_s=0.05) if sys.argv[1] == "thread" else None
connection.ensure_connection()
if sys.argv[1] == "no checkpoints":  # the control: requests leave checkpoints to nobody
    sqlite_checkpoints._requests_leave_checkpoints(None, connection)
with connection.cursor() as cursor:
    cursor.execute("PRAGMA wal_autocheckpoint")
    autocheckpoint = cursor.fetchone()[0]
    cursor.execute("CREATE TABLE probe (a TEXT)")
    for _ in range(40):  # 40 x 0.25 MB commits: 10 MB, past SQLite's 4 MB autocheckpoint twice
        with django.db.transaction.atomic():
            cursor.execute("INSERT INTO probe VALUES (%s)", ["x" * 250_000])
time.sleep(0.5)
# what reached the database file itself (the rest is only in the WAL)
print(repr((autocheckpoint, thread is not None and thread.is_alive(), os.path.getsize(connection.settings_dict["NAME"]) / 1e6)))
"""


def _probe(tmp_path: Path, mode: str) -> tuple[int, bool, float]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "labeler.settings",
           "LABELER_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'probe.sqlite3'}"}
    out = subprocess.run([sys.executable, "-c", PROBE, mode], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return ast.literal_eval(out.stdout.strip().splitlines()[-1])


def test_with_the_thread_requests_never_checkpoint_and_the_wal_is_still_copied(tmp_path):
    autocheckpoint, alive, database_mb = _probe(tmp_path, "thread")
    assert autocheckpoint == 0, "a request's commit must not run the checkpoint"
    assert alive
    assert database_mb > 9.5, "the thread copied the 10 MB of commits into the database file"


def test_without_anyone_checkpointing_the_commits_stay_in_the_wal(tmp_path):
    autocheckpoint, alive, database_mb = _probe(tmp_path, "no checkpoints")
    assert (autocheckpoint, alive) == (0, False)
    assert database_mb < 1, "nothing was copied: what the thread does is what moves the data"


def test_without_the_thread_sqlite_keeps_its_own_checkpoints(tmp_path):
    autocheckpoint, alive, database_mb = _probe(tmp_path, "plain")
    assert (autocheckpoint, alive) == (1000, False)
    assert database_mb > 7.5  # commands, workers and tests: SQLite's default, a checkpoint every 4 MB


def test_it_does_nothing_on_another_database(settings):
    from labeler import sqlite_checkpoints

    settings.DATABASES = {"default": {**settings.DATABASES["default"], "ENGINE": "django.db.backends.postgresql"}}
    assert sqlite_checkpoints.start() is None

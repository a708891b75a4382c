"""SQLite's WAL checkpoints, moved off the web requests (the embedded database only).

In WAL mode every commit appends to the -wal file, and by default the commit that takes the WAL
past 1,000 pages (4 MB) also copies it into the database file and syncs it: 15-25 ms inside that
one request. A document save writes its revision (0.1 MB at 200 masks, 0.6 MB at 1,000), so one
save in ~30 (200 masks) or in ~6 (1,000 masks) paid it: the p99 of the saves. (Commits of
0.1 / 0.6 MB in a row, 30 ms apart: p99 13 / 53 ms with SQLite's default, 4 / 3.5 ms so.) In a
web worker (labeler/gunicorn_conf.py) the request connections do not checkpoint
(wal_autocheckpoint=0) and a thread of the worker's own checkpoints every INTERVAL_S instead (PASSIVE: it never waits for, nor
blocks, readers and writers; the sqlite3 module releases the GIL while it copies). Commands,
Celery workers and tests keep SQLite's default. Nothing about durability changes: a commit is on
disk in the WAL exactly as before (synchronous=NORMAL), and a checkpoint only moves it.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
from typing import Any

logger = logging.getLogger(__name__)

# Often enough that each checkpoint is small and done before the next commit (at 0.5 s a stream
# of 0.6 MB commits kept overlapping them, and the WAL fell behind).
INTERVAL_S = 0.2
# A passive checkpoint copies what the WAL held when it began, and the WAL starts over only after
# one that finished with no commit meanwhile; a steady stream of large commits could keep it
# growing. Past this many frames (4 KiB pages: 64 MB) the thread checkpoints once in TRUNCATE
# mode: it waits for the writer of the moment, holds new writers back while it copies (a stall
# of the kind every request paid at 4 MB before, now only for a WAL that fell that far behind),
# and empties the file.
TRUNCATE_FRAMES = 16000


def _requests_leave_checkpoints(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint=0")


def checkpoint(path: str, *, connection: sqlite3.Connection | None = None) -> tuple[int, int, int]:
    """One PASSIVE checkpoint, then a TRUNCATE one when the WAL fell behind: (busy, frames in the
    WAL, frames checkpointed) of the last."""
    own = connection or sqlite3.connect(path, timeout=5, isolation_level=None)
    try:
        done = tuple(own.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()[0])  # all: a statement left open holds a read snapshot, and the WAL could never start over
        if done[1] > TRUNCATE_FRAMES:
            done = tuple(own.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()[0])
        return done  # type: ignore[return-value]
    finally:
        if connection is None:
            own.close()


def start(*, alias: str = "default", interval_s: float = INTERVAL_S) -> threading.Thread | None:
    """In this process: request connections stop checkpointing and a daemon thread does it. None
    (and nothing changed) when the database is not SQLite."""
    from django.conf import settings
    from django.db.backends.signals import connection_created

    database = settings.DATABASES[alias]
    if not database["ENGINE"].endswith("sqlite3"):
        return None
    path = str(database["NAME"])
    stop = threading.Event()

    def run() -> None:
        # The thread must outlive any one failure: with it gone, nothing would checkpoint this
        # worker's commits and the WAL would only grow.
        own: sqlite3.Connection | None = None
        while not stop.wait(interval_s):
            try:
                own = own or sqlite3.connect(path, timeout=5, isolation_level=None, check_same_thread=False)
                checkpoint(path, connection=own)
            except sqlite3.Error:
                continue  # busy or locked this time: the next tick tries again
            except Exception:
                logger.exception("WAL checkpoint of %s failed; trying again in %s s", path, interval_s)
    connection_created.connect(_requests_leave_checkpoints, dispatch_uid="labeler.sqlite_checkpoints")
    thread = threading.Thread(target=run, name="sqlite-checkpoints", daemon=True)
    thread.stop = stop  # type: ignore[attr-defined]
    thread.start()
    return thread


def stop(thread: threading.Thread) -> None:
    """Stop a checkpoint thread (tests) and give request connections their default back."""
    from django.db.backends.signals import connection_created

    thread.stop.set()  # type: ignore[attr-defined]
    thread.join(timeout=5)
    connection_created.disconnect(dispatch_uid="labeler.sqlite_checkpoints")

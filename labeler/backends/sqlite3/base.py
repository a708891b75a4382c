"""The embedded database's engine: Django's SQLite backend, with writers that queue on a lock
which wakes them the moment it is free.

Every transaction here begins IMMEDIATE (settings), so it takes SQLite's one write lock at BEGIN.
A second writer meanwhile gets SQLITE_BUSY, and SQLite's busy handler then sleeps 1, 2, 5, 10,
15, 20, 25, 25 ... ms between tries whatever the holder does: it wakes late. Under bench/load.py
(50 annotators saving 200-mask documents, 4 web processes on 2 cores) the slowest 2% of saves
spent 25 ms of their 53 asleep in BEGIN while the lock was already free.

So, before BEGIN, a transaction takes its database's writer lock, in two steps:
- a threading.Lock shared by the process's connections to that file: a thread waiting on it is
  woken when it is released;
- an flock on `<database>-writers.lock`, for the other processes (web workers, Celery workers,
  commands), tried every POLL_S while another process holds it (the kernel has no timed flock).
It is held until the transaction commits or rolls back, or its connection closes, and is waited
for at most the connection's `timeout` option (SQLite's own wait), then the BEGIN fails as
SQLite's would: "database is locked". SQLite's lock still decides: a writer that does not take
this lock (an autocommit statement, another program) is waited for as before.
"""
from __future__ import annotations

import fcntl
import os
import threading
import time
from typing import Any

from django.db import OperationalError
from django.db.backends.sqlite3 import base

POLL_S = 0.0005

_registry_lock = threading.Lock()
_writers: dict[tuple[int, str], tuple[threading.Lock, int]] = {}  # (pid, database path) -> lock, lock file


def _writer_lock(path: str) -> tuple[threading.Lock, int]:
    """This process's lock and lock-file descriptor for the database at `path` (opened once per
    process: an flock belongs to an open file, so a forked child must not use its parent's)."""
    key = (os.getpid(), path)
    with _registry_lock:
        if key not in _writers:
            fd = os.open(f"{path}-writers.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            _writers[key] = (threading.Lock(), fd)
        return _writers[key]


class DatabaseWrapper(base.DatabaseWrapper):
    _writer: tuple[threading.Lock, int] | None = None

    def _lock_path(self) -> str | None:
        name = str(self.settings_dict["NAME"])
        return None if self.is_in_memory_db() else os.path.realpath(name)

    def _start_transaction_under_autocommit(self) -> None:
        path = self._lock_path()
        if path is None:
            return super()._start_transaction_under_autocommit()
        lock, fd = _writer_lock(path)
        timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
        deadline = time.monotonic() + timeout
        if not lock.acquire(timeout=timeout):
            raise OperationalError("database is locked")
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise OperationalError("database is locked") from None
                    time.sleep(POLL_S)
        except BaseException:
            lock.release()
            raise
        self._writer = (lock, fd)
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._writer_release()
            raise

    def _writer_release(self) -> None:
        if self._writer is not None:
            lock, fd = self._writer
            self._writer = None
            fcntl.flock(fd, fcntl.LOCK_UN)
            lock.release()

    def _commit(self) -> Any:
        try:
            return super()._commit()
        finally:
            self._writer_release()

    def _rollback(self) -> Any:
        try:
            return super()._rollback()
        finally:
            self._writer_release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._writer_release()

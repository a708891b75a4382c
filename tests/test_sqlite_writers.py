"""labeler/backends/sqlite3: a write transaction on the embedded database holds the writer lock
from BEGIN to commit, rollback or close; other writers (threads of the process, other processes)
wait on it and go on once it is free, for at most the connection's timeout, then fail as SQLite
does. (Why: bench/load.py; the waiting is SQLite's busy handler's otherwise, which sleeps.)"""
from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import OperationalError, connections

from labeler.backends.sqlite3.base import DatabaseWrapper

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def database(tmp_path, django_db_blocker):
    path = tmp_path / "odd name, writers.sqlite3"
    with django_db_blocker.unblock():
        first = _wrapper(path)
        with first.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("CREATE TABLE t (who TEXT)")
        first.close()
        yield path


def _wrapper(path: Path, timeout: float = 5) -> DatabaseWrapper:
    settings = {**connections.databases["default"], "NAME": str(path),
                "OPTIONS": {"timeout": timeout, "transaction_mode": "IMMEDIATE"}}
    wrapper = DatabaseWrapper(settings, alias=f"probe-{threading.get_ident()}")
    wrapper.ensure_connection()  # as transaction.atomic does before it begins
    return wrapper


def _lock_is_free(path: Path) -> bool:
    fd = os.open(f"{os.path.realpath(path)}-writers.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def _rows(path: Path) -> list[str]:
    import sqlite3

    with sqlite3.connect(path) as plain:
        return [who for (who,) in plain.execute("SELECT who FROM t ORDER BY rowid")]


@pytest.mark.parametrize("end", ["commit", "rollback", "close"])
def test_a_transaction_holds_the_writer_lock_until_it_ends(database, end):
    writer = _wrapper(database)
    writer._start_transaction_under_autocommit()
    with writer.cursor() as cursor:
        cursor.execute("INSERT INTO t VALUES ('a')")
    assert not _lock_is_free(database), "another process must see the lock taken"
    getattr(writer, end)()
    assert _lock_is_free(database)
    assert _rows(database) == (["a"] if end == "commit" else [])
    writer.close()


def test_a_failed_begin_leaves_the_lock_free(database, monkeypatch):
    writer = _wrapper(database)
    monkeypatch.setattr("django.db.backends.sqlite3.base.DatabaseWrapper._start_transaction_under_autocommit",
                        lambda self: (_ for _ in ()).throw(OperationalError("disk I/O error")))
    with pytest.raises(OperationalError, match="disk I/O error"):
        writer._start_transaction_under_autocommit()
    assert _lock_is_free(database)
    monkeypatch.undo()
    writer._start_transaction_under_autocommit()  # and this process's threads are not locked out
    writer.rollback()
    writer.close()


def test_threads_of_one_process_take_turns_and_none_is_refused(database):
    order: list[str] = []
    errors: list[BaseException] = []

    def write(who: str, hold_s: float) -> None:
        try:
            writer = _wrapper(database)
            writer._start_transaction_under_autocommit()
            order.append(f"{who} begins")
            with writer.cursor() as cursor:
                cursor.execute("INSERT INTO t VALUES (%s)", [who])
            time.sleep(hold_s)
            order.append(f"{who} commits")
            writer.commit()
            writer.close()
        except BaseException as exc:  # noqa: BLE001 -- reported below
            errors.append(exc)

    first = threading.Thread(target=write, args=("a", 0.3))
    first.start()
    while not order:
        time.sleep(0.01)
    others = [threading.Thread(target=write, args=(who, 0.01)) for who in "bcd"]
    for thread in others:
        thread.start()
    for thread in [first, *others]:
        thread.join()
    assert not errors
    assert order[:2] == ["a begins", "a commits"]
    assert all(order[i].split()[0] == order[i + 1].split()[0] for i in range(0, 8, 2)), order  # never two at once
    assert sorted(_rows(database)) == ["a", "b", "c", "d"]


WRITE = """
import sys
import django
django.setup()
from django.db import OperationalError, connection, transaction
try:
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO t VALUES ('other process')")
    print("written")
except OperationalError as exc:
    print(f"refused: {exc}")
"""


def _other_process(database: Path, timeout: float) -> subprocess.Popen:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "labeler.settings",
           "LABELER_VAR_DIR": str(database.parent), "DATABASE_URL": f"sqlite:///{database}", "LABELER_SQLITE_TIMEOUT_S": str(timeout)}
    return subprocess.Popen([sys.executable, "-c", WRITE], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_another_process_waits_for_the_transaction_and_then_writes(database):
    writer = _wrapper(database)
    writer._start_transaction_under_autocommit()
    with writer.cursor() as cursor:
        cursor.execute("INSERT INTO t VALUES ('web')")
    other = _other_process(database, timeout=30)
    time.sleep(1.5)  # the other process has started and is waiting for the lock
    assert other.poll() is None, other.communicate()
    writer.commit()
    out, err = other.communicate(timeout=60)
    assert out.strip() == "written", err[-2000:]
    assert _rows(database) == ["web", "other process"]
    writer.close()


def test_a_writer_waits_at_most_the_connection_timeout_then_nothing_is_written(database):
    writer = _wrapper(database)
    writer._start_transaction_under_autocommit()
    other = _other_process(database, timeout=0.5)
    out, err = other.communicate(timeout=60)
    assert out.strip() == "refused: database is locked", err[-2000:]
    writer.rollback()
    writer.close()
    assert _rows(database) == []


def test_the_embedded_database_uses_this_engine(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "labeler.settings",
           "LABELER_VAR_DIR": str(tmp_path)}
    script = "import django; django.setup(); from django.db import connections; c = connections['default']; print(c.settings_dict['ENGINE'], type(c).__module__)"
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["labeler.backends.sqlite3", "labeler.backends.sqlite3.base"], out.stderr[-2000:]

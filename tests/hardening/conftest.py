"""Hardening tests: the cast of tests/conftest.py plus a reviewer, a Redis of the test's own that it
can pause and kill, and a Celery worker started with the environment a test asks for."""
from __future__ import annotations

import os
import signal
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

from annotations import services
from annotations.models import Membership
from labeler.redis_server import free_port, start_redis


@pytest.fixture
def reviewer(django_user_model, project):
    user = django_user_model.objects.create_user(username="rhea", password="reviewer-pass-123")
    services.membership_set(project=project, user=user, role=Membership.Role.REVIEWER)
    return user


class PrivateRedis:
    """A redis-server for one test: `pause()` (SIGSTOP: connections hang), `kill()` and `start()`."""

    def __init__(self, directory: Path, *, persist: bool = False) -> None:
        self.directory, self.persist = directory, persist
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = start_redis(port=self.port, directory=self.directory, persist=self.persist)

    def pause(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGCONT)
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()


@pytest.fixture
def private_redis(tmp_path):
    redis = PrivateRedis(tmp_path / "redis")
    yield redis
    redis.stop()


@contextmanager
def celery_broker(url: str, **transport_options):
    """Point this process's Celery app at `url` (broker and results), with short socket timeouts."""
    from labeler.celery import app

    saved = (app.conf.broker_url, app.conf.result_backend, app.conf.broker_transport_options)

    from tests.integration.conftest import celery_connections_reset

    app.conf.broker_url = app.conf.result_backend = url
    app.conf.broker_transport_options = {"socket_timeout": 2, "socket_connect_timeout": 2, **transport_options}
    celery_connections_reset(app)
    try:
        yield app
    finally:
        app.conf.broker_url, app.conf.result_backend, app.conf.broker_transport_options = saved
        celery_connections_reset(app)


def worker_env(database: dict, redis_url: str, media_root: Path, **extra: str) -> dict[str, str]:
    """The environment of a worker that shares this test run's database and media folder."""
    from tests.integration.conftest import ROOT

    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "labeler.settings", "REDIS_URL": redis_url, "MEDIA_ROOT": str(media_root),
        "LABELER_TASK_RUNNER": "annotations.jobs.CeleryRunner", "PYTHONPATH": str(ROOT),
        "LABELER_VISIBILITY_TIMEOUT": "5", "LABELER_UNACKED_RESTORE_INTERVAL": "0.5", **extra,
    })
    if database["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{Path(database['NAME']).resolve()}"
    else:
        env["DATABASE_URL"] = (
            f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST'] or 'localhost'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        )
    return env

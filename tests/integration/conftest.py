"""A real redis-server and a real Celery worker (both queues) against the test database.

The worker is a separate process started once per session; tests that use it need
`django_db(transaction=True)` so their rows are committed where the worker can read them.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labeler.redis_server import free_port, start_redis

ROOT = Path(__file__).resolve().parents[2]


def celery_connections_reset(app) -> None:
    """Forget the app's cached broker pool, producer pool and result backend, which keep the URL they
    were made with: a test that sent a task before (even eagerly) leaves them pointing at the default."""
    app._backend_cache = None
    app._local.backend = None
    app.__dict__.pop("backend", None)
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    port = free_port()
    process = start_redis(port=port, directory=tmp_path_factory.mktemp("redis"))
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def worker_media_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("worker-media")


class Worker:
    """A Celery worker process; `kill()` and `start()` let tests simulate a crash and a restart."""

    def __init__(self, env: dict[str, str], log_path: Path, *, app_module: str = "labeler", queues: str = "default,gpu") -> None:
        self.env = env
        self.log_path = log_path
        self.app_module = app_module
        self.queues = queues
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        from labeler.celery import app

        log = self.log_path.open("ab")
        self.name = f"test-{os.getpid()}-{time.monotonic_ns()}@{socket.gethostname()}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", self.app_module, "worker", "-Q", self.queues, "-c", "1",
             "-n", self.name, "-l", "INFO", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log_path.read_text()[-4000:]}")
            if app.control.ping(destination=[self.name], timeout=0.5):  # this one, not another already up
                return
        raise RuntimeError(f"worker did not answer within 60 s:\n{self.log_path.read_text()[-4000:]}")

    def kill(self) -> None:
        """SIGKILL the whole worker (parent and pool child): no chance to ack or clean up."""
        import psutil

        if self.process is None:
            return
        parent = psutil.Process(self.process.pid)
        for proc in parent.children(recursive=True) + [parent]:
            proc.kill()
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, redis_url, worker_media_root, tmp_path_factory):
    from django.db import connection

    from labeler.celery import app

    app.conf.broker_url = redis_url
    app.conf.result_backend = redis_url
    app.conf.broker_transport_options = {"visibility_timeout": 5}  # redeliver quickly after a kill
    celery_connections_reset(app)
    database = connection.settings_dict
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "labeler.settings",
        "REDIS_URL": redis_url,
        "MEDIA_ROOT": str(worker_media_root),
        "LABELER_TASK_RUNNER": "annotations.jobs.CeleryRunner",
        "LABELER_VISIBILITY_TIMEOUT": "5",
        "LABELER_UNACKED_RESTORE_INTERVAL": "0.5",  # a killed worker's task returns within ~5-10 s
        "PYTHONPATH": str(ROOT),
    })
    if database["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{Path(database['NAME']).resolve()}"
    else:  # PostgreSQL: point the worker at the test database
        env["DATABASE_URL"] = (
            f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST'] or 'localhost'}:{database['PORT'] or 5432}/{database['NAME']}"
        )
    worker = Worker(env, tmp_path_factory.mktemp("worker-log") / "worker.log")
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def worker(celery_worker_process, settings, worker_media_root):
    """Use the real worker in this test: tasks go through Redis, media is shared with the worker."""
    settings.LABELER_TASK_RUNNER = "annotations.jobs.CeleryRunner"
    settings.MEDIA_ROOT = worker_media_root
    if celery_worker_process.process is None:
        celery_worker_process.start()
    return celery_worker_process


def wait_for_job(job_id: int, *, timeout: float = 60.0, until=("succeeded", "failed", "cancelled")):
    from annotations.models import Job

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.status in until:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {Job.objects.get(pk=job_id).status} after {timeout} s")

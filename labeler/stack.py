"""`make up`: the whole app on one machine — Redis, Celery workers, the web server, a demo project.

Runs migrations, makes sure an admin user and the demo project exist, starts this checkout's own
redis-server (unless REDIS_URL names one), one Celery worker per queue and gunicorn on 127.0.0.1,
prints the URL and the login, and stops everything cleanly on Ctrl-C.

Safe by default: DEBUG is off and the secret key is generated once into var/ (labeler/settings.py).
Each checkout's Redis is its own: a free port, recorded in var/redis/url (settings and commands
read it), data in var/redis/ with append-only persistence, so two checkouts on one machine never
share a broker and a queued job survives a Redis crash. A Redis or worker that dies is started
again (the web keeps serving meanwhile); only a web server that keeps dying stops the stack.
"""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeler.settings")


def _ensure_admin(var_dir: Path) -> tuple[str, str]:
    from django.contrib.auth import get_user_model

    username = os.environ.get("LABELER_ADMIN_USER", "admin")
    password_file = var_dir / "admin-password.txt"
    password = os.environ.get("LABELER_ADMIN_PASSWORD") or (
        password_file.read_text().strip() if password_file.exists() else secrets.token_urlsafe(12)
    )
    users = get_user_model().objects
    user = users.filter(username=username).first()
    if user is None:
        users.create_superuser(username=username, email="", password=password)
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
    elif os.environ.get("LABELER_ADMIN_PASSWORD"):
        user.set_password(password)
        user.save()
    elif not password_file.exists():
        password = "(unchanged; set LABELER_ADMIN_PASSWORD to reset)"
    return username, password


RESTARTS_PER_MINUTE = 5


def _checkout_redis(var_dir: Path) -> tuple[int, Path] | None:
    """Choose this checkout's Redis port (the recorded one while it is free) and record its URL
    before settings are read; None when REDIS_URL names a Redis run by someone else."""
    from labeler.redis_server import free_port, port_is_free

    given = os.environ.get("REDIS_URL")
    if given and urlparse(given).hostname not in {"127.0.0.1", "localhost"}:
        return None
    directory = var_dir / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    record = directory / "url"
    if given:
        port = urlparse(given).port or 6379
    else:
        previous = urlparse(record.read_text().strip()).port if record.exists() else None
        port = previous if previous and port_is_free(previous) else free_port()
        os.environ["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
        record.write_text(os.environ["REDIS_URL"] + "\n")
    return port, directory


def main() -> int:
    base_dir = Path(__file__).resolve().parent.parent
    var_dir = Path(os.environ.get("LABELER_VAR_DIR", base_dir / "var"))
    own_redis = _checkout_redis(var_dir)

    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    var_dir = Path(settings.VAR_DIR)
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    username, password = _ensure_admin(var_dir)

    host = os.environ.get("HOST", "127.0.0.1")
    port_web = int(os.environ.get("PORT", "8000"))
    python = sys.executable
    env = dict(os.environ)
    commands: dict[str, list[str]] = {}
    if own_redis is not None:
        from labeler.redis_server import redis_command

        commands["redis"] = redis_command(port=own_redis[0], directory=own_redis[1], persist=True)
    commands["worker-default"] = [python, "-m", "celery", "-A", "labeler", "worker", "-Q", "default", "-c", "2",
                                  "-n", "default@%h", "-l", "INFO"]
    commands["worker-gpu"] = [python, "-m", "celery", "-A", "labeler", "worker", "-Q", "gpu", "-c", "1", "-n", "gpu@%h", "-l", "INFO"]
    # workers, threads and the collector's settings: labeler/gunicorn_conf.py (deploy/ reads it too)
    commands["web"] = [python, "-m", "gunicorn", "labeler.wsgi", "-c", "python:labeler.gunicorn_conf", "-b", f"{host}:{port_web}",
                       "--access-logfile", "-"]
    processes: dict[str, subprocess.Popen] = {}
    if own_redis is not None:
        from labeler.redis_server import start_redis

        processes["redis"] = start_redis(port=own_redis[0], directory=own_redis[1], persist=True)
        from labeler.celery import app
        from workers.startup import broker_claim

        from annotations.jobs import deployment_id

        broker_claim(app, deployment_id(), force=True)  # this Redis is this checkout's by construction
    # After Redis is up: the demo's thumbnail job is queued as soon as its images are stored.
    from annotations.demo import demo_project_ensure

    demo_project_ensure(owner_username=username)
    for name in ("worker-default", "worker-gpu", "web"):
        processes[name] = subprocess.Popen(commands[name], env=env)

    print("\n" + "=" * 64)
    print(f"  labeler is running at  http://{host}:{port_web}/")
    print(f"  log in as  {username}  /  {password}")
    print("  API schema: /api/schema/   admin: /admin/   stop: Ctrl-C")
    print("=" * 64 + "\n", flush=True)

    stopping = False

    def _stop(signum, frame):  # noqa: ARG001
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    exit_code = 0
    restarts: dict[str, list[float]] = {name: [] for name in processes}
    while not stopping:
        for name, proc in list(processes.items()):
            if proc.poll() is None:
                continue
            now = time.monotonic()
            recent = [t for t in restarts[name] if now - t < 60]
            if len(recent) >= RESTARTS_PER_MINUTE:
                print(f"{name} exited with code {proc.returncode} {len(recent)} times in a minute; stopping everything", file=sys.stderr)
                stopping, exit_code = True, 1
                break
            print(f"{name} exited with code {proc.returncode}; starting it again", file=sys.stderr, flush=True)
            restarts[name] = recent + [now]
            processes[name] = subprocess.Popen(commands[name], env=env, **({"stdout": subprocess.DEVNULL} if name == "redis" else {}))
        time.sleep(0.5)
    for name, proc in reversed(processes.items()):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for name, proc in reversed(processes.items()):
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
    print("stopped.")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())

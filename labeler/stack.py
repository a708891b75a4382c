"""`make up`: the whole app on one machine — Redis, Celery workers, the web server, a demo project.

Runs migrations, makes sure an admin user and the demo project exist, starts redis-server (unless
REDIS_URL points elsewhere), one Celery worker per queue and gunicorn on 127.0.0.1, prints the URL
and the login, and stops everything cleanly on Ctrl-C.
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


def main() -> int:
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    var_dir = Path(settings.VAR_DIR)
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    username, password = _ensure_admin(var_dir)

    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    processes: list[tuple[str, subprocess.Popen]] = []
    redis_url = urlparse(settings.REDIS_URL)
    if "REDIS_URL" not in os.environ or redis_url.hostname in {"127.0.0.1", "localhost"}:
        from labeler.redis_server import start_redis

        try:
            processes.append(("redis", start_redis(port=redis_url.port or 6379, directory=var_dir / "redis")))
        except RuntimeError as exc:
            print(f"redis: {exc}; trying to use the one already on {settings.REDIS_URL}", file=sys.stderr)
    # After Redis is up: the demo's thumbnail job is queued as soon as its images are stored.
    from annotations.demo import demo_project_ensure

    demo_project_ensure(owner_username=username)
    python = sys.executable
    env = dict(os.environ)
    processes.append(("worker-default", subprocess.Popen(
        [python, "-m", "celery", "-A", "labeler", "worker", "-Q", "default", "-c", "2", "-n", "default@%h", "-l", "INFO"], env=env)))
    processes.append(("worker-gpu", subprocess.Popen(
        [python, "-m", "celery", "-A", "labeler", "worker", "-Q", "gpu", "-c", "1", "-n", "gpu@%h", "-l", "INFO"], env=env)))
    processes.append(("web", subprocess.Popen(
        [python, "-m", "gunicorn", "labeler.wsgi", "-b", f"{host}:{port}", "-w", "2", "--threads", "4",
         "--timeout", "300", "--access-logfile", "-"], env=env)))

    print("\n" + "=" * 64)
    print(f"  labeler is running at  http://{host}:{port}/")
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
    while not stopping:
        for name, proc in processes:
            if proc.poll() is not None:
                print(f"{name} exited with code {proc.returncode}; stopping everything", file=sys.stderr)
                stopping, exit_code = True, 1
                break
        time.sleep(0.5)
    for name, proc in reversed(processes):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for name, proc in reversed(processes):
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
    print("stopped.")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())

"""`make up`'s stack (python -m labeler.stack) starts everything, serves the demo, and stops on Ctrl-C."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from labeler.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def test_the_stack_serves_the_demo_project_and_stops_cleanly(tmp_path):
    port, redis_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "MEDIA_ROOT", "DJANGO_SETTINGS_MODULE"}}
    env.update({
        "LABELER_VAR_DIR": str(tmp_path / "var"), "PORT": str(port), "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "LABELER_ADMIN_PASSWORD": "demo-pass-123", "PYTHONUNBUFFERED": "1",
    })
    log = (tmp_path / "stack.log").open("w+")
    stack = subprocess.Popen([sys.executable, "-m", "labeler.stack"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/accounts/login/", timeout=10).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.5)
        else:
            log.seek(0)
            pytest.fail(f"the stack did not serve within 120 s:\n{log.read()[-4000:]}")
        auth = ("admin", "demo-pass-123")
        projects = requests.get(f"{base}/api/projects/", auth=auth, timeout=10).json()
        assert projects[0]["name"].startswith("Demo") and projects[0]["image_count"] == 5
        jobs_url = f"{base}/api/projects/{projects[0]['id']}/jobs/"
        while time.monotonic() < deadline:  # the demo's thumbnails come from the real worker
            job = requests.get(jobs_url, auth=auth, timeout=10).json()["results"][0]
            if job["status"] in {"succeeded", "failed"}:
                break
            time.sleep(0.5)
        assert job["status"] == "succeeded", job
        log.seek(0)
        assert re.search(rf"running at\s+http://127.0.0.1:{port}/", log.read())
    finally:
        stack.send_signal(signal.SIGINT)
        code = stack.wait(timeout=60)
    log.seek(0)
    output = log.read()
    assert code == 0, output[-3000:]
    assert "stopped." in output

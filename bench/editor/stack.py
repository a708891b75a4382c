"""The real stack for the editor benchmark: Django as `make up` serves it (gunicorn, DEBUG off,
WhiteNoise static files), on a fresh database in a temporary folder (SQLite, or --database-url),
seeded in a child process with one project and one 4000x3000 JPEG per document size, each holding
the benchmark's masks (a quarter of them model proposals). Hands back the image ids, a session
cookie for the browser and a token for the API timings. Nothing here needs Redis: jobs are queued
only (the test runner's QueueOnly), never run.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import requests

ROOT = Path(__file__).resolve().parents[2]

_SEED = """
import io, json, sys
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
call_command("collectstatic", interactive=False, verbosity=0)
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token
sys.path.insert(0, {bench!r})
from run import CLASSES, make_instances, make_photo
from annotations import ingest, masks, services
from annotations.models import ModelVersion
user = get_user_model().objects.create_user(username="bench", password="bench-pass-123")
project = services.project_create(name="Bench", owner=user)
classes = {{c["id"]: services.label_class_create(project=project, name=c["name"], kind=c["kind"], color=c["color"], hotkey=c["hotkey"])
           for c in CLASSES}}
model = ModelVersion.objects.create(project=project, name="maskrcnn-v1", architecture="maskrcnn")
photo = make_photo()
out = {{}}
for n in {counts!r}:
    image = ingest.images_import(project=project, user=None, files=[(f"photo{{n}}.jpg", io.BytesIO(photo + n.to_bytes(4, "big")))],
                                 make_thumbnails=False).created[0]
    instances = make_instances(n)
    human = [{{"label_class": classes[a["label_class"]].pk, "mask": a["mask"], "z_order": a["z_order"]}} for a in instances if not a["is_proposal"]]
    services.annotation_document_save(image=image, user=user, version=0, annotations=human)
    proposals = [services.Proposal(label_class_id=classes[a["label_class"]].pk, rle=a["mask"], score=a["score"]) for a in instances if a["is_proposal"]]
    if proposals:
        services.proposals_replace(image=image, model_version=model, proposals=proposals)
    out[n] = image.pk
client = Client()
client.force_login(user)
print("SEED" + json.dumps({{"project": project.pk, "images": out, "session": client.cookies["sessionid"].value,
                          "token": Token.objects.create(user=user).key}}))
"""


@dataclass
class Stack:
    base: str
    project: int
    images: dict[int, int]  # masks -> image id
    session: str
    token: str
    database: str


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def real_stack(counts: list[int], *, database_url: str = "") -> Iterator[Stack]:
    """Seed a fresh database with one document per size in `counts`, then serve it with gunicorn."""
    var = Path(tempfile.mkdtemp(prefix="labeler-editor-bench-"))
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "REDIS_URL"}}
    env.update(LABELER_VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="labeler.settings", PYTHONPATH=str(ROOT),
               LABELER_TASK_RUNNER="tests.task_runner.QueueOnly", LOG_LEVEL="WARNING", STATIC_ROOT=str(var / "static"),
               MEDIA_ROOT=str(var / "media"),
               # nothing here starts Redis; a URL of its own (never the default port) keeps it off any other
               REDIS_URL=f"redis://127.0.0.1:{_free_port()}/0")
    env["DATABASE_URL"] = database_url or f"sqlite:///{var / 'bench.sqlite3'}"
    database = "PostgreSQL" if env["DATABASE_URL"].startswith("postgres") else "SQLite"
    script = _SEED.format(bench=str(Path(__file__).parent), counts=counts)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stdout[-3000:] + done.stderr[-3000:])
    seed = json.loads(done.stdout.split("SEED", 1)[1])
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "labeler.wsgi", "-c", "python:labeler.gunicorn_conf", "-b", f"127.0.0.1:{port}",
         "--log-level", "warning"], cwd=ROOT, env=env)  # workers and threads: labeler/gunicorn_conf.py, as make up
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(f"{base}/accounts/login/", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.3)
        yield Stack(base=base, project=seed["project"], images={int(k): v for k, v in seed["images"].items()},
                    session=seed["session"], token=seed["token"], database=database)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(var, ignore_errors=True)

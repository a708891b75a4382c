"""`manage.py worker --queues gpu --concurrency N`: a Celery worker of this deployment.

What a machine needs to run one: this code, DATABASE_URL, REDIS_URL and the media storage settings
(MEDIA_STORAGE=s3 with MEDIA_S3_*; README "Scaling out"). The same as
`celery -A labeler worker -Q <queues> -c <N>`: this command only fills in the defaults (a node name
per queue set, so two workers on one host do not clash) and checks the queue names.
"""
from __future__ import annotations

import os
import socket
import sys

from django.core.management.base import BaseCommand, CommandError

QUEUES = ("default", "gpu")


class Command(BaseCommand):
    help = "Run a Celery worker taking the given queues (gpu: inference and training; default: export, import, thumbnails)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--queues", default="default,gpu", help="comma-separated: default, gpu (GPU machines: gpu only)")
        parser.add_argument("--concurrency", type=int, default=1, help="worker processes (gpu: one per GPU is usual)")
        parser.add_argument("--name", default="", help="node name; default <queues>-<pid>@<host>")
        parser.add_argument("--loglevel", default="INFO")

    def handle(self, *args, queues: str, concurrency: int, name: str, loglevel: str, **options) -> None:
        chosen = [q.strip() for q in queues.split(",") if q.strip()]
        unknown = sorted(set(chosen) - set(QUEUES))
        if not chosen or unknown:
            raise CommandError(f"unknown queue(s) {unknown or chosen}; use {', '.join(QUEUES)}")
        if concurrency < 1:
            raise CommandError("--concurrency must be at least 1")
        node = name or f"{'+'.join(chosen)}-{os.getpid()}@{socket.gethostname()}"
        argv = [sys.executable, "-m", "celery", "-A", "labeler", "worker", "-Q", ",".join(chosen), "-c", str(concurrency),
                "-n", node, "-l", loglevel]
        self.stdout.write(f"starting: {' '.join(argv[1:])}")
        self.stdout.flush()
        os.execv(sys.executable, argv)  # the worker replaces this process (signals reach it directly)

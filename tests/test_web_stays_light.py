"""The web process never imports torch: annotations/ and every URL's view load without it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import os, sys, pkgutil, importlib
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeler.settings")
import django
django.setup()
from django.urls import get_resolver
get_resolver().url_patterns  # imports every view module
import labeler.wsgi
import annotations
for module in pkgutil.walk_packages(annotations.__path__, "annotations."):
    if ".migrations." not in module.name:
        importlib.import_module(module.name)
heavy = sorted(name for name in ("torch", "torchvision") if name in sys.modules)
print(",".join(heavy) or "light")
"""


def test_the_web_process_does_not_import_torch():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "light"

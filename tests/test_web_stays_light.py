"""The web process never imports torch or the worker code: annotations/ and every URL's view load
without them, and no module of annotations/ names `workers` in an import, even inside a function."""
from __future__ import annotations

import ast
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
# the workers app is registered (its management commands), but none of its code is loaded
heavy += sorted(name for name in sys.modules if name.startswith("workers.") and name != "workers.apps")
print(",".join(heavy) or "light")
"""


def test_the_web_process_does_not_import_torch():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "light"


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def test_no_module_of_annotations_imports_the_workers():
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / "annotations").rglob("*.py"))
        for line, name in _imported_modules(path)
        if name == "workers" or name.startswith("workers.")
    ]
    assert offenders == []

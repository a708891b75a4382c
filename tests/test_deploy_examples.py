"""The deployment examples in deploy/ stay true to the code (no Docker engine runs here, so the
compose file cannot be started in CI: what can be checked without one is checked here).

- every setting the compose file and the systemd environment give the labeler processes is one
  labeler/settings.py reads, and with those values the settings load: PostgreSQL, the S3 store
  with its endpoint, bucket and addressing style, the broker URL;
- every `python manage.py ...` command line in them is accepted by that command's own parser, and
  the gunicorn application they name imports;
- what the Dockerfile copies exists, and each ${VAR} the compose file uses has a line in env.example.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
# Read by the containers' own images (PostgreSQL, MinIO) or by Django itself, not by our settings.
NOT_OURS = {"POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD",
            "DJANGO_SETTINGS_MODULE"}


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def _labeler_env() -> dict[str, str]:
    return {k: str(v) for k, v in _compose()["x-labeler-env"].items()}


def _systemd_env() -> dict[str, str]:
    lines = (DEPLOY / "systemd" / "labeler.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def _settings_names() -> set[str]:
    text = (ROOT / "labeler" / "settings.py").read_text()
    return set(re.findall(r'"([A-Z][A-Z0-9_]{2,})"', text))  # the names it reads from the environment, and a few more


def _manage_commands() -> list[list[str]]:
    """Every `manage.py <command> ...` line of the compose file and the systemd units, as argv."""
    lines: list[str] = []
    for service in _compose()["services"].values():
        command = service.get("command")
        if isinstance(command, str):
            lines.extend(part for part in re.split(r"&&|;", command.removeprefix('sh -c "').rstrip('"')))
    for unit in (DEPLOY / "systemd").glob("*.service"):
        lines.extend(line.split("=", 1)[1] for line in unit.read_text().splitlines() if line.startswith("Exec"))
    out = []
    for line in lines:
        argv = shlex.split(line.replace("%i", "gpu").replace("%H", "host"))
        if "manage.py" in " ".join(argv):
            out.append(argv[argv.index(next(a for a in argv if a.endswith("manage.py"))) + 1:])
    return out


@pytest.mark.parametrize("source", ["compose", "systemd"])
def test_every_setting_in_the_examples_is_one_the_settings_read(source):
    env = _labeler_env() if source == "compose" else _systemd_env()
    unknown = sorted(set(env) - _settings_names() - NOT_OURS)
    assert not unknown, f"deploy/{source} sets {unknown}, which labeler/settings.py never reads"


def test_the_settings_load_with_the_compose_values():
    env = {k: re.sub(r"\$\{[A-Z_]+(:-([^}]*))?\}", lambda m: m.group(2) or "x", v) for k, v in _labeler_env().items()}
    env["SECRET_KEY"] = "s" * 50
    probe = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'], "
        "'host': settings.DATABASES['default'].get('HOST'), "
        "'storage': settings.STORAGES['default']['BACKEND'], "
        "'options': {k: str(v) for k, v in settings.STORAGES['default'].get('OPTIONS', {}).items()}, "
        "'broker': settings.CELERY_BROKER_URL, 'debug': settings.DEBUG}))"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LABELER_", "MEDIA_", "DATABASE", "REDIS"))}
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env={**base, **env, "DJANGO_SETTINGS_MODULE": "labeler.settings"},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded["engine"] == "django.db.backends.postgresql" and loaded["host"] == "postgres"
    assert "s3" in loaded["storage"].lower()
    assert loaded["options"].get("bucket_name") == "labeler-media"
    assert loaded["options"].get("endpoint_url") == "http://minio:9000"
    assert loaded["broker"] == "redis://redis:6379/0"
    assert loaded["debug"] is False


def test_every_manage_py_command_line_is_accepted_by_its_command():
    from django.core.management import get_commands, load_command_class

    commands = _manage_commands()
    assert {argv[0] for argv in commands} >= {"migrate", "worker"}
    for argv in commands:
        app = get_commands()[argv[0]]
        parser = load_command_class(app, argv[0]).create_parser("manage.py", argv[0])
        parser.parse_args(argv[1:])  # argparse exits (SystemExit) on an unknown option


def test_the_gunicorn_application_the_examples_name_imports():
    named = set(re.findall(r"gunicorn (\S+)", (DEPLOY / "compose.yaml").read_text()
                           + (DEPLOY / "systemd" / "labeler-web.service").read_text()))
    assert named
    for target in named:
        module = target.split(":")[0].removeprefix("/opt/labeler/.venv/bin/")
        __import__(module)
        assert hasattr(sys.modules[module], "application")


def test_what_the_dockerfile_copies_exists_and_env_example_covers_the_compose_variables():
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            source = line.split()[1]
            assert (ROOT / source).exists(), f"the Dockerfile copies {source}, which is not in the checkout"
    used = set(re.findall(r"\$\{([A-Z_]+)", (DEPLOY / "compose.yaml").read_text()))
    example = {line.split("=", 1)[0] for line in (DEPLOY / "env.example").read_text().splitlines() if "=" in line and not line.startswith("#")}
    assert not (used - example), f"deploy/env.example lacks {sorted(used - example)}"

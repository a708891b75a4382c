"""The editor's API types (frontend/src/generated/api-schema.ts) are generated from the OpenAPI
schema; this is the check that the committed file is what the serializers give today."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "gen-api-types.sh"
COMMITTED = REPO / "frontend" / "src" / "generated" / "api-schema.ts"
GENERATOR = REPO / "frontend" / "node_modules" / ".bin" / "openapi-typescript"


def test_the_committed_api_types_match_the_schema(tmp_path):
    if not GENERATOR.exists():
        pytest.fail("openapi-typescript is not installed: run `cd frontend && npm ci`")
    fresh = tmp_path / "api-schema.ts"
    run = subprocess.run(
        ["bash", str(SCRIPT), str(fresh)],
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, f"scripts/gen-api-types.sh failed:\n{run.stderr}"
    assert fresh.read_text() == COMMITTED.read_text(), (
        "frontend/src/generated/api-schema.ts is stale: the API schema changed. "
        "Run scripts/gen-api-types.sh and commit the result (then fix the TypeScript that no longer compiles)."
    )

#!/usr/bin/env bash
# The whole test suite: Python (unit, API, worker integration, browser, ML) and the editor's Vitest.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
if [ -f frontend/package.json ]; then
  (cd frontend && npm test --silent) || status=1
fi
.venv/bin/python -m pytest "$@" || status=1
exit $status

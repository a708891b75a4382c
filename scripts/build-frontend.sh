#!/usr/bin/env bash
# Build the TypeScript editor and project page into annotations/static/editor/ (npm ci from the committed lockfile).
set -euo pipefail
cd "$(dirname "$0")/../frontend"
stamp=node_modules/.labeler-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi
npm run --silent build

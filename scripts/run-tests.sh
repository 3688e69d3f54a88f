#!/usr/bin/env bash
# The whole suite: lint, then every test. Servers are started and stopped by the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PWD/.venv/bin:$PATH"
export HF_HUB_OFFLINE=1
echo "== lint"
ruff check .
ruff format --check .
echo "== tests"
exec python -m pytest -q -p no:cacheprovider --timeout=900 tests

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
# Ansible's own modules patch sys.intern when imported, which breaks torch (the notebook
# tests) in the same interpreter: the Ansible suite runs in its own pytest process.
status=0
python -m pytest -q -p no:cacheprovider --timeout=900 tests --ignore=tests/ansible || status=$?
echo "== ansible tests"
python -m pytest -q -p no:cacheprovider --timeout=900 tests/ansible || status=$?
exit $status

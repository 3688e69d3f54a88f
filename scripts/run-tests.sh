#!/usr/bin/env bash
# The whole suite: lint, then every test. Servers are started and stopped by the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PWD/.venv/bin:$PATH"
export HF_HUB_OFFLINE=1
echo "== lint"
ruff check .
ruff format --check .
echo "== images"
# The five images every container test runs (make images, into the image store
# .cache/images/docker): outside pytest, so a cold build (minutes) is not charged to one
# test's timeout; warm, it costs seconds. Where it cannot build (no docker.io, no root
# for the rootfs), the tests that need the images say why.
if command -v dockerd >/dev/null && { [ "$(id -u)" = 0 ] || [ -f .cache/images/bookworm-minbase.tar.gz ]; }; then
  env -u DOCKER_HOST python images/build_images.py || echo "images: build failed; the container tests will report it"
fi
echo "== tests"
# Ansible's own modules patch sys.intern when imported, which breaks torch (the notebook
# tests) in the same interpreter: the Ansible suite runs in its own pytest process.
status=0
python -m pytest -q -p no:cacheprovider --timeout=900 tests --ignore=tests/ansible || status=$?
echo "== ansible tests"
python -m pytest -q -p no:cacheprovider --timeout=900 tests/ansible || status=$?
exit $status

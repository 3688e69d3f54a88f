#!/usr/bin/env bash
# Compiles every images/<image>/requirements.in into its lock (requirements.txt):
# pip-compile style, `==` pins for every package, resolved against PyPI (not the host's
# local wheel dirs) for CPython >= 3.11 on any platform (the CUDA base ships 3.12, the
# CI rootfs 3.11); --fork-strategy fewest picks one version per package that serves
# both, so CI installs exactly what production does. base first: the domain images
# are constrained to its lock.
# Usage: images/lock.sh [--upgrade]   (needs network access to PyPI)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
uv="${UV:-$here/../.venv/bin/uv}"
export SSL_CERT_FILE="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"
for image in base speech vision medical legal; do
  (cd "$here/$image" && "$uv" pip compile requirements.in "$@" \
     --universal --python-version 3.11 --fork-strategy fewest \
     --index-url https://pypi.org/simple --no-emit-index-url \
     --custom-compile-command "images/lock.sh" \
     -o requirements.txt)
done

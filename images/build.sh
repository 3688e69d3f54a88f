#!/usr/bin/env bash
# Builds one sandbox image from the repository root, sending docker only what images
# need (images/, notebooks/, the project's extensions), never the venv or node_modules.
#
#   images/build.sh IMAGE [--tag T] [--ca-bundle FILE] [-- extra docker build args]
#
#   IMAGE        base | speech | vision | medical | legal (build base first)
#   --tag T      image tag (default sandbox/IMAGE:latest)
#   --ca-bundle  a CA bundle for pip inside the build (hosts with intercepted HTTPS);
#                it is copied into the context as build-ca/ca.crt and PIP_CERT points at it
# Everything after -- goes to `docker build` (e.g. --build-arg SANDBOX_VARIANT=ci).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
image="${1:?usage: images/build.sh IMAGE [--tag T] [--ca-bundle FILE] [-- docker args]}"
shift
tag="sandbox/$image:latest" ca="" extra=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --tag) tag="$2"; shift 2 ;;
    --ca-bundle) ca="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done
[ -f "$root/images/$image/Dockerfile" ] || { echo "no image named $image" >&2; exit 2; }
staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT
mkdir -p "$staging/build-ca"
if [ -n "$ca" ]; then
  cp "$ca" "$staging/build-ca/ca.crt"
  extra=(--build-arg PIP_CERT=/opt/sandbox/build-ca/ca.crt "${extra[@]}")
fi
mkdir -p "$root/extensions"
tar -C "$root" -c --exclude=__pycache__ --exclude=.ipynb_checkpoints \
    images notebooks extensions pyproject.toml \
    -C "$staging" build-ca \
  | DOCKER_BUILDKIT=0 docker build -f "images/$image/Dockerfile" -t "$tag" "${extra[@]}" -

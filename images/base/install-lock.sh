#!/usr/bin/env bash
# install-lock.sh LOCK {common|cuda}
# Installs a compiled lock (images/*/requirements.txt) into the image's venv with
# --no-deps: the lock is complete, so pip must not resolve anything on its own.
#   common: every pinned package except the CUDA torch stack (shared by all variants)
#   cuda:   only the CUDA torch stack (torch, triton, cuda-*, the nvidia-* CUDA
#           libraries; not nvidia-ml-py, which every variant needs): the CUDA-only layer,
#           skipped by the CI variant, which builds on a plain Debian rootfs.
set -euo pipefail
lock="$1" part="$2"
cuda_stack='^(torch|triton|cuda-[a-z0-9-]+|nvidia-(cu|nccl|nvjitlink|nvshmem|nvtx)[a-z0-9-]*)=='
reqs="$(mktemp)"
trap 'rm -f "$reqs"' EXIT
case "$part" in
  common) grep -E '^[a-zA-Z0-9]' "$lock" | grep -v -E "$cuda_stack" >"$reqs" || true ;;
  cuda) grep -E "$cuda_stack" "$lock" >"$reqs" || true ;;
  *) echo "usage: install-lock.sh LOCK {common|cuda}" >&2; exit 2 ;;
esac
if [ -s "$reqs" ]; then
  pip install --no-cache-dir --no-deps --require-virtualenv -r "$reqs"
fi

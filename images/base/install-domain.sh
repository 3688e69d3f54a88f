#!/usr/bin/env bash
# install-domain NAME: the domain layer every domain image (speech, vision, medical,
# legal) shares, written once. Expects the image's lock, model manifest and wheels/ in
# /opt/sandbox/domain/NAME/ (its Dockerfile copies them there):
#   - installs the lock with --no-deps: the whole lock but the CUDA torch stack, then the
#     CUDA stack too when SANDBOX_VARIANT=cuda (the CPU variant keeps base's CPU torch;
#     packages base already has are kept as they are), plus, in the CPU variant, the CPU
#     builds of torch-family pins the build script put in wheels/ (torchvision), then
#     `pip check`;
#   - records the manifest as /opt/sandbox/models/NAME.yaml;
#   - PRELOAD_MODELS=1 (the default): fills the read-only model store from the manifest
#     (every file's sha256 verified); 0 leaves it empty, for a store mounted read-only at
#     $SANDBOX_MODELS instead.
set -euo pipefail
name="${1:?usage: install-domain NAME}"
src="/opt/sandbox/domain/$name"
[ -f "$src/requirements.txt" ] && [ -f "$src/models.yaml" ] \
  || { echo "install-domain: $src must hold requirements.txt and models.yaml" >&2; exit 2; }
install-lock "$src/requirements.txt" common
if [ "${SANDBOX_VARIANT:?}" = cuda ]; then
  install-lock "$src/requirements.txt" cuda
elif compgen -G "$src/wheels/*.whl" >/dev/null; then
  # CPU builds of the torch-family pins (torchvision), in place of PyPI's CUDA builds
  pip install --no-cache-dir --no-deps --force-reinstall "$src"/wheels/*.whl
fi
pip check
install -m 0644 "$src/requirements.txt" "/opt/sandbox/requirements/$name.txt"
install -m 0644 "$src/models.yaml" "/opt/sandbox/models/$name.yaml"
rm -rf "$src"
if [ "${PRELOAD_MODELS:-1}" = 1 ]; then
  chmod u+w "$SANDBOX_MODELS"
  python /opt/sandbox/bin/preload.py fetch \
    --manifest "/opt/sandbox/models/$name.yaml" --store "$SANDBOX_MODELS"
  python /opt/sandbox/bin/preload.py verify \
    --manifest "/opt/sandbox/models/$name.yaml" --store "$SANDBOX_MODELS"
  chmod -R a-w "$SANDBOX_MODELS"
fi

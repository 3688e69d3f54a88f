#!/usr/bin/env bash
# Installs the Debian packages the test suite runs for real, only those missing,
# so a warm machine pays nothing. Runs as root (CI and the developers' machines).
set -euo pipefail
packages=(
  postgresql        # the ledger's production database
  slurm-wlm munge sudo  # the cluster engine
  docker.io debootstrap  # the container engine, images built without a registry
  chromium chromium-driver fonts-nanum  # browser tests (Korean UI text too)
  espeak-ng sox     # speech tutorial: synthesised data sets
  nginx systemd     # Ansible: the TLS proxy in front of the hub, systemd-analyze verify
)
if [ "${1:-}" = "--run" ]; then
  # `make run` needs only what the tutorials use (and Hangul glyphs for the browser and
  # matplotlib's figures); without root it warns and goes on.
  packages=(espeak-ng sox fonts-nanum)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "missing Debian packages: ${missing[*]} (run as root to install them)" >&2
  [ "${1:-}" = "--run" ] && exit 0
  exit 1
fi
echo "installing Debian packages: ${missing[*]}"
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 "${missing[@]}"

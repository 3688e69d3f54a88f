"""Images and a fake NVIDIA runtime hook for the Docker backend tests.

- The single-user test image: Debian's Python and a venv with the single-user server
  (``docker_image/Dockerfile.base``, built once from the debootstrap rootfs that
  tests/images caches, then kept as a tarball in ``.cache/images/``), plus a thin layer
  with this checkout's server extension, rebuilt each run (seconds).
- A crashing image: the bare rootfs whose command exits at once.
- ``nvidia-container-runtime-hook``: dockerd registers its ``nvidia`` device driver when
  this program is on its PATH and then hands a container's device request to it as an
  OCI prestart hook, with ``NVIDIA_VISIBLE_DEVICES`` in the container's spec. The fake
  records which devices it was asked for and lets the container start, so a machine
  without GPUs still proves what Docker would give the NVIDIA runtime.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.images.conftest import ROOTFS_TARBALL, build_rootfs_tarball
from tests.support.dockerd import DockerDaemon, in_ci, require_tool

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent / "docker_image"
CACHE = ROOT / ".cache" / "images"
ROOTFS_TAG = "sandbox-ci/bookworm:minbase"
BASE_TAG = "sandbox-test/singleuser-base"
SERVER_TAG = "sandbox-test/singleuser:latest"
CRASH_TAG = "sandbox-test/crash:latest"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"

FAKE_HOOK = """#!/bin/sh
# Fake NVIDIA runtime hook (tests): record the devices Docker asked for, then succeed.
state=$(cat)
bundle=$(printf '%s' "$state" | sed -n 's/.*"bundle":"\\([^"]*\\)".*/\\1/p')
devices=$(grep -o 'NVIDIA_VISIBLE_DEVICES=[^"]*' "$bundle/config.json" | head -n 1)
echo "$1 $devices" >> {log}
exit 0
"""


def require_docker_and_rootfs() -> None:
    require_tool("dockerd", "docker", why="docker.io")
    if not ROOTFS_TARBALL.exists():
        require_tool("debootstrap", why="builds the local rootfs")
        if os.geteuid() != 0:
            reason = "debootstrap needs root to build the local rootfs"
            pytest.fail(reason) if in_ci() else pytest.skip(reason)


def install_fake_nvidia_hook(folder: Path) -> Path:
    """Write the fake hook into ``folder``; returns the log it appends to."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "nvidia-hook.log"
    log.touch()
    hook = folder / "nvidia-container-runtime-hook"
    hook.write_text(FAKE_HOOK.replace("{log}", str(log)))
    hook.chmod(0o755)
    return log


def _base_key() -> str:
    return hashlib.sha256((HERE / "Dockerfile.base").read_bytes()).hexdigest()[:12]


def _load_or_build_base(daemon: DockerDaemon) -> str:
    tag = f"{BASE_TAG}:{_base_key()}"
    cached = CACHE / f"singleuser-base-{_base_key()}.tar"
    if cached.exists():
        daemon.docker("load", "-i", str(cached), timeout=600)
        return tag
    with tempfile.TemporaryDirectory() as context:
        shutil.copy(HERE / "Dockerfile.base", Path(context) / "Dockerfile")
        shutil.copy(CA_BUNDLE, Path(context) / "ca.crt")
        daemon.docker(
            "build", "--network", "host", "--build-arg", f"BASE_IMAGE={ROOTFS_TAG}",
            "-t", tag, context, timeout=1200,
        )  # fmt: skip
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f".{os.getpid()}.partial")
    try:
        daemon.docker("save", "-o", str(partial), tag, timeout=600)
        partial.replace(cached)
    finally:
        partial.unlink(missing_ok=True)
    return tag


def build_test_images(daemon: DockerDaemon) -> None:
    """Make SERVER_TAG (also tagged sandbox/base and sandbox/vision) and CRASH_TAG."""
    tarball = build_rootfs_tarball(ROOTFS_TARBALL)
    daemon.docker("import", str(tarball), ROOTFS_TAG, timeout=300)
    daemon.docker("build", "-t", CRASH_TAG, "-", input=f'FROM {ROOTFS_TAG}\nCMD ["/bin/false"]\n')
    base = _load_or_build_base(daemon)
    with tempfile.TemporaryDirectory() as context:
        src = Path(context) / "src"
        # Python only: the JupyterLab extension's node_modules are not the server's.
        skip = shutil.ignore_patterns("__pycache__", "labextension", "node_modules")
        for package in ("extensions", "spawners"):
            shutil.copytree(ROOT / package, src / package, ignore=skip)
        shutil.copy(HERE / "Dockerfile", Path(context) / "Dockerfile")
        daemon.docker(
            "build", "--build-arg", f"BASE_IMAGE={base}", "-t", SERVER_TAG, context, timeout=600
        )
    for name in ("base", "vision"):
        daemon.docker("tag", SERVER_TAG, f"sandbox/{name}")


def containers(daemon: DockerDaemon) -> list[dict]:
    """``docker inspect`` of every container of this daemon."""
    import json

    ids = daemon.docker("ps", "-aq").stdout.split()
    if not ids:
        return []
    return json.loads(daemon.docker("inspect", *ids).stdout)


def volume_names(daemon: DockerDaemon) -> list[str]:
    return daemon.docker("volume", "ls", "-q").stdout.split()


def run_quietly(*args: str) -> None:
    subprocess.run(list(args), capture_output=True, check=False)

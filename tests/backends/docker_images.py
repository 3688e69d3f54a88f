"""The images `make images` builds, for every test that starts containers, and a fake
NVIDIA runtime hook for the Docker backend tests.

- The five product images (sandbox/base, speech, vision, medical, legal), built by
  images/build_images.py into a dockerd whose data root persists in .cache/images/docker
  (ignored by git): a run with nothing changed finds every build by its content key and
  pays only the daemon's start; a code change rebuilds only the thin product layers.
- A crashing image: sandbox/base whose entry point exits at once.
- ``nvidia-container-runtime-hook``: dockerd registers its ``nvidia`` device driver when
  this program is on its PATH and then hands a container's device request to it as an
  OCI prestart hook, with ``NVIDIA_VISIBLE_DEVICES`` in the container's spec. The fake
  records which devices it was asked for and lets the container start, so a machine
  without GPUs still proves what Docker would give the NVIDIA runtime.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.images.conftest import ROOTFS_TARBALL, build_images
from tests.support.dockerd import DockerDaemon
from tests.support.requirements import missing, require_tool

SERVER_TAG = "sandbox/base:latest"
"""The image a server runs when a test needs just one (what the hub runs for ``base``)."""
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
            missing("debootstrap needs root to build the local rootfs")


def install_fake_nvidia_hook(folder: Path) -> Path:
    """Write the fake hook into ``folder``; returns the log it appends to."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "nvidia-hook.log"
    log.touch()
    hook = folder / "nvidia-container-runtime-hook"
    hook.write_text(FAKE_HOOK.replace("{log}", str(log)))
    hook.chmod(0o755)
    return log


@contextlib.contextmanager
def image_cache_daemon(**start_args) -> Iterator[DockerDaemon]:
    """A private dockerd on the persistent image store (one at a time: `make images` or
    another test run waits), emptied of whatever containers, volumes and networks an
    interrupted run left."""
    images = build_images()
    with (
        images.data_root_lock(images.DATA_ROOT),
        DockerDaemon.start(data_root=images.DATA_ROOT, **start_args) as daemon,
    ):
        leftovers = daemon.docker("ps", "-aq").stdout.split()
        if leftovers:
            daemon.docker("rm", "-f", "-v", *leftovers)
        volumes = daemon.docker("volume", "ls", "-q").stdout.split()
        if volumes:
            daemon.docker("volume", "rm", "-f", *volumes)
        daemon.docker("network", "prune", "-f")
        yield daemon


def ensure_images(daemon: DockerDaemon) -> list[Any]:
    """The five images in ``daemon`` (the image store's own: built or found by key),
    sandbox/<image>:latest pointing at this checkout's build."""
    images = build_images()
    try:
        return images.build(images.Docker(daemon.env), prune=True)
    except images.BuildError as e:
        pytest.fail(f"make images failed: {e}")


def build_test_images(daemon: DockerDaemon) -> None:
    """The five images and CRASH_TAG in ``daemon``. A daemon on another data root gets
    them from the image store (built there first when needed) by save and load."""
    images = build_images()
    if _data_root(daemon) == images.DATA_ROOT:
        ensure_images(daemon)
    else:
        tags = [f"sandbox/{name}:latest" for name in images.IMAGES]
        with image_cache_daemon() as store:
            ensure_images(store)
            save = subprocess.Popen(
                ["docker", "save", *tags], env=store.env, stdout=subprocess.PIPE
            )
            daemon.docker("load", stdin=save.stdout, timeout=1800)
            assert save.wait() == 0, "docker save from the image store failed"
    daemon.docker(
        "build", "-t", CRASH_TAG, "-",
        input=f'FROM {SERVER_TAG}\nENTRYPOINT ["/bin/false"]\n',
    )  # fmt: skip


def _data_root(daemon: DockerDaemon) -> Path:
    info = daemon.docker("info", "--format", "{{.DockerRootDir}}").stdout.strip()
    return Path(info).resolve()


def containers(daemon: DockerDaemon) -> list[dict]:
    """``docker inspect`` of every container of this daemon."""
    ids = daemon.docker("ps", "-aq").stdout.split()
    if not ids:
        return []
    return json.loads(daemon.docker("inspect", *ids).stdout)


def volume_names(daemon: DockerDaemon) -> list[str]:
    return daemon.docker("volume", "ls", "-q").stdout.split()

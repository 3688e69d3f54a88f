"""The base image, built for real through a private dockerd.

Docker Hub is unreachable here, so the CUDA base is swapped (BASE_IMAGE) for a Debian
bookworm rootfs made with debootstrap and `docker import`ed, and the CUDA-only layer is
skipped (SANDBOX_VARIANT=ci): everything else in the Dockerfile runs as in production,
pip installs from the real lock against PyPI (through the host's CA bundle, since HTTPS
is intercepted), and the result is started and inspected.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import pytest

from tests.support.dockerd import DockerDaemon, in_ci, require_tool

from .conftest import ROOT, ROOTFS_TARBALL, build_rootfs_tarball

CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
TAG = "sandbox-ci/base:test"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def built_base() -> Iterator[DockerDaemon]:
    require_tool("dockerd", "docker", why="docker.io")
    if not ROOTFS_TARBALL.exists():
        require_tool("debootstrap", why="builds the local rootfs")
        if os.geteuid() != 0:
            reason = "debootstrap needs root to build the local rootfs"
            pytest.fail(reason) if in_ci() else pytest.skip(reason)
    tarball = build_rootfs_tarball(ROOTFS_TARBALL)
    with DockerDaemon.start() as daemon:
        daemon.docker("import", str(tarball), "sandbox-ci/bookworm:minbase", timeout=300)
        build = subprocess.run(
            [
                str(ROOT / "images" / "build.sh"), "base", "--tag", TAG,
                "--ca-bundle", CA_BUNDLE, "--",
                "--build-arg", "BASE_IMAGE=sandbox-ci/bookworm:minbase",
                "--build-arg", "SANDBOX_VARIANT=ci",
                "--network", "host",
            ],
            env=daemon.env, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
        yield daemon


def run_in_image(daemon: DockerDaemon, script: str) -> str:
    result = daemon.docker("run", "--rm", "--network", "none", TAG, "bash", "-c", script)
    return result.stdout


def test_image_runs_as_an_unprivileged_user(built_base: DockerDaemon) -> None:
    assert run_in_image(built_base, "id -u; id -un").split() == ["1000", "jovyan"]


def test_image_config(built_base: DockerDaemon) -> None:
    config = json.loads(built_base.docker("image", "inspect", TAG).stdout)[0]["Config"]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["SANDBOX_MODELS"] == "/opt/models"
    assert env["HF_HUB_OFFLINE"] == "1"
    assert env["SANDBOX_IMAGE"] == "base"
    assert config["Cmd"] == ["jupyterhub-singleuser"]
    assert config["User"] == "1000"


def test_model_store_is_read_only(built_base: DockerDaemon) -> None:
    out = run_in_image(
        built_base,
        'test -d "$SANDBOX_MODELS" && ! touch "$SANDBOX_MODELS/x" 2>/dev/null && echo ro',
    )
    assert out.strip() == "ro"


def test_single_user_server_and_lab_are_installed(built_base: DockerDaemon) -> None:
    out = run_in_image(
        built_base,
        "jupyterhub-singleuser --version; jupyter lab --version; "
        "python -c 'import ipywidgets, jupyterlab_language_pack_ko_KR; print(ipywidgets.__version__)'",
    )
    hub, lab, widgets = out.split()
    assert hub == "6.1.1" and lab.startswith("4.") and widgets.startswith("8.")


def test_korean_language_pack_and_fonts(built_base: DockerDaemon) -> None:
    out = run_in_image(built_base, "jupyter lab --version >/dev/null; fc-list :lang=ko family")
    assert "Nanum" in out
    packs = run_in_image(
        built_base,
        'python -c "from importlib.metadata import entry_points as e; '
        "print([p.name for p in e(group='jupyterlab.languagepack')])\"",
    )
    assert "ko_KR" in packs


def test_tutorials_and_helpers_are_importable(built_base: DockerDaemon) -> None:
    out = run_in_image(
        built_base,
        "ls /opt/sandbox/tutorials; cd /tmp && python -c 'import sandbox_tutorials; print(\"ok\")'",
    )
    assert "00-getting-started.ipynb" in out and out.strip().endswith("ok")


def test_start_script_copies_tutorials_and_starts_a_command(built_base: DockerDaemon) -> None:
    # The entry point copies the tutorials into the home, then runs the given command.
    result = built_base.docker(
        "run", "--rm", "--network", "none", TAG, "bash", "-c",
        "ls ~/tutorials && test -w ~/tutorials/00-getting-started.ipynb && echo writable",
    )  # fmt: skip
    assert "00-getting-started.ipynb" in result.stdout
    assert result.stdout.strip().endswith("writable"), "the user's copy must be editable"


def test_no_cuda_stack_in_the_ci_variant(built_base: DockerDaemon) -> None:
    """The CI variant skipped exactly the CUDA-only layer; the rest passed `pip check`."""
    out = run_in_image(
        built_base, "pip list --format=freeze | grep -c -E '^(torch|triton|nvidia-cu)' || true"
    )
    assert out.strip() == "0"

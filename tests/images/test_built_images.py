"""The five images as `make images` builds them (CPU variant), started and inspected.

Docker Hub is unreachable here, so the CUDA base is swapped for a Debian bookworm rootfs
made with debootstrap, and torch is the CPU build of the pinned version; everything else
runs as in production: the locks from PyPI, the project's own wheels, the product layer.
The images come from the session's Docker engine (tests/backends/engines.py), built or
found by content key in the persistent image store."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.dockerd import DockerDaemon

from .conftest import IMAGES

pytestmark = pytest.mark.integration

NEED_CPU_TORCHVISION = {"vision": ["torchvision", "timm"]}
"""Import only beside a CPU build of torchvision, which the build takes from
TORCH_CPU_INDEX (PyPI has CUDA builds only; this project's machines reach no other)."""

DOMAIN_LIBRARIES = {
    "base": ["torch", "numpy", "matplotlib", "ipywidgets", "pynvml"],
    "speech": ["transformers", "sentencepiece", "soundfile", "scipy", "sklearn"],
    "vision": ["transformers", "sklearn"],
    "medical": ["transformers", "pydicom", "monai", "sklearn", "pandas"],
    "legal": ["sentence_transformers", "transformers", "kiwipiepy", "rank_bm25", "sklearn"],
}

ANSI = re.compile(r"\x1b\[[0-9;]*m")

PROBE = r"""
import importlib, json, os, shutil, subprocess, sys
import torch
libs = {name: importlib.import_module(name).__name__ for name in sys.argv[1].split(",")}
import extensions.sandbox_server, spawners.core.profiles, extensions.courses.merge
from importlib.metadata import distributions, entry_points, files, version
def run(*cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
print(json.dumps({
    "uid": os.getuid(),
    "torch": torch.__version__,
    "cuda_built": torch.version.cuda,
    "matmul": float((torch.ones(2, 3) @ torch.ones(3, 2)).sum()),
    "libs": sorted(libs),
    "hub": version("jupyterhub"), "lab": version("jupyterlab"),
    "batchspawner": shutil.which("batchspawner-singleuser"),
    "server_extensions": run("jupyter", "server", "extension", "list"),
    "labextensions": run("jupyter", "labextension", "list"),
    "packs": [p.name for p in entry_points(group="jupyterlab.languagepack")],
    "fonts": run("fc-list", ":lang=ko", "family"),
    "cuda_wheels": [d.metadata["Name"] for d in distributions()
                    if d.metadata["Name"].lower().startswith(("nvidia-cu", "triton", "cuda-"))],
    "package_files": [str(f) for f in files("ai-sandbox-hub")
                      if "etc/jupyter" in str(f)],
    "models_writable": os.access(os.environ["SANDBOX_MODELS"], os.W_OK),
}))
"""


@pytest.fixture(scope="module")
def daemon(docker_engine) -> DockerDaemon:
    from tests.backends.docker_images import ensure_images

    engine = docker_engine[0]
    ensure_images(engine)  # sandbox/<image>:latest is this checkout's build again
    return engine


def run_in(daemon: DockerDaemon, image: str, *command: str, volume: str | None = None) -> str:
    mount = ["-v", f"{volume}:/home/jovyan"] if volume else []
    result = daemon.docker(
        "run", "--rm", "--network", "none", *mount, f"sandbox/{image}", *command, timeout=300
    )
    return result.stdout


@pytest.mark.parametrize("image", IMAGES)
def test_image_carries_the_whole_product(daemon: DockerDaemon, image: str) -> None:
    out = run_in(daemon, image, "python", "-c", PROBE, ",".join(DOMAIN_LIBRARIES[image]))
    got = json.loads(out.strip().splitlines()[-1])
    assert got["uid"] == 1000
    # The CPU build of the pinned torch, and no CUDA wheels at all.
    assert got["torch"] == "2.13.0+cpu" and got["cuda_built"] is None and got["matmul"] == 12.0
    assert got["cuda_wheels"] == []
    assert got["libs"] == sorted(DOMAIN_LIBRARIES[image])
    assert got["hub"] == "6.1.1" and got["lab"].startswith("4.")
    assert got["batchspawner"] == "/opt/sandbox/venv/bin/batchspawner-singleuser"
    # Enabled by the package's own data file (in the venv's etc/jupyter), and it loads.
    servers = ANSI.sub("", got["server_extensions"])
    venv_block = servers.split("Config dir: /opt/sandbox/venv/etc/jupyter\n")[1]
    assert "extensions.sandbox_server enabled" in venv_block.split("Config dir:")[0], servers
    assert got["package_files"] == [
        "../../../etc/jupyter/jupyter_server_config.d/sandbox_server.json"
    ]
    assert re.search(r"extensions.sandbox_server\s+OK", servers), servers
    assert re.search(r"sandbox-labextension v\S+ enabled\s+OK", ANSI.sub("", got["labextensions"]))
    assert "ko_KR" in got["packs"] and "Nanum" in got["fonts"]
    assert got["models_writable"] is False
    if image in NEED_CPU_TORCHVISION:
        _check_cpu_torchvision(daemon, image)


def _check_cpu_torchvision(daemon: DockerDaemon, image: str) -> None:
    version = run_in(daemon, image, "python", "-c", VERSION_OF, "torchvision").strip().splitlines()
    if not version[-1].endswith("+cpu"):
        pytest.xfail(
            f"sandbox/{image} has torchvision {version[-1]} (PyPI's CUDA build): no CPU build"
            " reachable here; set TORCH_CPU_INDEX on a build host"
        )
    libs = ",".join(NEED_CPU_TORCHVISION[image])
    out = run_in(daemon, image, "python", "-c", IMPORTS, libs).strip().splitlines()
    assert out[-1] == libs


VERSION_OF = "import sys; from importlib.metadata import version; print(version(sys.argv[1]))"
IMPORTS = "import importlib, sys; [importlib.import_module(n) for n in sys.argv[1].split(',')]; print(sys.argv[1])"


@pytest.mark.parametrize("image", IMAGES)
def test_image_config(daemon: DockerDaemon, image: str) -> None:
    config = json.loads(daemon.docker("image", "inspect", f"sandbox/{image}").stdout)[0]["Config"]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["SANDBOX_IMAGE"] == image and env["SANDBOX_VARIANT"] == "cpu"
    assert env["SANDBOX_MODELS"] == "/opt/models" and env["HF_HUB_OFFLINE"] == "1"
    assert config["Entrypoint"] == ["tini", "-g", "--", "sandbox-start"]
    assert config["Cmd"] == ["jupyterhub-singleuser"] and config["User"] == "1000"


SERVER_START = (
    # The image's own server, started as the hub would start it (its extension merges the
    # tutorials beside the start), until it logs the merge; then stopped.
    "jupyter server --ServerApp.ip=127.0.0.1 --ServerApp.open_browser=False > /tmp/log 2>&1 &"
    " until grep -q 'sandbox: tutorials' /tmp/log; do"
    " kill -0 $! 2>/dev/null || { cat /tmp/log; exit 1; }; sleep 0.2; done;"
    " kill $!; grep -o 'sandbox: tutorials.*' /tmp/log"
)


def test_the_server_merges_the_tutorials_and_keeps_the_users_edits(daemon: DockerDaemon) -> None:
    volume = "sandbox-test-tutorials"
    daemon.docker("volume", "create", volume)
    try:
        first = run_in(
            daemon, "base", "bash", "-c", f"{SERVER_START}; ls ~/tutorials", volume=volume
        )
        assert "sandbox: tutorials merged from /opt/sandbox/tutorials" in first, first
        assert "00-getting-started.ipynb" in first.split() and "speech" in first.split()
        # The user edits one tutorial and deletes another; the next start merges with
        # nbgitpuller's rule: the edit stays, the deleted one is back.
        edit = (
            "echo mine > ~/tutorials/00-getting-started.ipynb && rm ~/tutorials/README.md"
            " && test -w ~/tutorials/speech"
        )
        run_in(daemon, "base", "bash", "-c", edit, volume=volume)
        again = run_in(
            daemon, "base", "bash", "-c",
            f"{SERVER_START}; cat ~/tutorials/00-getting-started.ipynb; ls ~/tutorials",
            volume=volume,
        )  # fmt: skip
        assert "'kept': ['00-getting-started.ipynb']" in again, again
        assert "mine" in again.splitlines()
        assert "README.md" in again.split()
    finally:
        daemon.docker("volume", "rm", "-f", volume, check=False)


def test_tutorials_helpers_import_from_anywhere(daemon: DockerDaemon) -> None:
    out = run_in(daemon, "vision", "bash", "-c", "cd /tmp && python -c 'import sandbox_tutorials'")
    assert out == ""

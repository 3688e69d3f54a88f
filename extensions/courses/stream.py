"""Labs as JSON, produced piece by piece: each file is read and base64-encoded one block
at a time, so sending labs takes the memory of a block, not of the labs. The pieces join
into exactly the JSON that bundle.encode would give ({"path": "<base64>", ...})."""

from __future__ import annotations

import base64
import json
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BLOCK = 3 * 64 * 1024
"""Raw bytes per piece; a multiple of 3, so base64 pieces concatenate without padding."""


@dataclass(frozen=True)
class Outgoing:
    """One lab to send: its public metadata, and its files when the caller needs them."""

    meta: Mapping[str, Any]
    files: Mapping[str, Path] | None = None


def lab_pieces(lab: Outgoing) -> Generator[bytes, None, None]:
    """One lab as a JSON object; without files, its metadata as it is."""
    if lab.files is None:
        yield json.dumps(dict(lab.meta)).encode()
        return
    head = {k: v for k, v in lab.meta.items() if k != "files"}
    yield json.dumps(head)[:-1].encode() + (b', "files": {' if head else b'"files": {')
    for i, (path, source) in enumerate(lab.files.items()):
        yield (", " if i else "").encode() + json.dumps(path).encode() + b': "'
        with open(source, "rb") as f:
            while block := f.read(BLOCK):
                yield base64.b64encode(block)
        yield b'"'
    yield b"}}"


def labs_pieces(labs: Iterable[Outgoing]) -> Generator[bytes, None, None]:
    """``{"labs": [...]}``, the answer of api/sync."""
    yield b'{"labs": ['
    for i, lab in enumerate(labs):
        if i:
            yield b", "
        yield from lab_pieces(lab)
    yield b"]}"

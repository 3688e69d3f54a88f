"""Labs sent piece by piece: the pieces are the JSON the whole answer would be."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from extensions.courses.bundle import encode
from extensions.courses.stream import BLOCK, Outgoing, lab_pieces, labs_pieces


def test_pieces_join_into_the_bundles_json(tmp_path: Path) -> None:
    contents = {
        "big.bin": os.urandom(2 * BLOCK + 1),  # three blocks, the last one padded
        "empty.txt": b"",
        "노트/한글.ipynb": b"{}",
        'odd "name".txt': b"\x00\xff",
    }
    paths = {}
    for i, (rel, data) in enumerate(contents.items()):
        paths[rel] = tmp_path / f"f{i}"
        paths[rel].write_bytes(data)
    meta = {"course": "ml101", "name": "lab1", "version": 3, "title": "Ünïcode"}
    pieces = list(lab_pieces(Outgoing(meta, paths)))
    assert max(len(p) for p in pieces) <= 4 * BLOCK // 3  # never a whole file at once
    assert json.loads(b"".join(pieces)) == meta | {"files": encode(contents)}
    got = json.loads(b"".join(pieces))["files"]["big.bin"]
    assert base64.b64decode(got) == contents["big.bin"]


def test_the_sync_answer_mixes_unchanged_and_full_labs(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"1")
    unchanged = {"course": "c", "name": "l1", "version": 1, "files": ["a"], "unchanged": True}
    full = Outgoing({"course": "c", "name": "l2", "version": 2}, {"a": tmp_path / "a"})
    answer = json.loads(b"".join(labs_pieces([Outgoing(unchanged), full])))
    assert answer == {"labs": [unchanged, full.meta | {"files": {"a": "MQ=="}}]}
    assert json.loads(b"".join(labs_pieces([]))) == {"labs": []}

"""Readers for the recorded MIG outputs in ``fixtures/mig/`` (independent of the hub's
code, so the tests compare the catalogue against the recordings, not against itself).

``nvidia-smi mig -lgip`` prints, per GPU-instance profile, two rows::

    |   0  MIG 1g.10gb       19     7/7        9.75       No     16     1     0   |
    |                                                             1     1     0   |

(GPU, name, profile ID, instances free/total, memory GiB, P2P, SM, DEC, ENC / CE, JPEG,
OFA); newer drivers print the same columns a little wider, so rows are read by their
fields, not by position. ``nvidia-smi mig -lgipp`` prints one line per profile::

    GPU  0 Profile ID 15 Placements: {0,2,4,6}:2
    GPU  0 Profile ID  5 Placement : {0}:4

nvidia-smi prints exactly what NVML returns (``nvmlDeviceGetGpuInstanceProfileInfo`` and
``nvmlDeviceGetGpuInstancePossiblePlacements``), so an NVML snapshot can be derived from
the two outputs field for field (:func:`nvml_snapshot`)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures" / "mig"

_ROW = re.compile(
    r"^\|\s*(?P<gpu>\d+)\s+MIG\s+(?P<name>\S+)\s+(?P<id>\d+)\s+(?P<free>\d+)/(?P<total>\d+)\s+"
    r"(?P<gib>[\d.]+)\s+(?P<p2p>Yes|No)\s+(?P<sm>\d+)\s+(?P<dec>\d+)\s+(?P<enc>\d+)\s*\|$"
)
_ROW2 = re.compile(r"^\|\s+(?P<ce>\d+)\s+(?P<jpeg>\d+)\s+(?P<ofa>\d+)\s*\|$")
_PLACEMENTS = re.compile(
    r"^GPU\s+(?P<gpu>\d+)\s+Profile ID\s+(?P<id>\d+)\s+Placements?\s*:\s*"
    r"\{(?P<starts>[\d,]*)\}:(?P<size>\d+)\s*$"
)

# NVML_GPU_INSTANCE_PROFILE_* for nvidia-smi's profile IDs (nvml.h; the "Ng" compute
# slices of the name and the ID say which: 19 -> 1_SLICE, 20 -> 1_SLICE_REV1 (+me),
# 15 -> 1_SLICE_REV2, 14 -> 2_SLICE, 9 -> 3_SLICE, 5 -> 4_SLICE, 0 -> 7_SLICE).
NVML_PROFILE_OF_ID = {19: 0x0, 20: 0x7, 15: 0x9, 14: 0x1, 9: 0x2, 5: 0x3, 0: 0x4}


@dataclass(frozen=True)
class LgipRow:
    gpu: int
    name: str
    profile_id: int
    free: int
    total: int
    memory_gib: str
    p2p: bool
    sm: int
    dec: int
    enc: int
    ce: int
    jpeg: int
    ofa: int

    @property
    def compute(self) -> int:
        return int(self.name.split("g.")[0])


def parse_lgip(text: str) -> list[LgipRow]:
    rows: list[LgipRow] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = _ROW.match(line.strip())
        if not m:
            continue
        m2 = _ROW2.match(lines[i + 1].strip())
        assert m2, f"no second row after {line!r}"
        rows.append(
            LgipRow(
                gpu=int(m["gpu"]),
                name=m["name"],
                profile_id=int(m["id"]),
                free=int(m["free"]),
                total=int(m["total"]),
                memory_gib=m["gib"],
                p2p=m["p2p"] == "Yes",
                sm=int(m["sm"]),
                dec=int(m["dec"]),
                enc=int(m["enc"]),
                ce=int(m2["ce"]),
                jpeg=int(m2["jpeg"]),
                ofa=int(m2["ofa"]),
            )
        )
    return rows


def parse_lgipp(text: str) -> dict[int, tuple[tuple[int, ...], int]]:
    """{profile ID: (valid starts, size)} for the (one) GPU of the recording."""
    out: dict[int, tuple[tuple[int, ...], int]] = {}
    for line in text.splitlines():
        m = _PLACEMENTS.match(line.strip())
        if m:
            starts = tuple(int(s) for s in m["starts"].split(",") if s)
            out[int(m["id"])] = (starts, int(m["size"]))
    return out


def memory_size_mb(gib: str) -> int:
    """nvidia-smi prints memorySizeMB / 1024 with two decimals; MIG memory comes in
    128 MiB units, which makes the printed value exact (9.62 -> 9856, 19.62 -> 20096)."""
    mib = round(float(gib) * 1024 / 128) * 128
    assert f"{mib / 1024:.2f}" == gib, (gib, mib)
    return mib


def nvml_snapshot(
    lgip: str,
    lgipp: str | None,
    device: dict[str, Any],
    placements_if_unrecorded: dict[int, tuple[tuple[int, ...], int]] | None = None,
) -> dict[str, Any]:
    """The NVML view of one recorded GPU: ``gpu_instance_profiles`` as the inventory
    reads them (``spawners.inventory.nvml.read_gpu_instance_profiles``), in NVML profile
    order. Placements come from the ``-lgipp`` recording; where none was recorded, from
    ``placements_if_unrecorded``."""
    placements = parse_lgipp(lgipp) if lgipp is not None else (placements_if_unrecorded or {})
    entries = []
    for row in parse_lgip(lgip):
        starts, size = placements[row.profile_id]
        entries.append(
            {
                "profile": NVML_PROFILE_OF_ID[row.profile_id],
                "info": {
                    "id": row.profile_id,
                    "isP2pSupported": int(row.p2p),
                    "sliceCount": row.compute,
                    "instanceCount": row.total,
                    "multiprocessorCount": row.sm,
                    "copyEngineCount": row.ce,
                    "decoderCount": row.dec,
                    "encoderCount": row.enc,
                    "jpegCount": row.jpeg,
                    "ofaCount": row.ofa,
                    "memorySizeMB": memory_size_mb(row.memory_gib),
                    "name": f"MIG {row.name}",
                },
                "placements": [{"start": s, "size": size} for s in starts],
            }
        )
    entries.sort(key=lambda e: e["profile"])
    return {**device, "gpu_instance_profiles": entries}


def recording(name: str) -> str:
    return (FIXTURES / name).read_text()


def snapshot_file(model: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{model}.nvml.json").read_text())

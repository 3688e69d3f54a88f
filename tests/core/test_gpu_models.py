"""The built-in GPU-model catalogue against recorded outputs of real GPUs.

Every recording in ``fixtures/mig/`` (``nvidia-smi mig -lgip`` / ``-lgipp`` of an H100
80GB, H100 NVL, H200, A100 80GB and A100 40GB, and of older drivers) is parsed here, and
the catalogue must say what the GPU said: the profile names, nvidia-smi's profile IDs,
compute slices, instances, memory, and the placements (valid start slots and size)."""

from __future__ import annotations

import json

import pytest

from spawners.core.gpu_models import (
    COMPUTE_SLICES,
    GPU_MODELS,
    MEMORY_SLOTS,
    MODELS_BY_KEY,
    ONE_SLICE_ME,
    canonical_profile_name,
    device_name_of,
    is_variant_name,
    model_for_device,
)
from spawners.core.profiles import (
    SLICE_NAMES,
    catalogue_table,
    slice_profile,
    table_for_device,
)

from .facts import MODEL_TABLES
from .mig_records import (
    FIXTURES,
    nvml_snapshot,
    parse_lgip,
    parse_lgipp,
    recording,
    snapshot_file,
)

# model -> (lgip recording, lgipp recording or None); the first of each model is the
# full table, the others older drivers that lack a profile.
RECORDINGS = {
    "h100-80gb": [("h100-80gb.lgip.txt", "h100-80gb.lgipp.txt")],
    "h100-94gb": [("h100-94gb.lgip.txt", "h100-94gb.lgipp.txt")],
    "h200-141gb": [("h200-141gb.lgip.txt", None)],
    "a100-80gb": [("a100-80gb.lgip.txt", None), ("a100-80gb-r515.lgip.txt", None)],
    "a100-40gb": [
        ("a100-40gb.lgip.txt", "a100-40gb.lgipp.txt"),
        ("a100-40gb-early.lgip.txt", "a100-40gb-early.lgipp.txt"),
    ],
}
ALL = [(m, lgip, lgipp) for m, recs in RECORDINGS.items() for lgip, lgipp in recs]


def test_every_recording_is_used() -> None:
    files = {p.name for p in FIXTURES.glob("*.txt")}
    used = {f for _m, lgip, lgipp in ALL for f in (lgip, lgipp) if f}
    assert files == used
    assert {p.stem.removesuffix(".nvml") for p in FIXTURES.glob("*.nvml.json")} == set(RECORDINGS)


def test_the_catalogue_has_the_models_asked_for() -> None:
    assert [m.key for m in GPU_MODELS] == [
        "h100-80gb",
        "h100-94gb",
        "h200-141gb",
        "a100-80gb",
        "a100-40gb",
    ]
    assert {m.key for m in GPU_MODELS} == set(MODEL_TABLES)


@pytest.mark.parametrize("key", sorted(MODEL_TABLES))
def test_the_catalogue_is_the_documented_table(key: str) -> None:
    fact, table = MODEL_TABLES[key], catalogue_table(key)
    assert table.label == fact.label and table.memory_gb == fact.memory_gb
    assert table.names == tuple(fact.profiles)
    for name, f in fact.profiles.items():
        p = table.profile(name)
        assert (p.memory_slots, p.compute, p.valid_starts, p.max_per_gpu, p.memory_gb) == (
            f.memory_slots,
            f.compute,
            f.valid_starts,
            f.max_per_gpu,
            f.memory_gb,
        ), name
        assert p.profile_id == fact.profile_ids[name]


@pytest.mark.parametrize(("key", "lgip", "lgipp"), ALL)
def test_the_catalogue_says_what_the_gpu_said(key: str, lgip: str, lgipp: str | None) -> None:
    model = MODELS_BY_KEY[key]
    table = catalogue_table(key)
    rows = parse_lgip(recording(lgip))
    assert rows, lgip
    placements = parse_lgipp(recording(lgipp)) if lgipp else {}
    base = [r for r in rows if not is_variant_name(r.name)]
    for row in rows:
        spec = model.by_profile_id(row.profile_id)
        assert spec is not None, (lgip, row.name)
        # The recorded name is the catalogue's (a +me variant: its base profile's).
        assert canonical_profile_name(row.name, model) == spec.name
        p = table.profile(row.name)
        assert p is not None and p.name == spec.name
        assert row.compute == p.compute
        if is_variant_name(row.name):
            assert row.profile_id == ONE_SLICE_ME.profile_id and row.total == 1
            continue
        assert row.profile_id == p.profile_id
        assert row.total == p.max_per_gpu
        # Memory: the name's GB, and the share of the memory slots the GPU reports.
        assert p.memory_gb == int(row.name.split(".")[1][:-2])
        whole = max(float(r.memory_gib) for r in base)
        assert round(float(row.memory_gib) / whole * MEMORY_SLOTS) == p.memory_slots
        if row.profile_id in placements:
            starts, size = placements[row.profile_id]
            assert starts == p.valid_starts and size == p.memory_slots, row.name
    if lgipp:
        assert set(placements) == {r.profile_id for r in rows}
    # A full recording has every profile of the catalogue; an older driver a subset.
    recorded = {canonical_profile_name(r.name, model) for r in base}
    assert recorded <= set(table.names)
    if (lgip, lgipp) == RECORDINGS[key][0]:
        assert recorded == set(table.names)


@pytest.mark.parametrize("key", sorted(RECORDINGS))
def test_the_nvml_snapshot_is_the_recording(key: str) -> None:
    doc = snapshot_file(key)
    recorded = doc["recorded"]
    lgipp = recording(recorded["lgipp"]) if recorded["lgipp"] else None
    fallback = (
        parse_lgipp(recording(recorded["placements_from"])) if recorded["placements_from"] else None
    )
    device = {k: doc["device"][k] for k in ("name", "memory_total")}
    assert doc["device"] == nvml_snapshot(recording(recorded["lgip"]), lgipp, device, fallback)
    assert (
        model_for_device(doc["device"]["name"], doc["device"]["memory_total"] // 2**20)
        is (MODELS_BY_KEY[key])
    )


@pytest.mark.parametrize("key", sorted(RECORDINGS))
def test_every_model_has_the_same_geometry(key: str) -> None:
    # What lets the allocator place on geometry: 8 memory slots, 7 compute slices and the
    # H100's valid starts, on every model.
    assert (MEMORY_SLOTS, COMPUTE_SLICES) == (8, 7)
    reference = [p.geometry for p in catalogue_table("h100-80gb").profiles]
    assert [p.geometry for p in catalogue_table(key).profiles] == reference


def test_a_drifted_name_is_the_catalogue_name() -> None:
    # R535/R545 drivers print an A100 80GB's 3g.40gb as 3g.39gb (NVIDIA/mig-parted issue
    # 31). A recording of that driver, constructed from the real A100 80GB one:
    drifted = recording("a100-80gb.lgip.txt").replace("MIG 3g.40gb ", "MIG 3g.39gb ")
    model = MODELS_BY_KEY["a100-80gb"]
    names = [canonical_profile_name(r.name, model) for r in parse_lgip(drifted)]
    assert "3g.39gb" not in names and names.count("3g.40gb") == 1
    assert catalogue_table("a100-80gb").profile("3g.39gb").name == "3g.40gb"
    assert canonical_profile_name("MIG 3g.39gb") == "3g.40gb"


@pytest.mark.parametrize(
    ("printed", "model", "canonical"),
    [
        ("MIG 1g.10gb+me", "h100-80gb", "1g.10gb"),
        ("1g.18gb+me", "h200-141gb", "1g.18gb"),
        ("MIG 1g.12gb+me", "h100-94gb", "1g.12gb"),
        ("1g.24gb-me", None, "1g.24gb"),
        ("1g.24gb+me.all", None, "1g.24gb"),
        ("2g.48gb+gfx", None, "2g.48gb"),
        ("MIG 7g.141gb", "h200-141gb", "7g.141gb"),
        ("3g.40gb", "h100-80gb", "3g.40gb"),
    ],
)
def test_canonical_names(printed: str, model: str | None, canonical: str) -> None:
    assert canonical_profile_name(printed, MODELS_BY_KEY.get(model or "")) == canonical


@pytest.mark.parametrize(
    ("name", "memory_mib", "key"),
    [
        ("NVIDIA H100 80GB HBM3", 81559, "h100-80gb"),
        ("NVIDIA H100 80GB HBM3 (simulated)", None, "h100-80gb"),
        ("NVIDIA H100 PCIe", 81559, "h100-80gb"),
        ("NVIDIA H100 NVL", 95830, "h100-94gb"),
        ("NVIDIA H100 PCIe", 95830, "h100-94gb"),
        ("NVIDIA H200", 143771, "h200-141gb"),
        ("NVIDIA H200 NVL", None, "h200-141gb"),
        ("NVIDIA A100-SXM4-40GB", 40960, "a100-40gb"),
        ("A100-SXM4-40GB", None, "a100-40gb"),
        ("NVIDIA A100-PCIE-40GB", None, "a100-40gb"),
        ("NVIDIA A100-SXM4-80GB", 81920, "a100-80gb"),
        ("NVIDIA A100 80GB PCIe", 81920, "a100-80gb"),
        ("h200-141gb", None, "h200-141gb"),
        ("H200 141GB", None, "h200-141gb"),
        # Models the catalogue lacks: on a real node NVML's own table is used.
        ("NVIDIA GH200 480GB", 97871, None),
        ("NVIDIA H20", 97871, None),
        ("NVIDIA B200", 183359, None),
        ("Tesla V100-SXM2-32GB", 32768, None),
    ],
)
def test_device_names(name: str, memory_mib: int | None, key: str | None) -> None:
    model = model_for_device(name, memory_mib)
    assert (model.key if model else None) == key
    table = table_for_device(name, memory_mib)
    assert (table.model if table else None) == key


def test_every_catalogue_name_is_a_slice() -> None:
    for model in GPU_MODELS:
        for p in model.profiles:
            assert p.name in SLICE_NAMES
            assert slice_profile(p.name).compute == p.cls.compute
    # A name keeps its compute on every model, and its reference geometry is its first
    # model's: 1g.10gb is one memory slot (H100 80GB), two on an A100 40GB.
    assert slice_profile("1g.10gb").memory_slots == 1
    assert catalogue_table("a100-40gb").profile("1g.10gb").memory_slots == 2
    assert catalogue_table("a100-40gb").profile("1g.10gb").gpu_hour_weight == pytest.approx(1 / 4)


def test_snapshots_parse_as_json() -> None:
    for path in FIXTURES.glob("*.nvml.json"):
        json.loads(path.read_text())


def test_the_site_schema_names_every_slice_and_model() -> None:
    import yaml

    from hub_config.site import SCHEMA_PATH

    defs = yaml.safe_load(SCHEMA_PATH.read_text())["$defs"]
    assert tuple(defs["slice"]["enum"]) == SLICE_NAMES
    assert defs["mig_profile"]["enum"] == [
        n for n in SLICE_NAMES if slice_profile(n).kind.value == "mig"
    ]
    assert defs["gpu_model"]["enum"] == [m.key for m in GPU_MODELS]


@pytest.mark.parametrize(
    ("key", "product"),
    [
        # GPU Feature Discovery's nvidia.com/gpu.product on nodes of each model, as
        # published clusters show it.
        ("h100-80gb", "NVIDIA-H100-80GB-HBM3"),
        ("h100-94gb", "NVIDIA-H100-NVL"),
        ("h200-141gb", "NVIDIA-H200"),
        ("a100-80gb", "NVIDIA-A100-SXM4-80GB"),
        ("a100-40gb", "NVIDIA-A100-SXM4-40GB"),
    ],
)
def test_gpu_feature_discovery_product_of_each_model(key: str, product: str) -> None:
    assert MODELS_BY_KEY[key].gfd_product == product


@pytest.mark.parametrize(
    ("name", "device"),
    [
        ("h200-141gb", "NVIDIA H200"),
        ("H100 94GB", "NVIDIA H100 NVL"),
        ("NVIDIA H100 PCIe", "NVIDIA H100 PCIe"),
        ("NVIDIA H100 80GB HBM3 (simulated)", "NVIDIA H100 80GB HBM3"),
        ("NVIDIA B200", "NVIDIA B200"),
    ],
)
def test_device_name_of_a_declared_or_simulated_gpu(name: str, device: str) -> None:
    assert device_name_of(name) == device

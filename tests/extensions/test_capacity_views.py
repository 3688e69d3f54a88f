"""The admin page's data: slots with holders, free capacity, fragmentation."""

from __future__ import annotations

from extensions.slices_service.fragmentation import fragmentation_view
from extensions.slices_service.overview import overview_view
from spawners.inventory.simulated import simulated_inventory
from tests.extensions.records import placed, record

INV = simulated_inventory(2)
GPU0, GPU1 = INV.gpus[0].uuid, INV.gpus[1].uuid


def test_slots_show_who_holds_them() -> None:
    live = [
        record(1, "alice", "1g.10gb", GPU0, 6, team="acme", image="vision"),
        record(2, "bob", "3g.40gb", GPU0, 0),
        record(3, "carol", "cpu", None, None),
    ]
    view = overview_view(INV, live)
    gpu0 = view["gpus"][0]
    holders = [s["holder"]["user"] if s["holder"] else None for s in gpu0["slots"]]
    assert holders == ["bob", "bob", "bob", "bob", None, None, "alice", None]
    alice = gpu0["slots"][6]["holder"]
    assert (alice["team"], alice["image"], alice["slice"], alice["since"]) == (
        "acme",
        "vision",
        "1g.10gb",
        201.0,
    )
    assert [a["user"] for a in gpu0["allocations"]] == ["bob", "alice"]
    # Slot 7 is no valid start: 4 and 5 are what is left for 1g.10gb.
    assert gpu0["free"]["3g.40gb"] == 0 and gpu0["free"]["1g.10gb"] == 2
    assert view["gpus"][1]["free"]["7g.80gb"] == 1
    assert view["free"]["7g.80gb"] == 1
    assert [a["user"] for a in view["without_gpu"]] == ["carol"]
    assert view["simulated"] is True


def test_one_small_slice_at_slot_4_blocks_both_3g40gb_starts_with_bob_at_0() -> None:
    live = [record(1, "alice", "1g.10gb", GPU0, 4), record(2, "bob", "2g.20gb", GPU0, 0)]
    frag = {f["gpu_uuid"]: f for f in fragmentation_view(INV, live)}
    blocked = {b["profile"]: b for b in frag[GPU0]["blocked"]}
    three = blocked["3g.40gb"]
    assert three["fragmented"] is True  # 5 slots free, no aligned place
    assert [(s["start"], [r["user"] for r in s["blocked_by"]]) for s in three["starts"]] == [
        (0, ["bob"]),
        (4, ["alice"]),
    ]
    assert [r["user"] for r in three["release_to_fit"]] == ["bob"]
    assert set(blocked) == {"7g.80gb", "4g.40gb", "3g.40gb"}
    assert blocked["7g.80gb"]["fragmented"] is False
    assert frag[GPU1]["blocked"] == []  # an empty GPU blocks nothing


def test_compute_exhaustion_is_not_fragmentation() -> None:
    live = [record(1, "a", "4g.40gb", GPU0, 0), record(2, "b", "2g.20gb", GPU0, 4)]
    # 4 + 2 = 6 of 7 compute used; a 2g.20gb at 6? not a valid start; 1g.20gb at 6 fits.
    gpu = fragmentation_view(INV, live)[0]
    assert gpu["compute_free"] == 1 and gpu["free_slots"] == 2
    blocked = {b["profile"]: b for b in gpu["blocked"]}
    assert blocked["2g.20gb"]["compute_short"] is True
    assert blocked["2g.20gb"]["release_to_fit"] == []
    assert "1g.20gb" not in blocked


def test_the_allocators_own_placements_keep_large_profiles_open() -> None:
    live: list = []
    for n in range(3):
        live.append(placed(INV, live, n + 1, f"u{n}", "1g.10gb"))
    gpu_blocked = {f["gpu_uuid"]: f["blocked"] for f in fragmentation_view(INV, live)}
    # Fragmentation-aware placement stacks the small ones at the top of one GPU.
    assert all(b["profile"] != "3g.40gb" for b in gpu_blocked[GPU0])

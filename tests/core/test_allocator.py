"""The allocator, by example: dynamic and static MIG, MPS shares, whole GPUs, refusals."""

from __future__ import annotations

import pytest

from spawners.core.allocator import (
    PlacementStrategy,
    allocate,
    free_counts,
    offered_slices,
    simulated_device_uuid,
)
from spawners.core.demand import RequestMix
from spawners.core.model import (
    Gpu,
    GpuMode,
    Holding,
    Inventory,
    MigInstance,
    MigStrategy,
    Placement,
    Refusal,
    RefusalCode,
)

from .facts import MIG_TABLE, MPS_TABLE

FRAG = PlacementStrategy.FRAGMENTATION_AWARE
LARGEST = PlacementStrategy.LARGEST_FIRST
FIRST = PlacementStrategy.FIRST_FIT


def gpu(index: int, mode: GpuMode = GpuMode.MIG, instances=(), node: str = "n1") -> Gpu:
    return Gpu(index, f"GPU-{index:08d}-0000", "NVIDIA H100 80GB HBM3", mode, node=node,
               instances=tuple(instances))  # fmt: skip


def inventory(*gpus: Gpu, strategy=MigStrategy.DYNAMIC, simulated: bool = False) -> Inventory:
    return Inventory(gpus=gpus, strategy=strategy, simulated=simulated)


def granted(result: Placement | Refusal) -> Placement:
    assert isinstance(result, Placement), getattr(result, "message", result)
    return result


def fill(inv: Inventory, slice_name: str, strategy=FRAG, holdings=()) -> list[Holding]:
    """Allocate ``slice_name`` until refused; the holdings granted."""
    held = list(holdings)
    while isinstance(result := allocate(inv, held, slice_name, strategy), Placement):
        held.append(result.as_holding())
        assert len(held) <= 64, "allocator never refuses"
    assert result.code is RefusalCode.NO_CAPACITY
    return held


# --- dynamic MIG ------------------------------------------------------------------


def test_a_lone_1g10gb_goes_to_slot_6_with_largest_first_placement() -> None:
    p = granted(allocate(inventory(gpu(0)), [], "1g.10gb", LARGEST))
    assert (p.start, p.slots) == (6, frozenset({6}))


def test_a_lone_1g10gb_keeps_room_for_one_of_every_profile_but_the_whole_gpu() -> None:
    inv = inventory(gpu(0))
    held = [granted(allocate(inv, [], "1g.10gb", FRAG)).as_holding()]
    free = free_counts(inv, held)
    assert free["7g.80gb"] == 0
    assert all(free[name] >= 1 for name in MIG_TABLE if name != "7g.80gb")


def test_the_sites_mix_decides_where_a_1g10gb_goes_beside_a_2g20gb() -> None:
    inv = inventory(gpu(0))
    two = Holding(inv.gpus[0].uuid, "2g.20gb", frozenset({0, 1}), 0)
    # A site of 3g.40gb users keeps the 3g.40gb at 4; one of 2g.20gb users keeps 2 and 4.
    for_3g = granted(allocate(inv, [two], "1g.10gb", mix=RequestMix.observed({"3g.40gb": 900})))
    for_2g = granted(allocate(inv, [two], "1g.10gb", mix=RequestMix.observed({"2g.20gb": 900})))
    assert (for_3g.start, for_2g.start) == (2, 6)
    assert free_counts(inv, [two, for_3g.as_holding()])["3g.40gb"] == 1
    assert free_counts(inv, [two, for_2g.as_holding()])["2g.20gb"] == 2


def test_first_fit_puts_a_lone_1g10gb_at_slot_0() -> None:
    p = granted(allocate(inventory(gpu(0)), [], "1g.10gb", FIRST))
    assert (p.start, p.slots) == (0, frozenset({0}))


def test_after_a_1g10gb_at_slot_6_the_lower_3g40gb_is_still_free() -> None:
    inv = inventory(gpu(0))
    small = granted(allocate(inv, [], "1g.10gb", FRAG)).as_holding()
    # The 1g.10gb at 6 costs the upper 3g.40gb; the lower one (0-3) is still there.
    big = granted(allocate(inv, [small], "3g.40gb", FRAG))
    assert big.start == 0
    assert isinstance(allocate(inv, [small, big.as_holding()], "3g.40gb"), Refusal)


def test_one_1g10gb_at_slot_4_blocks_every_3g40gb_at_4() -> None:
    inv = inventory(gpu(0))
    at4 = Holding(inv.gpus[0].uuid, "1g.10gb", frozenset({4}), 4)
    first = granted(allocate(inv, [at4], "3g.40gb", FRAG))
    assert first.start == 0
    refusal = allocate(inv, [at4, first.as_holding()], "3g.40gb", FRAG)
    assert isinstance(refusal, Refusal) and refusal.code is RefusalCode.NO_CAPACITY
    assert free_counts(inv, [at4])["3g.40gb"] == 1


@pytest.mark.parametrize("strategy", list(PlacementStrategy))
@pytest.mark.parametrize("name", sorted(MIG_TABLE))
def test_an_empty_gpu_holds_max_per_gpu_of_each_profile(name: str, strategy) -> None:
    inv = inventory(gpu(0))
    held = fill(inv, name, strategy)
    fact = MIG_TABLE[name]
    assert len(held) == fact.max_per_gpu
    assert all(h.start in fact.valid_starts for h in held)
    assert len({s for h in held for s in h.slots}) == fact.memory_slots * len(held)


def test_seven_1g10gb_fill_the_compute_while_slot_7_stays_empty() -> None:
    held = fill(inventory(gpu(0)), "1g.10gb")
    assert sorted(h.start for h in held) == [0, 1, 2, 3, 4, 5, 6]


def test_a_4g40gb_and_a_3g40gb_share_one_gpu() -> None:
    inv = inventory(gpu(0))
    four = granted(allocate(inv, [], "4g.40gb")).as_holding()
    three = granted(allocate(inv, [four], "3g.40gb"))
    assert (four.start, three.start) == (0, 4)
    assert free_counts(inv, [four, three.as_holding()]) == {n: 0 for n in MIG_TABLE}


def test_fragmentation_aware_packs_the_fuller_gpu() -> None:
    inv = inventory(gpu(0), gpu(1))
    first = granted(allocate(inv, [], "1g.10gb"))
    second = granted(allocate(inv, [first.as_holding()], "1g.10gb"))
    assert second.gpu_uuid == first.gpu_uuid
    # The other GPU is still whole for a 7g.80gb.
    held = [first.as_holding(), second.as_holding()]
    big = granted(allocate(inv, held, "7g.80gb"))
    assert big.gpu_uuid != first.gpu_uuid


def test_placement_names_the_gpu() -> None:
    inv = inventory(gpu(0, node="a"), gpu(1, node="b"))
    held = [Holding(inv.gpus[0].uuid, "7g.80gb", frozenset(range(8)), 0)]
    p = granted(allocate(inv, held, "2g.20gb"))
    assert (p.gpu_uuid, p.gpu_index, p.node) == (inv.gpus[1].uuid, 1, "b")
    assert p.slots == frozenset(range(p.start, p.start + 2))


def test_simulated_dynamic_mig_gets_a_stable_mig_uuid_and_real_gets_none_until_created() -> None:
    sim = granted(allocate(inventory(gpu(0), simulated=True), [], "2g.20gb"))
    assert sim.device_uuid is not None and sim.device_uuid.startswith("MIG-")
    assert sim.device_uuid == simulated_device_uuid(sim.gpu_uuid, "2g.20gb", sim.start)
    again = granted(allocate(inventory(gpu(0), simulated=True), [], "2g.20gb"))
    assert again.device_uuid == sim.device_uuid
    real = granted(allocate(inventory(gpu(0)), [], "2g.20gb"))
    assert real.device_uuid is None


def test_holdings_on_unknown_gpus_are_ignored() -> None:
    inv = inventory(gpu(0))
    stray = Holding("GPU-gone", "7g.80gb", frozenset(range(8)), 0)
    assert granted(allocate(inv, [stray], "7g.80gb")).gpu_uuid == inv.gpus[0].uuid


# --- static MIG --------------------------------------------------------------------

STATIC_LAYOUT = (
    MigInstance("3g.40gb", 0, "MIG-aaaa"),
    MigInstance("2g.20gb", 4, "MIG-bbbb"),
    MigInstance("1g.10gb", 6, "MIG-cccc"),
)


def test_static_strategy_hands_out_the_existing_instances() -> None:
    inv = inventory(gpu(0, instances=STATIC_LAYOUT), strategy=MigStrategy.STATIC)
    for inst in STATIC_LAYOUT:
        p = granted(allocate(inv, [], inst.profile))
        assert (p.start, p.slots, p.device_uuid) == (inst.start, inst.slots, inst.uuid)


def test_static_strategy_never_invents_an_instance() -> None:
    inv = inventory(gpu(0, instances=STATIC_LAYOUT), strategy=MigStrategy.STATIC)
    one = granted(allocate(inv, [], "1g.10gb")).as_holding()
    # Dynamic placement would find room for a 1g.10gb (slots 4 and 5 are in the 2g.20gb
    # instance, slot 7 is invalid): static has no second 1g.10gb instance, so no.
    refusal = allocate(inv, [one], "1g.10gb")
    assert isinstance(refusal, Refusal) and refusal.code is RefusalCode.NO_CAPACITY
    for name in ("1g.20gb", "4g.40gb", "7g.80gb"):
        refusal = allocate(inv, [], name)
        assert isinstance(refusal, Refusal) and refusal.code is RefusalCode.NOT_OFFERED, name
    assert free_counts(inv, []) == {"1g.10gb": 1, "2g.20gb": 1, "3g.40gb": 1}


def test_static_strategy_fills_the_busier_gpu_first() -> None:
    layout = (MigInstance("1g.10gb", 0, "MIG-x0"), MigInstance("1g.10gb", 1, "MIG-x1"))
    layout1 = (MigInstance("1g.10gb", 0, "MIG-y0"), MigInstance("1g.10gb", 1, "MIG-y1"))
    inv = inventory(
        gpu(0, instances=layout), gpu(1, instances=layout1), strategy=MigStrategy.STATIC
    )
    held = [Holding(inv.gpus[1].uuid, "1g.10gb", frozenset({0}), 0, "MIG-y0")]
    p = granted(allocate(inv, held, "1g.10gb"))
    assert p.device_uuid == "MIG-y1"


# --- MPS and whole GPUs --------------------------------------------------------------


@pytest.mark.parametrize(("name", "slots"), sorted(MPS_TABLE.items()))
def test_mps_shares_fill_a_non_mig_gpu_by_memory(name: str, slots: int) -> None:
    inv = inventory(gpu(0, GpuMode.MPS))
    held = fill(inv, name)
    assert len(held) == 8 // slots
    for h in held:
        assert len(h.slots) == slots
        assert h.device_uuid == inv.gpus[0].uuid
        assert h.start is None
    assert len({s for h in held for s in h.slots}) == 8


def test_whole_gpu_on_an_mps_gpu_only_when_no_share_is_held() -> None:
    inv = inventory(gpu(0, GpuMode.MPS))
    whole = granted(allocate(inv, [], "gpu"))
    assert whole.slots == frozenset(range(8)) and whole.device_uuid == inv.gpus[0].uuid
    share = granted(allocate(inv, [], "mps.10gb")).as_holding()
    refusal = allocate(inv, [share], "gpu")
    assert isinstance(refusal, Refusal) and refusal.code is RefusalCode.NO_CAPACITY
    assert isinstance(allocate(inv, [whole.as_holding()], "mps.10gb"), Refusal)


def test_whole_mode_gpu_offers_only_the_whole_gpu() -> None:
    inv = inventory(gpu(0, GpuMode.WHOLE), gpu(1, GpuMode.WHOLE))
    assert offered_slices(inv) == ("cpu", "gpu")
    held = fill(inv, "gpu")
    assert {h.gpu_uuid for h in held} == {g.uuid for g in inv.gpus}
    for name in ("mps.10gb", "1g.10gb", "7g.80gb"):
        refusal = allocate(inv, [], name)
        assert isinstance(refusal, Refusal) and refusal.code is RefusalCode.NOT_OFFERED


def test_mig_gpus_offer_no_mps_share_and_no_whole_gpu() -> None:
    inv = inventory(gpu(0))
    assert set(offered_slices(inv)) == {"cpu", *MIG_TABLE}
    for name in ("mps.20gb", "gpu"):
        refusal = allocate(inv, [], name)
        assert isinstance(refusal, Refusal) and refusal.code is RefusalCode.NOT_OFFERED


def test_mixed_inventory_routes_each_kind_to_its_gpu() -> None:
    inv = inventory(gpu(0), gpu(1, GpuMode.MPS), gpu(2, GpuMode.WHOLE))
    assert granted(allocate(inv, [], "1g.10gb")).gpu_index == 0
    assert granted(allocate(inv, [], "mps.40gb")).gpu_index == 1
    mps_busy = [Holding(inv.gpus[1].uuid, "mps.10gb", frozenset({0}), None)]
    assert granted(allocate(inv, mps_busy, "gpu")).gpu_index == 2


def test_cpu_is_always_granted_and_holds_nothing() -> None:
    inv = inventory(gpu(0))
    full = [Holding(inv.gpus[0].uuid, "7g.80gb", frozenset(range(8)), 0)]
    p = granted(allocate(inv, full, "cpu"))
    assert p == Placement(slice_name="cpu")
    with pytest.raises(ValueError):
        p.as_holding()
    assert granted(allocate(inventory(), [], "cpu")).gpu_uuid is None


# --- refusals say what is free ---------------------------------------------------------


def test_refusal_for_no_capacity_says_what_is_free_now() -> None:
    inv = inventory(gpu(0))
    held = [Holding(inv.gpus[0].uuid, "4g.40gb", frozenset(range(4)), 0)]
    refusal = allocate(inv, held, "7g.80gb")
    assert isinstance(refusal, Refusal)
    assert refusal.code is RefusalCode.NO_CAPACITY
    assert refusal.free_now == free_counts(inv, held)
    assert refusal.free_now["3g.40gb"] == 1 and refusal.free_now["7g.80gb"] == 0
    message = refusal.message
    assert message.startswith("No 7g.80gb slice is free right now.")
    assert "1 x 3g.40gb" in message
    assert "1 x 2g.20gb" in message
    assert "2 x 1g.20gb" in message
    assert "3 x 1g.10gb" in message
    # Profiles with nothing free are not listed.
    assert "7g.80gb" not in message.split("Free now:")[1]
    assert "4g.40gb" not in message


def test_refusal_on_a_full_site_says_nothing_is_free() -> None:
    inv = inventory(gpu(0))
    held = [Holding(inv.gpus[0].uuid, "7g.80gb", frozenset(range(8)), 0)]
    refusal = allocate(inv, held, "1g.10gb")
    assert isinstance(refusal, Refusal)
    assert refusal.message == "No 1g.10gb slice is free right now. Free now: nothing."


def test_refusal_for_a_slice_the_site_cannot_hold() -> None:
    inv = inventory(gpu(0))
    refusal = allocate(inv, [], "mps.10gb")
    assert isinstance(refusal, Refusal) and refusal.code is RefusalCode.NOT_OFFERED
    assert "no GPU that can hold a mps.10gb" in refusal.message
    assert "7 x 1g.10gb" in refusal.message


def test_refusal_for_an_unknown_slice() -> None:
    refusal = allocate(inventory(gpu(0)), [], "9g.90gb")
    assert isinstance(refusal, Refusal) and refusal.code is RefusalCode.NO_SUCH_SLICE
    assert "9g.90gb" in refusal.message


def test_free_counts_of_an_empty_mixed_inventory() -> None:
    inv = inventory(gpu(0), gpu(1), gpu(2, GpuMode.MPS))
    counts = free_counts(inv, [])
    assert "cpu" not in counts
    for name, fact in MIG_TABLE.items():
        assert counts[name] == 2 * fact.max_per_gpu
    assert counts["mps.10gb"] == 8 and counts["mps.20gb"] == 4 and counts["mps.40gb"] == 2
    assert counts["gpu"] == 1
    assert free_counts(inventory(), []) == {}

"""The H100 MIG profile table and the placement arithmetic, as tables."""

from __future__ import annotations

import pytest

from spawners.core.placement import capacity_vector, fits, free_count, placement_loss
from spawners.core.profiles import (
    ALL_SLICES,
    COMPUTE_SLICES,
    H100_MIG_PROFILES,
    MEMORY_SLOTS,
    MIG_LARGEST_FIRST,
    SLICE_NAMES,
    SliceKind,
    slice_profile,
)

from .facts import ALL_SLICE_NAMES, H100_SLICE_NAMES, MIG_TABLE, MPS_TABLE, oracle_fits

MIG_NAMES = sorted(MIG_TABLE)


def mask_of(*slots: int) -> int:
    out = 0
    for s in slots:
        out |= 1 << s
    return out


def test_geometry_of_an_h100() -> None:
    assert MEMORY_SLOTS == 8
    assert COMPUTE_SLICES == 7


def test_the_catalogue_is_exactly_the_documented_slices() -> None:
    assert sorted(SLICE_NAMES) == sorted(ALL_SLICE_NAMES)
    assert len(set(SLICE_NAMES)) == len(ALL_SLICES)
    assert sorted(p.name for p in H100_MIG_PROFILES) == MIG_NAMES
    # The H100 80GB names come first, in the documented order.
    assert SLICE_NAMES[: len(H100_SLICE_NAMES) - 4] == H100_SLICE_NAMES[:-4]


@pytest.mark.parametrize("name", MIG_NAMES)
def test_mig_profile_matches_the_table(name: str) -> None:
    fact = MIG_TABLE[name]
    profile = slice_profile(name)
    assert profile.kind is SliceKind.MIG
    assert profile.memory_slots == fact.memory_slots
    assert profile.compute == fact.compute
    assert profile.valid_starts == fact.valid_starts
    assert profile.max_per_gpu == fact.max_per_gpu
    assert profile.memory_gb == fact.memory_gb
    assert profile.needs_gpu


@pytest.mark.parametrize("name", MIG_NAMES)
def test_start_7_is_never_valid(name: str) -> None:
    profile = slice_profile(name)
    assert 7 not in profile.valid_starts
    assert not fits(profile, 7, 0, 0)


@pytest.mark.parametrize("name", MIG_NAMES)
def test_every_valid_start_keeps_the_instance_on_the_gpu(name: str) -> None:
    profile = slice_profile(name)
    for start in profile.valid_starts:
        assert start >= 0 and start + profile.memory_slots <= MEMORY_SLOTS


@pytest.mark.parametrize("name", MIG_NAMES)
@pytest.mark.parametrize("start", range(-1, 9))
def test_on_an_empty_gpu_a_profile_fits_exactly_at_its_valid_starts(name: str, start: int) -> None:
    assert fits(slice_profile(name), start, 0, 0) is (start in MIG_TABLE[name].valid_starts)


@pytest.mark.parametrize("name", MIG_NAMES)
def test_free_count_on_an_empty_gpu_is_max_per_gpu(name: str) -> None:
    assert free_count(slice_profile(name), 0, 0) == MIG_TABLE[name].max_per_gpu


@pytest.mark.parametrize(
    ("name", "occupied", "compute_used", "expected"),
    [
        # One 1g.10gb at slot 4 blocks every 3g.40gb at 4 (and only there).
        ("3g.40gb", (4,), 1, 1),
        ("3g.40gb", (0,), 1, 1),
        ("3g.40gb", (3, 4), 2, 0),
        ("2g.20gb", (4,), 1, 2),
        ("1g.20gb", (4,), 1, 3),
        ("4g.40gb", (4,), 1, 1),
        ("4g.40gb", (3,), 1, 0),
        ("7g.80gb", (6,), 1, 0),
        # Slot 7 is only ever used by the upper half of something larger.
        ("1g.10gb", (7,), 0, 7),
        ("1g.20gb", (7,), 0, 3),
        ("3g.40gb", (7,), 0, 1),
        # Compute, not memory, is what stops the eighth slot being used.
        ("1g.10gb", (0, 1, 2, 3, 4, 5), 6, 1),
        ("1g.10gb", (0, 1, 2, 3, 4, 5, 6), 7, 0),
        ("1g.20gb", (), 4, 3),
        ("4g.40gb", (), 4, 0),
        ("3g.40gb", (0, 1, 2, 3), 4, 1),
        ("3g.40gb", (0, 1, 2, 3), 5, 0),
    ],
)
def test_free_count_after_occupancy(
    name: str, occupied: tuple[int, ...], compute_used: int, expected: int
) -> None:
    assert free_count(slice_profile(name), mask_of(*occupied), compute_used) == expected


def test_one_1g10gb_at_slot_4_blocks_every_3g40gb_at_4() -> None:
    three = slice_profile("3g.40gb")
    assert not fits(three, 4, mask_of(4), 1)
    assert fits(three, 0, mask_of(4), 1)


@pytest.mark.parametrize("name", MIG_NAMES)
@pytest.mark.parametrize("occupied", [(), (4,), (0, 1), (6,), (2, 3, 4, 5)])
@pytest.mark.parametrize("compute_used", [0, 3, 6])
def test_fits_agrees_with_the_table(
    name: str, occupied: tuple[int, ...], compute_used: int
) -> None:
    profile = slice_profile(name)
    for start in range(MEMORY_SLOTS):
        assert fits(profile, start, mask_of(*occupied), compute_used) is oracle_fits(
            name, start, set(occupied), compute_used
        )


def test_capacity_vector_is_ordered_largest_first() -> None:
    assert [p.name for p in MIG_LARGEST_FIRST] == [
        "7g.80gb",
        "4g.40gb",
        "3g.40gb",
        "2g.20gb",
        "1g.20gb",
        "1g.10gb",
    ]
    assert capacity_vector(0, 0) == (1, 1, 2, 3, 4, 7)
    assert capacity_vector(mask_of(4), 1) == (0, 1, 1, 2, 3, 6)


def test_placement_loss_prefers_slot_6_for_a_lone_1g10gb() -> None:
    one = slice_profile("1g.10gb")
    losses = {start: placement_loss(one, start, 0, 0) for start in one.valid_starts}
    assert min(losses, key=losses.__getitem__) == 6
    assert losses[6] < losses[4]
    assert losses[4] == (1, 0, 1, 1, 1, 1)
    assert losses[0] == (1, 1, 1, 1, 1, 1)


@pytest.mark.parametrize(("name", "slots"), sorted(MPS_TABLE.items()))
def test_mps_shares(name: str, slots: int) -> None:
    profile = slice_profile(name)
    assert profile.kind is SliceKind.MPS
    assert profile.memory_slots == slots
    assert profile.memory_gb == 10 * slots
    assert profile.max_per_gpu == MEMORY_SLOTS // slots
    assert 0 < profile.mps_thread_percentage <= 100
    assert profile.valid_starts == ()


def test_whole_gpu_and_cpu() -> None:
    gpu = slice_profile("gpu")
    assert gpu.kind is SliceKind.GPU
    assert gpu.memory_slots == MEMORY_SLOTS
    assert gpu.max_per_gpu == 1
    cpu = slice_profile("cpu")
    assert cpu.kind is SliceKind.CPU
    assert not cpu.needs_gpu
    assert cpu.memory_slots == 0 and cpu.compute == 0


def test_gpu_hour_weights_charge_the_larger_share() -> None:
    assert slice_profile("7g.80gb").gpu_hour_weight == 1
    assert slice_profile("gpu").gpu_hour_weight == 1
    assert slice_profile("cpu").gpu_hour_weight == 0
    # 1g.20gb blocks a quarter of the memory but only a seventh of the compute.
    assert slice_profile("1g.20gb").gpu_hour_weight == pytest.approx(0.25)
    assert slice_profile("1g.10gb").gpu_hour_weight == pytest.approx(1 / 7)


def test_unknown_slice_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        slice_profile("8g.90gb")

"""Property tests: random allocate/release sequences over random inventories of 1-4 GPUs
(MIG, MPS and whole GPUs; static and dynamic MIG; fragmentation-aware and first-fit),
checked against the independent MIG table in ``facts.py``."""

from __future__ import annotations

import os
from collections import defaultdict

from hypothesis import given, note, settings
from hypothesis import strategies as st

from spawners.core.allocator import PlacementStrategy, allocate, free_counts
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

from .facts import (
    ALL_SLICE_NAMES,
    COMPUTE_SLICES,
    CPU,
    MEMORY_SLOTS,
    MIG_TABLE,
    MPS_TABLE,
    WHOLE_GPU,
    oracle_fits,
    slots_of,
)

PROFILE = settings.get_profile(os.environ.get("SANDBOX_HYPOTHESIS_PROFILE", "sandbox-core"))


@st.composite
def static_layouts(draw: st.DrawFn, gpu_index: int) -> tuple[MigInstance, ...]:
    """A valid MIG layout: random candidates, kept where the table says they fit."""
    candidates = draw(
        st.lists(
            st.tuples(st.sampled_from(sorted(MIG_TABLE)), st.integers(0, MEMORY_SLOTS - 1)),
            max_size=12,
        )
    )
    taken: set[int] = set()
    compute = 0
    layout = []
    for name, start in candidates:
        if oracle_fits(name, start, taken, compute):
            taken |= slots_of(name, start)
            compute += MIG_TABLE[name].compute
            layout.append(MigInstance(name, start, f"MIG-{gpu_index}-{name}-{start}"))
    return tuple(layout)


@st.composite
def inventories(draw: st.DrawFn) -> Inventory:
    strategy = draw(st.sampled_from(list(MigStrategy)))
    count = draw(st.integers(1, 4))
    gpus = []
    for i in range(count):
        mode = draw(st.sampled_from(list(GpuMode)))
        instances = ()
        if mode is GpuMode.MIG and strategy is MigStrategy.STATIC:
            instances = draw(static_layouts(i))
        gpus.append(
            Gpu(i, f"GPU-{i:04d}-prop", "H100", mode, node=f"n{i % 2}", instances=instances)
        )
    return Inventory(tuple(gpus), strategy=strategy, simulated=draw(st.booleans()))


slice_names = st.sampled_from([*ALL_SLICE_NAMES, "9g.90gb"])
operations = st.lists(
    st.one_of(
        st.tuples(st.just("allocate"), slice_names, st.sampled_from(list(PlacementStrategy))),
        st.tuples(st.just("release"), st.integers(0, 63), st.booleans()),
    ),
    max_size=40,
)


def check_holdings(inv: Inventory, held: list[Holding]) -> None:
    """No over-commit, no overlap, every MIG instance where the table allows it."""
    by_gpu: dict[str, list[Holding]] = defaultdict(list)
    for h in held:
        by_gpu[h.gpu_uuid].append(h)
    for gpu in inv.gpus:
        mine = by_gpu.pop(gpu.uuid, [])
        seen: set[int] = set()
        for h in mine:
            assert h.slots <= set(range(MEMORY_SLOTS)), h
            assert not (h.slots & seen), f"overlap on GPU {gpu.index}: {mine}"
            seen |= h.slots
        names = [h.slice_name for h in mine]
        if gpu.mode is GpuMode.MIG:
            assert all(n in MIG_TABLE for n in names), names
            assert sum(MIG_TABLE[n].compute for n in names) <= COMPUTE_SLICES, names
            for h in mine:
                assert h.start in MIG_TABLE[h.slice_name].valid_starts, h
                assert h.slots == slots_of(h.slice_name, h.start), h
            if inv.strategy is MigStrategy.STATIC:
                instances = {(i.profile, i.start, i.slots, i.uuid) for i in gpu.instances}
                used = [(h.slice_name, h.start, h.slots, h.device_uuid) for h in mine]
                assert set(used) <= instances, (used, instances)
                assert len(set(used)) == len(used)
        elif gpu.mode is GpuMode.MPS:
            assert all(n in MPS_TABLE or n == WHOLE_GPU for n in names), names
            if WHOLE_GPU in names:
                assert names == [WHOLE_GPU]
            for h in mine:
                expected = MEMORY_SLOTS if h.slice_name == WHOLE_GPU else MPS_TABLE[h.slice_name]
                assert len(h.slots) == expected and h.device_uuid == gpu.uuid
        else:
            assert names in ([], [WHOLE_GPU]), names
    assert not by_gpu, f"holdings on GPUs not in the inventory: {by_gpu}"


def check_placement(inv: Inventory, p: Placement) -> None:
    gpu = inv.gpu(p.gpu_uuid)
    assert (p.gpu_index, p.node) == (gpu.index, gpu.node)
    if p.slice_name in MIG_TABLE:
        assert p.start in MIG_TABLE[p.slice_name].valid_starts
        assert p.start != 7
        if inv.simulated or inv.strategy is MigStrategy.STATIC:
            assert p.device_uuid and p.device_uuid.startswith("MIG-")
    else:
        assert p.device_uuid == gpu.uuid


@PROFILE
@given(inv=inventories(), ops=operations)
def test_random_allocate_release_sequences_keep_every_invariant(
    inv: Inventory, ops: list[tuple]
) -> None:
    held: list[Holding] = []
    # What was held and free before each grant, to check that undoing it restores both.
    before_grant: list[tuple[tuple[Holding, ...], dict[str, int]]] = []
    initial = free_counts(inv, [])
    for op in ops:
        note(f"{op} with {len(held)} held")
        before = free_counts(inv, held)
        if op[0] == "allocate":
            _, name, strategy = op
            result = allocate(inv, held, name, strategy)
            if name == CPU:
                assert result == Placement(slice_name=CPU)
                continue
            if isinstance(result, Placement):
                # free_counts > 0 iff allocate succeeds.
                assert before.get(name, 0) > 0, (name, before)
                check_placement(inv, result)
                before_grant.append((tuple(held), before))
                held.append(result.as_holding())
                after = free_counts(inv, held)
                # A grant uses up exactly one of its own kind, and never frees anything.
                assert after[name] == before[name] - 1, (name, before, after)
                assert all(after[k] <= v for k, v in before.items())
            else:
                assert isinstance(result, Refusal)
                assert before.get(name, 0) == 0, (name, before, result)
                assert result.free_now == before
                if name not in ALL_SLICE_NAMES:
                    assert result.code is RefusalCode.NO_SUCH_SLICE
                elif name in before:
                    assert result.code is RefusalCode.NO_CAPACITY
                else:
                    assert result.code is RefusalCode.NOT_OFFERED
        elif held:
            _, index, last = op
            i = len(held) - 1 if last else index % len(held)
            gone = held.pop(i)
            held_then, free_then = before_grant.pop(i)
            after = free_counts(inv, held)
            assert after[gone.slice_name] == before[gone.slice_name] + 1
            assert all(after[k] >= v for k, v in before.items())
            if tuple(held) == held_then:
                # Undoing a grant (nothing else changed since) restores the counts exactly.
                assert after == free_then
        check_holdings(inv, held)
    while held:
        held.pop()
    assert free_counts(inv, held) == initial


@PROFILE
@given(inv=inventories(), names=st.lists(st.sampled_from(sorted(MIG_TABLE)), max_size=30))
def test_filling_until_refused_never_overcommits(inv: Inventory, names: list[str]) -> None:
    """Grant greedily until every request is refused: the GPUs end up legal and the last
    refusal for each profile agrees with free_counts."""
    held: list[Holding] = []
    for name in names:
        for strategy in PlacementStrategy:
            result = allocate(inv, held, name, strategy)
            if isinstance(result, Placement):
                held.append(result.as_holding())
    check_holdings(inv, held)
    counts = free_counts(inv, held)
    for name in set(names):
        granted = isinstance(allocate(inv, held, name), Placement)
        assert granted is (counts.get(name, 0) > 0)


@PROFILE
@given(inv=inventories())
def test_an_empty_inventory_offers_max_per_gpu_on_each_dynamic_mig_gpu(inv: Inventory) -> None:
    counts = free_counts(inv, [])
    mig = [g for g in inv.gpus if g.mode is GpuMode.MIG]
    for name, fact in MIG_TABLE.items():
        if inv.strategy is MigStrategy.DYNAMIC:
            expected = fact.max_per_gpu * len(mig)
        else:
            expected = sum(1 for g in mig for i in g.instances if i.profile == name)
        assert counts.get(name, 0) == expected
    sharing = [g for g in inv.gpus if g.mode is GpuMode.MPS]
    for name, slots in MPS_TABLE.items():
        assert counts.get(name, 0) == len(sharing) * (MEMORY_SLOTS // slots)
    whole = [g for g in inv.gpus if g.mode is not GpuMode.MIG]
    assert counts.get(WHOLE_GPU, 0) == len(whole)

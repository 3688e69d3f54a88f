"""Property tests for sites that mix GPU models: random inventories of H100 80GB, H100
94GB, H200 141GB, A100 80GB and A100 40GB GPUs (MIG, MPS, whole; static and dynamic),
random allocate/release sequences, checked against the independent per-model tables in
``facts.py``: a slice only lands on a GPU whose model has it, with that model's
geometry and GPU-hour weight."""

from __future__ import annotations

import os
from collections import defaultdict
from fractions import Fraction

from hypothesis import given, note, settings
from hypothesis import strategies as st

from spawners.core.allocator import (
    PlacementStrategy,
    allocate,
    free_counts,
    offered_slices,
    slice_families,
)
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
    MEMORY_SLOTS,
    MIG_NAMES_ALL,
    MODEL_TABLES,
    MigFact,
)

PROFILE = settings.get_profile(os.environ.get("SANDBOX_HYPOTHESIS_PROFILE", "sandbox-core"))
MODELS = sorted(MODEL_TABLES)


def fact_of(model: str, name: str) -> MigFact | None:
    return MODEL_TABLES[model].profiles.get(name)


def weight_of(fact: MigFact) -> Fraction:
    return max(Fraction(fact.compute, COMPUTE_SLICES), Fraction(fact.memory_slots, MEMORY_SLOTS))


@st.composite
def layouts(draw: st.DrawFn, model: str, gpu_index: int) -> tuple[MigInstance, ...]:
    table = MODEL_TABLES[model].profiles
    candidates = draw(
        st.lists(
            st.tuples(st.sampled_from(sorted(table)), st.integers(0, MEMORY_SLOTS - 1)),
            max_size=12,
        )
    )
    taken: set[int] = set()
    compute = 0
    out = []
    for name, start in candidates:
        fact = table[name]
        slots = set(range(start, start + fact.memory_slots))
        if start in fact.valid_starts and not slots & taken and compute + fact.compute <= 7:
            taken |= slots
            compute += fact.compute
            out.append(
                MigInstance(name, start, f"MIG-{gpu_index}-{name}-{start}", fact.memory_slots)
            )
    return tuple(out)


@st.composite
def mixed_inventories(draw: st.DrawFn) -> Inventory:
    strategy = draw(st.sampled_from(list(MigStrategy)))
    gpus = []
    for i in range(draw(st.integers(1, 5))):
        model = draw(st.sampled_from(MODELS))
        mode = draw(st.sampled_from([GpuMode.MIG, GpuMode.MIG, GpuMode.MPS, GpuMode.WHOLE]))
        instances = ()
        if mode is GpuMode.MIG and strategy is MigStrategy.STATIC:
            instances = draw(layouts(model, i))
        gpus.append(Gpu(i, f"GPU-{i:04d}-mix", model, mode, node=f"n{i % 2}", instances=instances))
    return Inventory(tuple(gpus), strategy=strategy, simulated=draw(st.booleans()))


operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("allocate"),
            st.sampled_from([*ALL_SLICE_NAMES, "9g.90gb"]),
            st.sampled_from(list(PlacementStrategy)),
        ),
        st.tuples(st.just("release"), st.integers(0, 63)),
    ),
    max_size=40,
)


def model_of(inv: Inventory, gpu_uuid: str) -> str:
    return inv.gpu(gpu_uuid).model


def check(inv: Inventory, held: list[Holding]) -> None:
    by_gpu: dict[str, list[Holding]] = defaultdict(list)
    for h in held:
        by_gpu[h.gpu_uuid].append(h)
    for gpu in inv.gpus:
        mine = by_gpu.get(gpu.uuid, [])
        seen: set[int] = set()
        for h in mine:
            assert not h.slots & seen, mine
            seen |= h.slots
        if gpu.mode is GpuMode.MIG:
            facts = [fact_of(gpu.model, h.slice_name) for h in mine]
            assert all(facts), (gpu.model, mine)  # only this model's profiles
            assert sum(f.compute for f in facts) <= COMPUTE_SLICES
            for h, f in zip(mine, facts, strict=True):
                assert h.start in f.valid_starts
                assert h.slots == frozenset(range(h.start, h.start + f.memory_slots)), h


@PROFILE
@given(inv=mixed_inventories(), ops=operations)
def test_mixed_models_keep_every_invariant(inv: Inventory, ops: list[tuple]) -> None:
    held: list[Holding] = []
    offered = set(offered_slices(inv))
    for op in ops:
        note(f"{op} with {len(held)} held")
        before = free_counts(inv, held)
        if op[0] == "release":
            if held:
                gone = held.pop(op[1] % len(held))
                assert free_counts(inv, held)[gone.slice_name] == before[gone.slice_name] + 1
            continue
        _, name, strategy = op
        result = allocate(inv, held, name, strategy)
        if name == "cpu":
            continue
        if isinstance(result, Placement):
            assert before.get(name, 0) > 0
            gpu = inv.gpu(result.gpu_uuid)
            fact = fact_of(gpu.model, name) if gpu.mode is GpuMode.MIG else None
            if name in MIG_NAMES_ALL:
                assert fact is not None, (name, gpu.model)  # landed on a model that has it
                assert result.gpu_hour_weight == weight_of(fact)
            held.append(result.as_holding())
            assert free_counts(inv, held)[name] == before[name] - 1
        else:
            assert isinstance(result, Refusal) and before.get(name, 0) == 0
            if name not in ALL_SLICE_NAMES:
                assert result.code is RefusalCode.NO_SUCH_SLICE
            elif name in offered:
                assert result.code is RefusalCode.NO_CAPACITY
            else:
                assert result.code is RefusalCode.NOT_OFFERED
                if name in MIG_NAMES_ALL:
                    labels = [m.label for m in MODEL_TABLES.values() if name in m.profiles]
                    assert set(result.families) == set(labels)
        check(inv, held)


@PROFILE
@given(inv=mixed_inventories())
def test_what_is_offered_is_what_the_models_have(inv: Inventory) -> None:
    counts = free_counts(inv, [])
    families = slice_families(inv)
    for name in MIG_NAMES_ALL:
        holders = [g for g in inv.gpus if g.mode is GpuMode.MIG and fact_of(g.model, name)]
        if inv.strategy is MigStrategy.DYNAMIC:
            expected = sum(fact_of(g.model, name).max_per_gpu for g in holders)
            assert (name in counts) is bool(holders)
        else:
            # Static: only the GPUs with an instance of it can hold it.
            holders = [g for g in holders if any(i.profile == name for i in g.instances)]
            expected = sum(1 for g in holders for i in g.instances if i.profile == name)
        assert counts.get(name, 0) == expected
        if name in families:
            assert set(families[name]) == {MODEL_TABLES[g.model].label for g in holders}

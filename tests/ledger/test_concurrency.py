"""Concurrent writers on one ledger database, on SQLite and on PostgreSQL: separate OS
processes (multiprocessing, spawn) and many threads of one process. Every writer waits
at a barrier, so the reservations really race; nothing here sleeps."""

from __future__ import annotations

import multiprocessing
import queue
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from spawners.core.allocator import allocate
from spawners.core.model import Inventory, Refusal
from spawners.inventory.simulated import simulated_inventory
from spawners.ledger.ledger import Ledger, ServerAlreadyHolds
from spawners.ledger.records import AllocationRecord

from .checks import assert_consistent
from .workers import reserve_many

RESULT_DEADLINE_S = 90

pytestmark = pytest.mark.timeout(180)


def race_in_processes(
    url: str, gpu_count: int, plans: dict[str, list[tuple[str, str, str]]]
) -> dict[str, list[tuple]]:
    """Run one process per plan (tag -> requests), all released at once; their outcomes."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(plans))
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=reserve_many,
            args=(url, gpu_count, requests, tag, barrier, results),
            name=f"ledger-writer-{tag}",
        )
        for tag, requests in plans.items()
    ]
    for p in procs:
        p.start()
    outcomes: dict[str, list[tuple]] = {}
    try:
        for _ in procs:
            try:
                item = results.get(timeout=RESULT_DEADLINE_S)
            except queue.Empty:
                pytest.fail(f"a writer process gave no result in {RESULT_DEADLINE_S} s")
            if item[1] == "error":
                pytest.fail(f"writer {item[0]} crashed:\n{item[2]}")
            outcomes[item[0]] = item[1]
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
                p.join()
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
    return outcomes


def granted_of(outcomes: dict[str, list[tuple]]) -> list[tuple]:
    return [o for outs in outcomes.values() for o in outs if o[0] == "granted"]


def test_two_processes_reserving_at_once_share_14_slots_exactly(ledger_url: str) -> None:
    inventory = simulated_inventory(2)
    plans = {tag: [(f"{tag}-user{i}", "", "1g.10gb") for i in range(10)] for tag in ("p1", "p2")}
    outcomes = race_in_processes(ledger_url, 2, plans)

    kinds = Counter(o[0] for outs in outcomes.values() for o in outs)
    assert kinds == {"granted": 14, "refused": 6}
    assert {o[1] for outs in outcomes.values() for o in outs if o[0] == "refused"} == {
        "no-capacity"
    }
    granted = granted_of(outcomes)
    claimed = [(gpu, slot) for _, _, gpu, slots in granted for slot in slots]
    assert len(claimed) == len(set(claimed)) == 14, "a slot was granted twice"

    ledger = Ledger(ledger_url)
    try:
        live = ledger.live()
        assert sorted(r.id for r in live) == sorted(o[1] for o in granted)
        assert sorted((r.gpu_uuid, s) for r in live for s in r.slots) == sorted(claimed)
        assert_consistent(ledger, inventory)
        assert sum(1 for e in ledger.audit_log(limit=100) if e["action"] == "reserve") == 14
    finally:
        ledger.dispose()


def test_processes_racing_for_one_server_get_exactly_one_allocation(ledger_url: str) -> None:
    plans = {tag: [("alice", "lab", "1g.10gb")] for tag in ("p1", "p2", "p3")}
    outcomes = race_in_processes(ledger_url, 1, plans)

    flat = [o for outs in outcomes.values() for o in outs]
    winners = [o for o in flat if o[0] == "granted"]
    assert len(winners) == 1, flat
    losers = [o for o in flat if o[0] != "granted"]
    assert losers == [("already", winners[0][1])] * 2
    ledger = Ledger(ledger_url)
    try:
        assert [r.id for r in ledger.live()] == [winners[0][1]]
        assert len(ledger.claimed_slots()) == 1
    finally:
        ledger.dispose()


def test_processes_reserving_mixed_profiles_never_overcommit(ledger_url: str) -> None:
    inventory = simulated_inventory(2)
    mix = ["3g.40gb", "1g.10gb", "2g.20gb", "1g.20gb", "4g.40gb", "7g.80gb", "1g.10gb"]
    plans = {
        tag: [(f"{tag}-user{i}", "", mix[(i + k) % len(mix)]) for i in range(8)]
        for k, tag in enumerate(("p1", "p2", "p3"))
    }
    outcomes = race_in_processes(ledger_url, 2, plans)
    assert granted_of(outcomes), "nothing was granted at all"
    ledger = Ledger(ledger_url)
    try:
        assert_consistent(ledger, inventory)
        assert len(ledger.live()) == len(granted_of(outcomes))
        # Nothing was released during the race, so the GPUs only filled up: a profile
        # refused at some moment must still be refused now (refusals were honest).
        refused_profiles = {
            requests[i][2]
            for tag, requests in plans.items()
            for i, o in enumerate(outcomes[tag])
            if o[0] == "refused"
        }
        holdings = ledger.holdings()
        for name in refused_profiles:
            assert isinstance(allocate(inventory, holdings, name), Refusal), name
        assert {o[0] for outs in outcomes.values() for o in outs} <= {"granted", "refused"}
    finally:
        ledger.dispose()


def test_many_threads_reserving_at_once_share_14_slots_exactly(ledger_url: str) -> None:
    inventory = simulated_inventory(2)
    threads, per_thread = 8, 3
    ledger = Ledger(ledger_url)
    start = threading.Barrier(threads)

    def work(t: int) -> list[AllocationRecord | Refusal]:
        start.wait(timeout=60)
        return [
            ledger.reserve(
                user=f"t{t}-u{i}",
                server_name="",
                image="base",
                slice_name="1g.10gb",
                inventory=inventory,
                epoch="epoch-1",
            )
            for i in range(per_thread)
        ]

    try:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            results = [r for rs in pool.map(work, range(threads)) for r in rs]
        granted = [r for r in results if isinstance(r, AllocationRecord)]
        refusals = [r for r in results if isinstance(r, Refusal)]
        assert len(granted) == 14 and len(refusals) == threads * per_thread - 14
        claimed = [(r.gpu_uuid, s) for r in granted for s in r.slots]
        assert len(set(claimed)) == 14
        assert sorted(r.id for r in ledger.live()) == sorted(r.id for r in granted)
        assert_consistent(ledger, inventory)
    finally:
        ledger.dispose()


def test_threads_racing_for_one_server_get_exactly_one_allocation(ledger_url: str) -> None:
    inventory = simulated_inventory(1)
    threads = 6
    ledger = Ledger(ledger_url)
    start = threading.Barrier(threads)

    def work(_: int) -> str:
        start.wait(timeout=60)
        try:
            got = ledger.reserve(
                user="alice",
                server_name="lab",
                image="base",
                slice_name="2g.20gb",
                inventory=inventory,
                epoch="epoch-1",
            )
        except ServerAlreadyHolds:
            return "already"
        return "granted" if isinstance(got, AllocationRecord) else "refused"

    try:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            outcomes = Counter(pool.map(work, range(threads)))
        assert outcomes == {"granted": 1, "already": threads - 1}
        assert len(ledger.live()) == 1 and len(ledger.claimed_slots()) == 2
    finally:
        ledger.dispose()


def test_threads_churning_reserve_and_release_leave_nothing_behind(ledger_url: str) -> None:
    inventory: Inventory = simulated_inventory(1)
    threads, rounds = 4, 6
    ledger = Ledger(ledger_url)
    start = threading.Barrier(threads)

    def work(t: int) -> int:
        start.wait(timeout=60)
        granted = 0
        for i in range(rounds):
            got = ledger.reserve(
                user=f"t{t}",
                server_name=str(i),
                image="base",
                slice_name="3g.40gb",
                inventory=inventory,
                epoch="epoch-1",
            )
            if isinstance(got, AllocationRecord):
                granted += 1
                assert got.start in (0, 4) and len(got.slots) == 4
                assert ledger.release(got.id, "churn") is True
        return granted

    try:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            total = sum(pool.map(work, range(threads)))
        assert 1 <= total <= threads * rounds
        assert ledger.live() == [] and ledger.claimed_slots() == []
        log = ledger.audit_log(limit=1000)
        assert sum(e["action"] == "reserve" for e in log) == total
        assert sum(e["action"] == "release" for e in log) == total
    finally:
        ledger.dispose()

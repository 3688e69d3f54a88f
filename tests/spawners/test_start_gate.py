"""The start gate: a site-set number of starts at a time, the rest in arrival order, each
told its place; leaving the line (a stop, a timeout) moves the others up."""

from __future__ import annotations

import asyncio

import pytest

from spawners.start_gate import StartGate, StartTimeout, simultaneous_starts


def test_auto_capacity_follows_the_host() -> None:
    assert simultaneous_starts("auto", cpus=2) == 4
    assert simultaneous_starts("auto", cpus=1) == 2
    assert simultaneous_starts(7, cpus=64) == 7


def test_every_spawner_configured_with_a_gate_shares_that_one_gate() -> None:
    # traitlets deep-copies config values into each instance: the gate must survive it.
    from traitlets.config import Config

    from spawners.mixin import SliceSpawnerMixin

    c = Config()
    gate = StartGate(3)
    c.SliceSpawnerMixin.start_gate = gate
    one, two = SliceSpawnerMixin(config=c), SliceSpawnerMixin(config=c)
    assert one.start_gate is gate and two.start_gate is gate


def test_a_gate_needs_room() -> None:
    with pytest.raises(ValueError):
        StartGate(0)


async def _start(gate: StartGate, name: str, log: list, release: asyncio.Event, places: dict):
    def told(place: int, starting: int) -> None:
        places.setdefault(name, []).append((place, starting))

    async with gate.turn(told):
        log.append(name)
        await release.wait()


def test_starts_beyond_capacity_wait_in_arrival_order_and_know_their_place() -> None:
    async def scenario() -> None:
        gate = StartGate(2)
        log: list[str] = []
        places: dict[str, list] = {}
        gates = {n: asyncio.Event() for n in "abcde"}
        tasks = []
        for name in "abcde":
            tasks.append(asyncio.create_task(_start(gate, name, log, gates[name], places)))
            await asyncio.sleep(0)
        await asyncio.sleep(0.01)
        assert log == ["a", "b"] and gate.starting == 2 and gate.waiting == 3
        assert places["c"] == [(1, 2)] and places["e"] == [(3, 2)]
        gates["b"].set()
        await asyncio.sleep(0.01)
        assert log == ["a", "b", "c"]
        assert places["e"] == [(3, 2), (2, 2)]
        for event in gates.values():
            event.set()
        await asyncio.gather(*tasks)
        assert log == ["a", "b", "c", "d", "e"]
        assert gate.starting == 0 and gate.waiting == 0

    asyncio.run(scenario())


def test_leaving_the_line_moves_the_others_up_and_frees_nothing_twice() -> None:
    async def scenario() -> None:
        gate = StartGate(1)
        log: list[str] = []
        places: dict[str, list] = {}
        hold, free = asyncio.Event(), asyncio.Event()
        first = asyncio.create_task(_start(gate, "a", log, hold, places))
        await asyncio.sleep(0)
        leaver = asyncio.create_task(_start(gate, "b", log, free, places))
        await asyncio.sleep(0)
        third = asyncio.create_task(_start(gate, "c", log, free, places))
        await asyncio.sleep(0.01)
        assert places["c"] == [(2, 1)]
        leaver.cancel()  # the user stopped a server that was still waiting
        await asyncio.sleep(0.01)
        assert places["c"] == [(2, 1), (1, 1)] and gate.waiting == 1
        hold.set()
        free.set()
        await asyncio.gather(first, third)
        assert log == ["a", "c"] and gate.starting == 0 and gate.waiting == 0

    asyncio.run(scenario())


def test_a_wait_longer_than_the_limit_ends_with_start_timeout() -> None:
    async def scenario() -> None:
        gate = StartGate(1)
        hold = asyncio.Event()
        first = asyncio.create_task(_start(gate, "a", [], hold, {}))
        await asyncio.sleep(0)
        with pytest.raises(StartTimeout):
            async with gate.turn(lambda place, starting: None, timeout=0.05):
                raise AssertionError("no turn should have come")
        assert gate.waiting == 0
        hold.set()
        await first
        async with gate.turn(lambda place, starting: None, timeout=0.05):
            assert gate.starting == 1

    asyncio.run(scenario())

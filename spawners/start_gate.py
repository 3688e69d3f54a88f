"""Turns for the busy part of a server start, first come first served.

Booting a server (the engine's start, then its Python imports until it answers) is what
saturates a hub host when a class logs in at once: sixty servers booting together on
two cores each take minutes, and all of them run into their timeouts. The gate lets a
site-set number boot at a time; the others wait in line, and each is told its place."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import deque
from collections.abc import AsyncIterator, Callable

STARTS_PER_CPU = 2
"""Simultaneous starts per CPU core when the site says ``auto``: a booting server is
mostly one core busy for one to two seconds, so two per core keeps every core busy
while the queue moves."""


def simultaneous_starts(setting: int | str, cpus: int | None = None) -> int:
    """The gate's capacity for a site's ``hub.simultaneous_starts`` (a number, or ``auto``)."""
    if setting != "auto":
        return int(setting)
    return max(2, STARTS_PER_CPU * (cpus if cpus is not None else os.cpu_count() or 1))


class StartTimeout(Exception):
    """No turn came within the wait limit."""


class StartGate:
    """At most ``capacity`` starts at a time, the rest in arrival order."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("a start gate needs room for at least one start")
        self.capacity = capacity
        self._starting = 0
        self._line: deque[object] = deque()
        self._changed = asyncio.Condition()

    def __deepcopy__(self, memo: dict) -> StartGate:
        # traitlets deep-copies config values into each spawner; the gate must stay one.
        return self

    @property
    def starting(self) -> int:
        return self._starting

    @property
    def waiting(self) -> int:
        return len(self._line)

    @contextlib.asynccontextmanager
    async def turn(
        self, on_wait: Callable[[int, int], None], timeout: float | None = None
    ) -> AsyncIterator[None]:
        """Hold one of the gate's places for the body. While waiting, ``on_wait(place,
        starting)`` is called whenever the place in line changes (1: next). Raises
        StartTimeout when no place came within ``timeout`` seconds."""
        ticket = object()
        async with self._changed:
            self._line.append(ticket)
            try:
                async with asyncio.timeout(timeout):
                    await self._wait_for_front(ticket, on_wait)
            except BaseException as e:
                # Leaving the line (timed out, cancelled by a stop) moves everyone behind up.
                self._line.remove(ticket)
                self._changed.notify_all()
                if isinstance(e, TimeoutError):
                    raise StartTimeout from None
                raise
            self._line.popleft()
            self._starting += 1
            self._changed.notify_all()
        try:
            yield
        finally:
            async with self._changed:
                self._starting -= 1
                self._changed.notify_all()

    async def _wait_for_front(self, ticket: object, on_wait: Callable[[int, int], None]) -> None:
        told = 0
        while self._line[0] is not ticket or self._starting >= self.capacity:
            place = self._line.index(ticket) + 1
            if place != told:
                on_wait(place, self._starting)
                told = place
            await self._changed.wait()

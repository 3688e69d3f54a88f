"""The waitlist's decisions, pure: the fair order of queued starts, which of them may
start now, when each may be expected to start, and when one expires.

Order: first come, first served within fair shares across parties (a team, or a user in
no team). The party holding the least GPU share (what it holds plus what it has been given
earlier in the order) goes next with its earliest entry, so a team holding more than its
share waits behind a team holding less; ties go to the earlier entry. Starting: each entry
in that order is placed, by the allocator the ledger reserves with, on what the entries
before it would take; an entry that does not fit does not hold back a later one that does
(a smaller slice may pass a larger one; expiry bounds the larger one's wait)."""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from statistics import median

from .allocator import PlacementStrategy, allocate, free_counts
from .demand import PRIOR_ONLY, RequestMix
from .model import Holding, Inventory, Placement
from .profiles import SLICES_BY_NAME

MIN_OBSERVED_SESSIONS = 3
"""Ended sessions needed before their lengths count in an estimate (else only the
running servers' session limits do)."""


@dataclass(frozen=True)
class Waiting:
    """One queued start as the decisions see it."""

    id: int
    """Arrival order: a lower id came first."""
    user: str
    team: str | None
    slice_name: str
    enqueued_at: float
    expires_at: float


@dataclass(frozen=True)
class Running:
    """A held slice and when it is expected to be given back (None: no idea)."""

    holding: Holding
    expected_end: float | None


def party(team: str | None, user: str) -> str:
    """Who a fair share belongs to: the team, or a user in no team on their own."""
    return f"team {team}" if team is not None else f"user {user}"


def weight(slice_name: str) -> float:
    """The GPU share a slice takes (what fair shares are counted in); 0 for cpu."""
    profile = SLICES_BY_NAME.get(slice_name)
    return float(profile.gpu_hour_weight) if profile is not None else 0.0


def fair_order(waiting: Iterable[Waiting], held: Mapping[str, float]) -> list[Waiting]:
    """The queue in the order its entries get capacity. ``held``: the GPU share each
    party holds now (``party()`` keys; absent: none)."""
    by_party: dict[str, list[Waiting]] = {}
    for entry in sorted(waiting, key=lambda w: w.id):
        by_party.setdefault(party(entry.team, entry.user), []).append(entry)
    # Shares are sums of sevenths and such: rounded, so that equal holdings tie exactly.
    heap = [(_share(held.get(p, 0.0)), entries[0].id, p) for p, entries in by_party.items()]
    heapq.heapify(heap)
    nexts = {p: 0 for p in by_party}
    out: list[Waiting] = []
    while heap:
        share, _, p = heapq.heappop(heap)
        entries = by_party[p]
        entry = entries[nexts[p]]
        out.append(entry)
        nexts[p] += 1
        if nexts[p] < len(entries):
            given = _share(share + weight(entry.slice_name))
            heapq.heappush(heap, (given, entries[nexts[p]].id, p))
    return out


def _share(value: float) -> float:
    return round(value, 9)


def starts_now(
    order: Sequence[Waiting],
    inventory: Inventory,
    holdings: Iterable[Holding],
    strategy: PlacementStrategy = PlacementStrategy.FRAGMENTATION_AWARE,
    mix: RequestMix = PRIOR_ONLY,
) -> dict[int, Placement]:
    """The entries that may start now (by id), each with its placement on what the
    entries before it in ``order`` take."""
    held = list(holdings)
    out: dict[int, Placement] = {}
    # What is free gates the allocator: on a full fleet (the usual case while anyone
    # waits) one count answers for the whole queue.
    free = free_counts(inventory, held)
    for entry in order:
        if free.get(entry.slice_name, 0) == 0:
            continue
        decision = allocate(inventory, held, entry.slice_name, strategy, mix)
        if isinstance(decision, Placement):
            out[entry.id] = decision
            if decision.gpu_uuid is not None:
                held.append(decision.as_holding())
                free = free_counts(inventory, held)
    return out


def position(order: Sequence[Waiting], entry_id: int) -> int:
    """1 for the first in line; 0 when the entry is not in the queue."""
    return next((i + 1 for i, e in enumerate(order) if e.id == entry_id), 0)


def expected_end(
    started_at: float,
    limit_ends_at: float | None,
    observed: Sequence[float],
    now: float,
) -> float | None:
    """When a running session is expected to end: at its session limit, or earlier by
    the site's ended sessions that lasted longer than it has so far (the median of what
    they had left at its age). None when neither says anything."""
    age = max(0.0, now - started_at)
    longer = [length - age for length in observed if length > age]
    ends: list[float] = []
    if len(observed) >= MIN_OBSERVED_SESSIONS and longer:
        ends.append(now + median(longer))
    if limit_ends_at is not None:
        ends.append(max(now, limit_ends_at))
    return min(ends) if ends else None


def estimated_start(
    order: Sequence[Waiting],
    entry_id: int,
    inventory: Inventory,
    running: Sequence[Running],
    now: float,
    observed: Sequence[float] = (),
    strategy: PlacementStrategy = PlacementStrategy.FRAGMENTATION_AWARE,
    mix: RequestMix = PRIOR_ONLY,
) -> float | None:
    """When the entry may start (see estimated_starts); None: no end in sight. The whole
    queue counts: a smaller entry behind may take, earlier, room this one waits for."""
    return estimated_starts(order, inventory, running, now, observed, strategy, mix).get(entry_id)


def estimated_starts(
    order: Sequence[Waiting],
    inventory: Inventory,
    running: Sequence[Running],
    now: float,
    observed: Sequence[float] = (),
    strategy: PlacementStrategy = PlacementStrategy.FRAGMENTATION_AWARE,
    mix: RequestMix = PRIOR_ONLY,
) -> dict[int, float | None]:
    """When each entry may start, in one replay: the running slices are given back at
    their expected ends, in turn; at each moment the queue starts what fits (in order),
    and those sessions run for the typical length (the median of ``observed``) if there
    is one. None: no end in sight (nothing expected to end, or it never fits)."""
    typical = median(observed) if len(observed) >= MIN_OBSERVED_SESSIONS else None
    out: dict[int, float | None] = dict.fromkeys((e.id for e in order), None)
    live = {i: r.holding for i, r in enumerate(running)}
    ends = [(r.expected_end, i) for i, r in enumerate(running) if r.expected_end is not None]
    heapq.heapify(ends)
    queue = list(order)
    at, next_key = now, len(running)
    while queue:
        started = starts_now(queue, inventory, live.values(), strategy, mix)
        for entry in [e for e in queue if e.id in started]:
            out[entry.id] = at
            queue.remove(entry)
            placement = started[entry.id]
            if placement.gpu_uuid is not None:
                live[next_key] = placement.as_holding()
                if typical is not None:
                    heapq.heappush(ends, (at + typical, next_key))
                next_key += 1
        if not ends:
            break
        at, key = heapq.heappop(ends)
        live.pop(key, None)
    return out


def minutes_until(at: float, now: float) -> int:
    """Whole minutes to wait, rounded up, at least 1 (an estimate is never 'now')."""
    return max(1, math.ceil((at - now) / 60))


def expires_at(enqueued_at: float, expire_after: float) -> float:
    return enqueued_at + expire_after


def expired(entry: Waiting, now: float) -> bool:
    return now >= entry.expires_at


class QueueCode(StrEnum):
    """Why a queued start ended without a slice (the refusal's stable code)."""

    EXPIRED = "queue-expired"
    LEFT = "queue-left"

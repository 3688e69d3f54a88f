"""Lab-session reservations, the pure decisions (spawners/core/reservations.py): what a
window keeps from outsiders, which instance a member takes, when unclaimed ones return,
and which new reservations are refused with what the window can hold."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from spawners.core.allocator import allocate, free_counts
from spawners.core.model import Holding, Placement, Refusal
from spawners.core.reservations import (
    Reservation,
    booking,
    check_new,
    kept_now,
    placing_order,
    respects,
    settled,
)
from spawners.inventory.simulated import simulated_inventory

ONE = simulated_inventory(1)
TWO = simulated_inventory(2)
H = 3600.0


def lab(
    rid: int = 1,
    count: int = 4,
    slice_name: str = "1g.10gb",
    start: float = 10 * H,
    end: float = 12 * H,
    course: str = "ml101",
    grace: float = 600.0,
) -> Reservation:
    return Reservation(rid, course, slice_name, count, start, end, grace)


def take(inventory, holdings: list[Holding], slice_name: str, team: str | None, kept) -> object:
    """A start as the ledger makes it: the reserved instance, else placed around."""
    b = booking(kept, slice_name, team)
    if b.take is not None:
        return b.take
    return allocate(inventory, [*holdings, *b.around], slice_name)


def test_nothing_is_kept_before_the_window_or_after_the_grace() -> None:
    r = lab()
    assert kept_now([r], {}, ONE, [], 10 * H - 1) == []
    [k] = kept_now([r], {}, ONE, [], 10 * H)
    assert (len(k.placements), k.unplaced) == (4, 0)
    assert kept_now([r], {}, ONE, [], 10 * H + 599)[0].placements
    assert kept_now([r], {}, ONE, [], 10 * H + 600) == []  # the grace is over
    assert kept_now([lab(grace=4 * H)], {}, ONE, [], 12 * H) == []  # the window ended


def test_outsiders_place_around_the_kept_instances_members_take_them() -> None:
    kept = kept_now([lab()], {}, ONE, [], 10 * H)
    b = booking(kept, "1g.10gb", "startup-alpha")
    assert b.take is None and len(b.around) == 4
    # 7 slots less 4 kept: an outsider sees 3 free 1g.10gb and no 4g.40gb at all.
    free = free_counts(ONE, b.around)
    assert free["1g.10gb"] == 3
    assert free["4g.40gb"] == 0
    assert isinstance(allocate(ONE, b.around, "4g.40gb"), Refusal)
    mine = booking(kept, "1g.10gb", "ml101")
    assert mine.reservation_id == 1 and isinstance(mine.take, Placement)
    assert len(mine.around) == 3
    assert mine.take.as_holding() not in mine.around
    # A member asking for another profile is an outsider to this reservation.
    assert booking(kept, "2g.20gb", "ml101").take is None


def test_four_reserved_go_to_members_and_outsiders_get_the_rest() -> None:
    held: list[Holding] = []
    r = lab()
    got: list[str] = []
    for who in ["alpha", "alpha", "alpha", "alpha", "ml101", "ml101", "ml101", "ml101", "ml101"]:
        claims = {1: sum(1 for w in got if w == "ml101")}
        decision = take(ONE, held, "1g.10gb", who, kept_now([r], claims, ONE, held, 10 * H))
        if isinstance(decision, Placement):
            held.append(decision.as_holding())
            got.append(who)
    # Three outsiders fit beside the four kept; all four members get theirs; the GPU is full.
    assert got.count("alpha") == 3 and got.count("ml101") == 4
    assert len({s for h in held for s in h.slots}) == 7


def test_claimed_instances_are_not_kept_again_and_a_freed_claim_returns_in_grace() -> None:
    r = lab()
    assert len(kept_now([r], {1: 3}, ONE, [], 10 * H)[0].placements) == 1
    assert kept_now([r], {1: 4}, ONE, [], 10 * H)[0].placements == ()


def test_servers_running_at_the_start_are_not_evicted() -> None:
    # Five 1g.10gb run when the window opens: two of the four reserved fit beside them.
    held: list[Holding] = []
    for _ in range(5):
        p = allocate(ONE, held, "1g.10gb")
        assert isinstance(p, Placement)
        held.append(p.as_holding())
    [k] = kept_now([lab()], {}, ONE, held, 10 * H)
    assert (len(k.placements), k.unplaced) == (2, 2)
    # One server stops: its room is kept for the course before an outsider can take it.
    held.pop()
    [k] = kept_now([lab()], {}, ONE, held, 10 * H)
    assert (len(k.placements), k.unplaced) == (3, 1)
    assert isinstance(take(ONE, held, "1g.10gb", "alpha", [k]), Refusal)


def test_instances_of_several_reservations_are_placed_to_fit_together() -> None:
    big = lab(1, count=1, slice_name="3g.40gb")
    small = lab(2, count=4, slice_name="1g.10gb", course="cs2")
    assert [r.id for r in placing_order([small, big])] == [1, 2]
    kept = kept_now([small, big], {}, ONE, [], 10 * H)
    slots = [s for k in kept for p in k.placements for s in p.slots]
    assert len(slots) == len(set(slots)) == 8 and all(k.unplaced == 0 for k in kept)


def test_a_reservation_that_fits_is_accepted() -> None:
    assert check_new(ONE, [], lab(count=7)) is None
    assert check_new(ONE, [lab(1, count=3)], lab(2, count=4)) is None
    # Windows that do not overlap do not compete.
    assert check_new(ONE, [lab(1, count=7)], lab(2, count=7, start=12 * H, end=13 * H)) is None


def test_overlapping_reservations_that_cannot_fit_are_refused_with_what_fits() -> None:
    refusal = check_new(ONE, [lab(1, count=5)], lab(2, count=4, start=11 * H, end=13 * H))
    assert refusal is not None and refusal.most == 2 and refusal.at == 11 * H
    assert refusal.message == (
        "This window can hold at most 2 x 1g.10gb beside the other reservations."
    )
    full = check_new(ONE, [lab(1, count=1, slice_name="7g.80gb")], lab(2, count=1))
    assert full is not None and full.most == 0
    assert full.message == "This window can hold no 1g.10gb beside the other reservations."
    # A 3g.40gb beside four 1g.10gb fits (slots 4-7 and 0-3: placed largest first), not
    # beside five.
    assert check_new(ONE, [lab(1, count=4)], lab(2, count=1, slice_name="3g.40gb")) is None
    assert check_new(ONE, [lab(1, count=5)], lab(2, count=1, slice_name="3g.40gb")) is not None


def test_the_busiest_moment_of_the_window_decides() -> None:
    # Two earlier reservations that never overlap each other, and a long new one over
    # both: each moment holds one of them beside the new one.
    a = lab(1, count=4, start=10 * H, end=11 * H)
    b = lab(2, count=5, start=11 * H, end=12 * H)
    refusal = check_new(ONE, [a, b], lab(3, count=3, start=10 * H, end=12 * H))
    assert refusal is not None and (refusal.most, refusal.at) == (2, 11 * H)
    assert check_new(ONE, [a, b], lab(3, count=2, start=10 * H, end=12 * H)) is None
    assert check_new(TWO, [a, b], lab(3, count=9, start=10 * H, end=12 * H)) is None


PROFILES = ["1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb"]


@st.composite
def situations(draw):
    """GPUs with some slices held, and up to three reservations in their grace period."""
    inventory = simulated_inventory(draw(st.integers(1, 2)))
    held: list[Holding] = []
    for name in draw(st.lists(st.sampled_from(PROFILES), max_size=4)):
        p = allocate(inventory, held, name)
        if isinstance(p, Placement):
            held.append(p.as_holding())
    shapes = draw(
        st.lists(st.tuples(st.sampled_from(PROFILES), st.integers(1, 3)), min_size=1, max_size=3)
    )
    reservations = [
        Reservation(i + 1, f"c{i}", name, n, 0.0, 100.0, 50.0) for i, (name, n) in enumerate(shapes)
    ]
    return inventory, held, reservations


def kept_count(reservations, claims, inventory, held) -> int:
    return sum(len(k.placements) for k in kept_now(reservations, claims, inventory, held, 1.0))


def test_an_outsider_that_would_leave_the_next_arrangement_short_is_refused() -> None:
    # Found by the property below: four 1g.10gb and a 1g.20gb kept; an outsider's 1g.20gb
    # fits around them, but placed again the kept 1g.20gb moves and one 1g.10gb is left
    # only slot 7, where none may start.
    reservations = [
        lab(1, count=1, course="c0"),
        lab(2, count=3, course="c1"),
        lab(3, count=1, slice_name="1g.20gb", course="c2"),
    ]
    kept = kept_now(reservations, {}, ONE, [], 10 * H)
    b = booking(kept, "1g.20gb", "outsiders")
    placed = allocate(ONE, list(b.around), "1g.20gb")
    assert isinstance(placed, Placement)
    after = kept_now(reservations, {}, ONE, [placed.as_holding()], 10 * H)
    assert sum(len(k.placements) for k in after) < b.placed == 5
    assert not respects(b, ONE, [], placed, 10 * H)
    # A 1g.10gb in the one slot left is fine.
    small = allocate(ONE, list(b.around), "1g.10gb")
    assert isinstance(small, Placement) and respects(
        booking(kept, "1g.10gb", None), ONE, [], small, 10 * H
    )


@settings(max_examples=300, deadline=None)
@given(situations(), st.sampled_from(PROFILES))
def test_an_outsider_the_guard_lets_in_never_shrinks_what_is_kept(situation, asked: str) -> None:
    inventory, held, reservations = situation
    kept = kept_now(reservations, {}, inventory, held, 1.0)
    b = booking(kept, asked, "outsiders")
    placed = allocate(inventory, [*held, *b.around], asked)
    if isinstance(placed, Placement) and respects(b, inventory, held, placed, 1.0):
        after = kept_count(reservations, {}, inventory, [*held, placed.as_holding()])
        assert after == kept_count(reservations, {}, inventory, held)


@settings(max_examples=300, deadline=None)
@given(situations(), st.integers(0, 2))
def test_a_member_takes_exactly_one_kept_slice(situation, which: int) -> None:
    inventory, held, reservations = situation
    r = reservations[which % len(reservations)]
    kept = kept_now(reservations, {}, inventory, held, 1.0)
    b = settled(booking(kept, r.slice_name, r.course), kept, inventory, held, 1.0)
    if b.take is None:
        return
    after = kept_count(reservations, {b.reservation_id: 1}, inventory, [*held, b.take.as_holding()])
    assert after == kept_count(reservations, {}, inventory, held) - 1

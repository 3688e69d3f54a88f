"""The waitlist's pure decisions: fair order across teams, who may start now, the
estimate of a start, expiry."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from spawners.core.allocator import allocate
from spawners.core.model import Holding, Placement
from spawners.core.waitlist import (
    MIN_OBSERVED_SESSIONS,
    Running,
    Waiting,
    estimated_start,
    estimated_starts,
    expected_end,
    expired,
    expires_at,
    fair_order,
    minutes_until,
    party,
    position,
    starts_now,
    weight,
)
from spawners.inventory.simulated import simulated_inventory

ONE_GPU = simulated_inventory(1)


def waiting(i: int, user: str, team: str | None, slice_name: str = "1g.10gb") -> Waiting:
    return Waiting(i, user, team, slice_name, enqueued_at=100.0 + i, expires_at=1000.0 + i)


def full_gpu() -> list[Holding]:
    """One simulated H100 with seven 1g.10gb held."""
    held: list[Holding] = []
    for _ in range(7):
        p = allocate(ONE_GPU, held, "1g.10gb")
        assert isinstance(p, Placement)
        held.append(p.as_holding())
    return held


def ids(order: list[Waiting]) -> list[int]:
    return [w.id for w in order]


def test_first_come_first_served_within_a_team() -> None:
    queue = [waiting(3, "c", "a"), waiting(1, "a", "a"), waiting(2, "b", "a")]
    assert ids(fair_order(queue, {})) == [1, 2, 3]


def test_a_team_holding_more_waits_behind_a_team_holding_less() -> None:
    queue = [waiting(1, "a1", "big"), waiting(2, "a2", "big"), waiting(3, "b1", "small")]
    held = {party("big", "x"): 3 / 7, party("small", "y"): 1 / 7}
    assert ids(fair_order(queue, held)) == [3, 1, 2]


def test_equal_holdings_summed_differently_tie_to_the_earlier_entry() -> None:
    # 4/7 held against 3 x 1/7 held plus 1/7 given: a tie, so the earlier entry first.
    queue = [waiting(1, "a1", "a"), waiting(2, "b1", "b"), waiting(3, "b2", "b")]
    held = {party("a", "x"): 4 / 7, party("b", "y"): 1 / 7 + 1 / 7 + 1 / 7}
    assert ids(fair_order(queue, held)) == [2, 1, 3]


def test_teams_alternate_by_what_the_order_gives_them() -> None:
    # Equal holdings: the earlier entry first, then whoever holds less after it.
    queue = [
        waiting(1, "a1", "a"),
        waiting(2, "a2", "a"),
        waiting(3, "a3", "a"),
        waiting(4, "b1", "b"),
        waiting(5, "b2", "b"),
    ]
    assert ids(fair_order(queue, {})) == [1, 4, 2, 5, 3]


def test_a_user_in_no_team_is_a_party_of_their_own() -> None:
    queue = [waiting(1, "solo", None), waiting(2, "solo", None), waiting(3, "other", None)]
    assert ids(fair_order(queue, {})) == [1, 3, 2]
    assert party(None, "solo") != party("solo", "x")


def test_position_is_one_based_and_zero_when_absent() -> None:
    order = fair_order([waiting(5, "a", "t"), waiting(7, "b", "t")], {})
    assert position(order, 5) == 1 and position(order, 7) == 2 and position(order, 9) == 0


def test_nothing_starts_on_a_full_gpu_and_one_starts_when_a_slice_frees() -> None:
    held = full_gpu()
    order = [waiting(1, "a", "t"), waiting(2, "b", "t")]
    assert starts_now(order, ONE_GPU, held) == {}
    started = starts_now(order, ONE_GPU, held[1:])
    assert list(started) == [1]
    assert started[1].slots == held[0].slots


def test_a_smaller_request_behind_a_larger_one_that_does_not_fit_starts() -> None:
    held = full_gpu()[1:]  # one 1g.10gb slot free
    order = [waiting(1, "a", "t", "3g.40gb"), waiting(2, "b", "t", "1g.10gb")]
    assert list(starts_now(order, ONE_GPU, held)) == [2]


def test_expected_end_is_the_session_limit_or_what_longer_sessions_had_left() -> None:
    assert expected_end(0.0, None, [], now=50.0) is None
    assert expected_end(0.0, 600.0, [], now=50.0) == 600.0
    # A limit already passed: it is expected to end now, not in the past.
    assert expected_end(0.0, 10.0, [], now=50.0) == 50.0
    observed = [100.0, 200.0, 300.0, 400.0]
    # Age 150: the sessions that lasted longer had 50, 150 and 250 left; median 150.
    assert expected_end(0.0, None, observed, now=150.0) == 300.0
    assert expected_end(0.0, 200.0, observed, now=150.0) == 200.0
    # Too few ended sessions to learn from.
    assert expected_end(0.0, None, observed[: MIN_OBSERVED_SESSIONS - 1], now=10.0) is None


def test_the_estimate_follows_the_order_of_expected_ends() -> None:
    held = full_gpu()
    running = [Running(h, 100.0 * (i + 1)) for i, h in enumerate(held)]
    order = fair_order([waiting(i, f"u{i}", "t") for i in (1, 2, 3)], {})
    etas = [estimated_start(order, w.id, ONE_GPU, running, now=0.0) for w in order]
    assert etas == [100.0, 200.0, 300.0]


def test_the_estimate_counts_sessions_the_queue_starts_at_the_typical_length() -> None:
    # One slot, held until 100; three queued, typical session 50: 100, 150, 200.
    held = full_gpu()
    running = [Running(h, None) for h in held[1:]] + [Running(held[0], 100.0)]
    order = fair_order([waiting(i, f"u{i}", "t") for i in (1, 2, 3)], {})
    observed = [50.0] * MIN_OBSERVED_SESSIONS
    etas = [estimated_start(order, w.id, ONE_GPU, running, 0.0, observed) for w in order]
    assert etas == [100.0, 150.0, 200.0]


def test_no_estimate_when_nothing_is_expected_to_end() -> None:
    running = [Running(h, None) for h in full_gpu()]
    order = [waiting(1, "a", "t")]
    assert estimated_start(order, 1, ONE_GPU, running, now=0.0) is None


def test_an_entry_that_fits_now_is_estimated_now() -> None:
    order = [waiting(1, "a", "t")]
    assert estimated_start(order, 1, ONE_GPU, [], now=42.0) == 42.0


def test_minutes_round_up_and_are_never_zero() -> None:
    assert minutes_until(0.0, 0.0) == 1
    assert minutes_until(61.0, 0.0) == 2
    assert minutes_until(120.0, 0.0) == 2


def test_expiry() -> None:
    entry = Waiting(1, "a", None, "1g.10gb", 100.0, expires_at(100.0, 30.0))
    assert not expired(entry, 129.9) and expired(entry, 130.0)


def test_weights_count_the_gpu_share() -> None:
    assert weight("7g.80gb") == 1.0 and weight("cpu") == 0.0
    assert abs(weight("1g.10gb") - 1 / 7) < 1e-9


entries = st.lists(
    st.tuples(
        st.sampled_from(["u1", "u2", "u3", "u4"]),
        st.sampled_from(["a", "b", "c", None]),
        st.sampled_from(["1g.10gb", "2g.20gb", "3g.40gb"]),
    ),
    max_size=12,
)
holdings = st.dictionaries(
    st.sampled_from([party(t, "u1") for t in ("a", "b", "c")]), st.floats(0, 2), max_size=3
)


@settings(max_examples=200, deadline=None)
@given(entries, holdings)
def test_fair_order_properties(raw: list, held: dict) -> None:
    queue = [waiting(i + 1, u, t, s) for i, (u, t, s) in enumerate(raw)]
    order = fair_order(queue, held)
    # A permutation of the queue.
    assert sorted(ids(order)) == ids(queue)
    # First come first served within each party.
    for p in {party(w.team, w.user) for w in queue}:
        mine = [w.id for w in order if party(w.team, w.user) == p]
        assert mine == sorted(mine)
    # Whenever an entry goes next, its party held (with what it was given) no more than
    # any other party still waiting.
    given_: dict[str, float] = dict(held)
    for i, w in enumerate(order):
        p = party(w.team, w.user)
        others = {party(x.team, x.user) for x in order[i:]} - {p}
        for o in others:
            assert given_.get(p, 0.0) <= given_.get(o, 0.0) + 1e-9
        given_[p] = given_.get(p, 0.0) + weight(w.slice_name)


@settings(max_examples=100, deadline=None)
@given(entries, st.integers(0, 7))
def test_what_starts_now_fits_together(raw: list, freed: int) -> None:
    held = full_gpu()[freed:]
    queue = [waiting(i + 1, u, t, s) for i, (u, t, s) in enumerate(raw)]
    started = starts_now(fair_order(queue, {}), ONE_GPU, held)
    slots = [s for h in held for s in h.slots]
    for placement in started.values():
        slots += list(placement.slots)
    assert len(slots) == len(set(slots))  # nothing double-booked
    # The estimate of an entry that starts now is now.
    running = [Running(h, None) for h in held]
    for entry_id in started:
        assert estimated_start(fair_order(queue, {}), entry_id, ONE_GPU, running, 5.0) == 5.0


@settings(max_examples=50, deadline=None)
@given(entries, st.integers(0, 7), st.lists(st.floats(1, 500), max_size=5))
def test_one_replay_estimates_every_entry_in_order_of_the_queue(
    raw: list, freed: int, observed: list
) -> None:
    held = full_gpu()[freed:]
    running = [Running(h, 50.0 * (i + 1)) for i, h in enumerate(held)]
    order = fair_order([waiting(i + 1, u, t, s) for i, (u, t, s) in enumerate(raw)], {})
    together = estimated_starts(order, ONE_GPU, running, 0.0, observed)
    for entry in order:
        assert together[entry.id] == estimated_start(
            order, entry.id, ONE_GPU, running, 0.0, observed
        )
    # Nobody is estimated before someone ahead of them of the same slice.
    for i, a in enumerate(order):
        for b in order[i + 1 :]:
            if a.slice_name == b.slice_name and together[b.id] is not None:
                assert together[a.id] is not None and together[a.id] <= together[b.id]

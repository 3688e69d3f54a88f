"""The request mix placement is scored against: the prior, the site's history, the
worth of room for a profile."""

from __future__ import annotations

import pytest

from spawners.core.demand import (
    PRIOR,
    PRIOR_ONLY,
    PRIOR_WEIGHT,
    RequestMix,
    room_value,
    shares,
)
from spawners.core.profiles import CATALOGUE_TABLES, catalogue_table

H100 = catalogue_table("h100-80gb")
H200 = catalogue_table("h200-141gb")


@pytest.mark.parametrize("key", sorted(CATALOGUE_TABLES))
def test_the_prior_gives_every_model_the_same_shares_per_profile_class(key: str) -> None:
    table = catalogue_table(key)
    got = shares((table,), PRIOR_ONLY)
    assert sum(got.values()) == pytest.approx(1.0)
    # The profiles of a table are listed smallest first, as the prior's classes are.
    assert [got[p.name] for p in table.profiles] == pytest.approx([s for _, s in PRIOR])


def test_history_draws_the_shares_away_from_the_prior() -> None:
    got = shares((H100,), RequestMix.observed({"2g.20gb": 900}))
    assert got["2g.20gb"] == pytest.approx((PRIOR_WEIGHT * 0.15 + 900) / (PRIOR_WEIGHT + 900))
    assert got["7g.80gb"] == pytest.approx(PRIOR_WEIGHT * 0.05 / (PRIOR_WEIGHT + 900))
    assert sum(got.values()) == pytest.approx(1.0)


def test_requests_for_slices_the_fleet_lacks_do_not_count() -> None:
    mix = RequestMix.observed({"1g.18gb": 500, "cpu": 500, "mps.10gb": 10})
    assert shares((H100,), mix) == pytest.approx(shares((H100,), PRIOR_ONLY))
    mixed = shares((H100, H200), mix)
    assert mixed["1g.18gb"] > mixed["1g.10gb"]
    assert sum(mixed.values()) == pytest.approx(1.0)


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_a_count_that_is_not_a_whole_number_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="whole number >= 0"):
        RequestMix.observed({"1g.10gb": bad})  # type: ignore[dict-item]


def test_equal_histories_are_one_mix() -> None:
    a = RequestMix.observed({"1g.10gb": 3, "3g.40gb": 1, "4g.40gb": 0})
    b = RequestMix.observed({"3g.40gb": 1, "1g.10gb": 3})
    assert a == b and hash(a) == hash(b) and a.total == 4


def test_the_last_room_for_a_scarce_profile_is_worth_the_most() -> None:
    share, gpus = 0.05, 8
    values = [room_value(n, share, gpus) for n in range(6)]
    assert values[0] == 0.0
    assert values == sorted(values) and values[-1] < 1.0
    steps = [b - a for a, b in zip(values, values[1:], strict=False)]
    assert steps == sorted(steps, reverse=True)  # each more room is worth less
    # Losing one of many 1g.10gb places costs next to nothing.
    assert room_value(40, 0.4, 8) - room_value(39, 0.4, 8) < 1e-4
    assert room_value(3, 0.0, 8) == 0.0

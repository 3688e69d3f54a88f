"""Right-sizing advice: next slice up after an OOM, a smaller one after light use."""

from __future__ import annotations

import pytest

from extensions.widgets.advice import MIN_SESSION_S, after_oom, after_session

GB = 10**9


@pytest.mark.parametrize(
    ("current", "up"),
    [
        ("1g.10gb", "1g.20gb"),
        ("1g.20gb", "3g.40gb"),
        ("2g.20gb", "3g.40gb"),
        ("3g.40gb", "7g.80gb"),
        ("4g.40gb", "7g.80gb"),
        ("7g.80gb", None),
        ("mps.10gb", "mps.20gb"),
        ("mps.40gb", "gpu"),
        ("gpu", None),
        ("cpu", None),
        ("nonsense", None),
    ],
)
def test_next_slice_up(current: str, up: str | None) -> None:
    advice = after_oom(current)
    assert (advice.slice if advice else None) == up
    if advice:
        assert advice.direction == "up"
        assert current in advice.reason


def test_next_slice_up_respects_what_the_team_may_use() -> None:
    assert after_oom("1g.10gb", allowed=["1g.10gb", "2g.20gb", "3g.40gb"]).slice == "2g.20gb"
    assert after_oom("1g.10gb", allowed=["1g.10gb"]) is None


def test_light_session_gets_the_cheapest_slice_that_holds_its_peak() -> None:
    advice = after_session("3g.40gb", 6 * GB, 3600, mean_utilisation_percent=10)
    assert advice.slice == "1g.10gb"
    assert advice.direction == "down"
    # 9 GB does not fit 80% of a 1g.10gb (8 GB): the next cheapest that does.
    assert after_session("3g.40gb", 9 * GB, 3600).slice == "1g.20gb"


def test_busy_session_keeps_its_compute() -> None:
    # Busy on a 3g.40gb: nothing cheaper has 3 compute slices.
    assert after_session("3g.40gb", 6 * GB, 3600, mean_utilisation_percent=90) is None
    assert after_session("2g.20gb", 3 * GB, 3600, mean_utilisation_percent=90) is None
    assert after_session("7g.80gb", 3 * GB, 3600, mean_utilisation_percent=90) is None
    assert after_session("7g.80gb", 3 * GB, 3600, mean_utilisation_percent=20).slice == "1g.10gb"


def test_no_advice_when_the_slice_was_used_or_the_session_was_short() -> None:
    assert after_session("1g.10gb", 1 * GB, 3600) is None  # already the smallest
    assert after_session("3g.40gb", 30 * GB, 3600) is None
    assert after_session("3g.40gb", 1 * GB, MIN_SESSION_S - 1) is None
    assert after_session("cpu", 0, 3600) is None
    assert after_session("mps.40gb", 5 * GB, 3600).slice == "mps.10gb"

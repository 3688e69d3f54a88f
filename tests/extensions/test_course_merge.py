"""The nbgitpuller rule as a pure plan: a pull never overwrites a student's edit."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from extensions.courses.merge import Action, next_state, plan_pull


def actions(published, last, disk):
    return {s.path: s.action for s in plan_pull(published, last, disk)}


def test_each_case() -> None:
    published = {
        "new": "n1",
        "gone": "g2",
        "same": "s2",
        "clean": "c2",
        "edited": "e2",
        "own": "o2",
    }
    last = {"gone": "g1", "same": "s1", "clean": "c1", "edited": "e1", "dropped": "d1"}
    disk = {"gone": None, "same": "s2", "clean": "c1", "edited": "mine", "own": "student"}
    assert actions(published, last, disk) == {
        "new": Action.CREATE,
        "gone": Action.RESTORE,
        "same": Action.UNCHANGED,
        "clean": Action.UPDATE,
        "edited": Action.KEEP,
        "own": Action.KEEP,
        "dropped": Action.LEFT,
    }


def test_state_remembers_what_was_written_and_keeps_the_old_record_of_an_edit() -> None:
    published = {"a": "a2", "b": "b2", "c": "c2"}
    last = {"a": "a1", "b": "b1"}
    disk = {"a": "a1", "b": "edited", "c": None}
    steps = plan_pull(published, last, disk)
    assert next_state(published, last, steps) == {"a": "a2", "b": "b1", "c": "c2"}
    # The next pull still sees b as the student's.
    again = plan_pull({"b": "b3"}, next_state(published, last, steps), {"b": "edited"})
    assert {s.path: s.action for s in again}["b"] is Action.KEEP


hashes = st.sampled_from(["h1", "h2", "h3", "h4"])
paths = st.sampled_from(["a.ipynb", "b.ipynb", "data/c.csv", "d.py"])


@given(
    st.dictionaries(paths, hashes),
    st.dictionaries(paths, hashes),
    st.dictionaries(paths, st.one_of(st.none(), hashes)),
)
def test_never_writes_over_an_edited_file(published, last, disk) -> None:
    for step in plan_pull(published, last, disk):
        if step.writes:
            local = disk.get(step.path)
            # Written only where nothing is, or where the file is as the last pull left it.
            assert local is None or local == last.get(step.path)
        if step.path in published and disk.get(step.path) not in (None, last.get(step.path)):
            assert step.action in (Action.KEEP, Action.UNCHANGED)
    assert {s.path for s in plan_pull(published, last, disk)} == set(published) | set(last)

"""The nbgitpuller rule, as a pure plan: what a pull does to each file of a lab.

A pull never overwrites a file the student changed. For every file of the published
lab, comparing three hashes (published now, what the last pull wrote, on disk now):

- not on disk, never pulled            -> create
- not on disk, pulled before            -> restore (a deleted file comes back, as in nbgitpuller)
- on disk, same as published            -> unchanged
- on disk, same as the last pull wrote  -> update (the student did not touch it)
- on disk, anything else                -> keep (the student's edit, or a file of their own
                                           with the same name, wins)

Files the instructor removed are left alone: a student's copy is theirs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    CREATE = "create"
    RESTORE = "restore"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    KEEP = "keep"
    LEFT = "left"
    """Dropped from the published lab; the student's copy stays."""


WRITES = frozenset({Action.CREATE, Action.RESTORE, Action.UPDATE})


@dataclass(frozen=True)
class Step:
    path: str
    action: Action

    @property
    def writes(self) -> bool:
        return self.action in WRITES


def plan_pull(
    published: Mapping[str, str],
    last_pulled: Mapping[str, str],
    on_disk: Mapping[str, str | None],
) -> list[Step]:
    """One step per file, in path order. Arguments map paths to sha256 hex digests;
    ``on_disk`` has None (or no entry) for a missing file."""
    steps = []
    for path in sorted(published):
        local = on_disk.get(path)
        if local is None:
            action = Action.RESTORE if path in last_pulled else Action.CREATE
        elif local == published[path]:
            action = Action.UNCHANGED
        elif last_pulled.get(path) == local:
            action = Action.UPDATE
        else:
            action = Action.KEEP
        steps.append(Step(path, action))
    for path in sorted(set(last_pulled) - set(published)):
        steps.append(Step(path, Action.LEFT))
    return steps


def next_state(
    published: Mapping[str, str], last_pulled: Mapping[str, str], steps: list[Step]
) -> dict[str, str]:
    """What the puller remembers after applying ``steps``: the hash it wrote (or found
    identical) per file. A kept file keeps its old record, so the student's edit is
    still recognised as theirs next time."""
    state: dict[str, str] = {}
    for step in steps:
        if step.writes or step.action is Action.UNCHANGED:
            state[step.path] = published[step.path]
        elif step.action is Action.KEEP and step.path in last_pulled:
            state[step.path] = last_pulled[step.path]
    return state

"""Teams from the site file's ``teams`` section, with the checks a schema cannot make. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..layers import deep_merge
from ..profiles import SLICES_BY_NAME
from ..usage import Period
from .teams import (
    Policy,
    PolicyError,
    Team,
    TeamKind,
    Teams,
    format_duration,
    parse_duration,
)

TEAM_LEVEL_KEYS = ("max_slices_per_team",)
"""Policy keys that belong to the whole team: an instructor override may not change them."""


def _key(raw: Mapping[str, Any], key: str, where: str) -> Any:
    # A policy is always read merged over teams.default_policy, which has every key.
    if key not in raw:
        raise PolicyError(f"{where}: no {key} (a policy is read over teams.default_policy)")
    return raw[key]


def _duration(raw: Mapping[str, Any], key: str, where: str) -> int | None:
    value = _key(raw, key, where)
    if value is None:
        return None
    try:
        seconds = parse_duration(value)
    except PolicyError as e:
        raise PolicyError(f"{where}.{key}: {e}") from None
    if seconds <= 0:
        raise PolicyError(f"{where}.{key}: must be longer than 0 seconds")
    return seconds


def policy_from_mapping(
    raw: Mapping[str, Any], where: str, site_images: Sequence[str] = ()
) -> Policy:
    """A Policy from a policy mapping merged over ``teams.default_policy`` (every key
    present), with the checks a schema cannot make."""
    images = tuple(_key(raw, "images", where))
    unknown = [i for i in images if site_images and i not in site_images]
    if unknown:
        raise PolicyError(f"{where}.images: {', '.join(unknown)} not among the site's images")
    slices = tuple(_key(raw, "slices", where))
    max_slice = _key(raw, "max_slice", where)
    for name in (*slices, max_slice or "cpu"):
        if name not in SLICES_BY_NAME:
            raise PolicyError(f"{where}: unknown slice {name!r}")
    hours = _key(raw, "gpu_hours", where)
    warn = _duration(raw, "warn_before", where)
    if warn is None:
        raise PolicyError(f"{where}.warn_before: must be a duration")
    policy = Policy(
        images=images,
        slices=slices,
        max_slice=max_slice,
        max_slices_per_member=_key(raw, "max_slices_per_member", where),
        max_slices_per_team=_key(raw, "max_slices_per_team", where),
        period=Period(_key(hours, "period", f"{where}.gpu_hours")),
        gpu_hours_per_member=_key(hours, "per_member", f"{where}.gpu_hours"),
        gpu_hours_per_team=_key(hours, "per_team", f"{where}.gpu_hours"),
        idle_timeout=_duration(raw, "idle_timeout", where),
        max_session=_duration(raw, "max_session", where),
        warn_before=warn,
    )
    if not any(policy.allows_slice(s) for s in SLICES_BY_NAME):
        raise PolicyError(f"{where}: slices and max_slice leave no slice at all")
    member, team = policy.max_slices_per_member, policy.max_slices_per_team
    if member is not None and team is not None and member > team:
        raise PolicyError(
            f"{where}: max_slices_per_member ({member}) is more than max_slices_per_team ({team})"
        )
    if policy.max_session is not None and policy.warn_before >= policy.max_session:
        raise PolicyError(
            f"{where}: warn_before ({format_duration(policy.warn_before)}) must be shorter "
            f"than max_session ({format_duration(policy.max_session)})"
        )
    return policy


def teams_from_site(section: Mapping[str, Any], site_images: Sequence[str] = ()) -> Teams:
    """Teams from a validated site's ``teams`` section: ``default_policy`` (complete:
    hub_config/defaults.yaml gives every key) and one key per team.

    Raises PolicyError for what the schema cannot say: a group claimed by two teams, an
    instructor role outside a course, an instructor override of a team-wide limit,
    images the site does not offer, contradictory limits."""
    defaults = section["default_policy"]
    teams: list[Team] = []
    owner: dict[str, str] = {}
    for name, raw in section.items():
        if name == "default_policy":
            continue
        where = f"teams.{name}"
        merged = deep_merge(defaults, raw.get("policy") or {})
        policy = policy_from_mapping(merged, f"{where}.policy", site_images)
        kind = TeamKind(raw["kind"])
        groups = frozenset(raw["groups"])
        instructors = raw.get("instructors")
        instructor_groups: frozenset[str] = frozenset()
        instructor_policy = None
        if instructors is not None:
            if kind is not TeamKind.COURSE:
                raise PolicyError(f"{where}.instructors: only a course has instructors")
            override = instructors.get("policy") or {}
            shared = [k for k in TEAM_LEVEL_KEYS if k in override]
            if "per_team" in (override.get("gpu_hours") or {}):
                shared.append("gpu_hours.per_team")
            if "period" in (override.get("gpu_hours") or {}):
                shared.append("gpu_hours.period")
            if shared:
                raise PolicyError(
                    f"{where}.instructors.policy: {', '.join(shared)} is set for the whole "
                    f"team, in {where}.policy"
                )
            instructor_groups = frozenset(instructors["groups"])
            instructor_policy = policy_from_mapping(
                deep_merge(merged, override), f"{where}.instructors.policy", site_images
            )
        for group in sorted(groups | instructor_groups):
            if group in owner and owner[group] != name:
                raise PolicyError(
                    f"{where}: group {group!r} already maps to team {owner[group]!r} "
                    "(a group belongs to one team)"
                )
            owner[group] = name
        teams.append(
            Team(
                name=name,
                kind=kind,
                groups=groups,
                policy=policy,
                instructor_groups=instructor_groups,
                instructor_policy=instructor_policy,
                description=raw.get("description", ""),
            )
        )
    return Teams(tuple(teams))

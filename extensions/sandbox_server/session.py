"""Time and budget left for this server, and the warnings the user should see. Pure.

The hub's team policy may put these in the server's environment (all optional; names,
formats and the rules both sides share are in spawners/core/server_env.py):
``SANDBOX_SESSION_ENDS_AT`` (unix seconds when the session is stopped) with
``SANDBOX_SESSION_WARN_BEFORE`` (the team's warn_before: how long before that end the
session is warned of, as the hub's own notices are), ``SANDBOX_GPU_HOURS_LEFT`` (the
binding budget's GPU-hours left when the server started), ``SANDBOX_GPU_HOURS_BUDGET``
(that budget's limit for the period) and ``SANDBOX_TEAM``. Without them the fields are
null and no warning is raised. The slice's GPU-hour weight is the one it has on its own
GPU's model (``SANDBOX_GPU_MODEL``, set by the hub): an A100 40GB's ``1g.10gb`` is a
quarter of its GPU, an H100's a seventh."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from spawners.core.profiles import SliceProfile, slice_profile_on
from spawners.core.server_env import (
    ServerEnv,
    binding_budget,
    env_number,
    session_warn_before,
    warning_due,
)

SESSION_CRITICAL_S = 5 * 60
"""The last minutes of a session: its warning turns critical. Also the lead time of a
session whose hub gave none (``SANDBOX_SESSION_WARN_BEFORE`` missing)."""
BUDGET_WARN_FRACTION = 0.1
MEMORY_WARN_FRACTION = 0.9


def session_fields(env: Mapping[str, str], started_at: float, now: float) -> dict[str, Any]:
    ends_at = env_number(env, ServerEnv.SESSION_ENDS_AT)
    return {
        "started_at": started_at,
        "elapsed_seconds": max(0.0, now - started_at),
        "ends_at": ends_at,
        "seconds_left": None if ends_at is None else max(0.0, ends_at - now),
        "warn_before": None if ends_at is None else session_warn_before(env, SESSION_CRITICAL_S),
    }


def own_profile(env: Mapping[str, str]) -> SliceProfile | None:
    """This server's slice as it is on its GPU's model; None for an unknown slice."""
    try:
        return slice_profile_on(env.get(ServerEnv.SLICE, ""), env.get(ServerEnv.GPU_MODEL))
    except KeyError:
        return None


def budget_fields(env: Mapping[str, str], started_at: float, now: float) -> dict[str, Any]:
    """GPU-hours left: the team's figure at start minus what this server has used since
    (others on the team use some too, so this is an upper bound between refreshes)."""
    profile = own_profile(env)
    weight = float(profile.gpu_hour_weight) if profile else 0.0
    used = weight * max(0.0, now - started_at) / 3600
    left_at_start = env_number(env, ServerEnv.GPU_HOURS_LEFT)
    return {
        "team": env.get(ServerEnv.TEAM) or None,
        "weight": weight,
        "gpu_hours_used_this_session": used,
        "gpu_hours_left": None if left_at_start is None else left_at_start - used,
        "gpu_hours_budget": env_number(env, ServerEnv.GPU_HOURS_BUDGET),
    }


def _warning(code: str, level: str, message: str) -> dict[str, str]:
    return {"code": code, "level": level, "message": message}


def slice_warnings(info: Mapping[str, Any], next_slice_up: str | None = None) -> list[dict]:
    """What the status bar and panel warn about, most urgent first."""
    out = []
    session = info.get("session") or {}
    left = session.get("seconds_left")
    warn_before = session.get("warn_before")
    warn_before = SESSION_CRITICAL_S if warn_before is None else warn_before
    if left is not None and warning_due(left, warn_before):
        level = "critical" if left <= SESSION_CRITICAL_S else "warning"
        out.append(
            _warning(
                "session-ending",
                level,
                f"This session ends in {max(0, round(left / 60))} min: save your work.",
            )
        )
    budget = info.get("budget") or {}
    hours_left, total = budget.get("gpu_hours_left"), budget.get("gpu_hours_budget")
    if hours_left is not None:
        if hours_left <= 0:
            out.append(
                _warning("budget-exhausted", "critical", "Your team's GPU-hours are used up.")
            )
        elif (total and hours_left <= BUDGET_WARN_FRACTION * total) or hours_left < 1:
            out.append(
                _warning(
                    "budget-low",
                    "warning",
                    f"Your team has {hours_left:.1f} GPU-hours left this period.",
                )
            )
    used, total_bytes = info.get("memory_used_bytes"), info.get("memory_total_bytes")
    if used is not None and total_bytes and used >= MEMORY_WARN_FRACTION * total_bytes:
        hint = f" If you run out, ask for {next_slice_up}." if next_slice_up else ""
        out.append(
            _warning(
                "memory-high",
                "warning",
                f"GPU memory is {100 * used / total_bytes:.0f}% full.{hint}",
            )
        )
    order = {"critical": 0, "warning": 1, "info": 2}
    return sorted(out, key=lambda w: order[w["level"]])


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _figure(value: Any) -> float | None:
    """A number of the hub's JSON answer; anything else (a bool too) is no figure."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


_COVERS = {
    "session-limit": {"session-ending"},
    "member-budget": {"budget-low", "budget-exhausted"},
    "team-budget": {"budget-low", "budget-exhausted"},
}


def apply_hub_view(
    info: dict[str, Any], me: Mapping[str, Any], allocation_id: str | None, now: float
) -> dict[str, Any]:
    """Fold the hub's live view of this user (the slices service's ``api/me``) into
    ``info``: GPU-hours left now, this server's stop deadline, and the hub's notices,
    which replace the local estimates they cover."""
    budget = _mapping(me.get("budget"))
    member, team = _mapping(budget.get("member")), _mapping(budget.get("team"))
    binding = binding_budget(
        _figure(member.get("left")),
        _figure(member.get("limit")),
        _figure(team.get("left")),
        _figure(team.get("limit")),
    )
    if binding is not None:
        info["budget"]["gpu_hours_left"] = binding.left
        info["budget"]["gpu_hours_budget"] = binding.limit
        info["budget"]["source"] = "hub"
    if isinstance(me.get("team"), str):
        info["budget"]["team"] = me["team"]
    notices = []
    for n in me.get("notices") or []:
        if not isinstance(n, Mapping) or not isinstance(n.get("message"), str):
            continue
        if allocation_id and str(n.get("allocation_id")) != str(allocation_id):
            continue
        kind = str(n.get("kind", ""))
        deadline = n.get("deadline")
        if kind == "session-limit" and isinstance(deadline, int | float):
            info["session"]["ends_at"] = float(deadline)
            info["session"]["seconds_left"] = max(0.0, float(deadline) - now)
        level = "critical" if n.get("due") else "warning"
        notices.append(_warning(kind, level, n["message"]))
    covered = set().union(*(_COVERS.get(n["code"], set()) for n in notices))
    local = [w for w in info.get("warnings", []) if w["code"] not in covered]
    order = {"critical": 0, "warning": 1, "info": 2}
    info["warnings"] = sorted(notices + local, key=lambda w: order[w["level"]])
    return info

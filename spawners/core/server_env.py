"""What the hub and a user's server agree on, written once and imported by both sides
(the hub's spawners write it; the server extension, the widgets and the lab read it): the
name of every variable the hub writes (JupyterHub's own JUPYTERHUB_* are JupyterHub's),
how the policy figures are written and read back, which budget binds, and how long before
its end a session is warned of. Pure."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class ServerEnv(StrEnum):
    # The slice (spawners/core/environment.py)
    SLICE = "SANDBOX_SLICE"
    IMAGE = "SANDBOX_IMAGE"
    SLICE_MEMORY_GB = "SANDBOX_SLICE_MEMORY_GB"
    SLICE_KIND = "SANDBOX_SLICE_KIND"
    GPU_MODEL = "SANDBOX_GPU_MODEL"
    GPU_UUID = "SANDBOX_GPU_UUID"
    GPU_INDEX = "SANDBOX_GPU_INDEX"
    ALLOCATION_ID = "SANDBOX_ALLOCATION_ID"
    SLICE_SIMULATED = "SANDBOX_SLICE_SIMULATED"
    # CUDA's own: the device the server sees and its MPS share (names CUDA defines)
    VISIBLE_DEVICES = "CUDA_VISIBLE_DEVICES"
    MPS_THREAD_PERCENTAGE = "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"
    MPS_MEMORY_LIMIT = "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"
    MPS_PIPE_DIRECTORY = "CUDA_MPS_PIPE_DIRECTORY"
    MPS_LOG_DIRECTORY = "CUDA_MPS_LOG_DIRECTORY"
    # The user's policy (policy_environment below)
    TEAM = "SANDBOX_TEAM"
    ROLE = "SANDBOX_ROLE"
    SESSION_ENDS_AT = "SANDBOX_SESSION_ENDS_AT"
    SESSION_WARN_BEFORE = "SANDBOX_SESSION_WARN_BEFORE"
    GPU_HOURS_LEFT = "SANDBOX_GPU_HOURS_LEFT"
    GPU_HOURS_BUDGET = "SANDBOX_GPU_HOURS_BUDGET"
    LANGUAGE = "SANDBOX_LANGUAGE"
    # Where the server finds the hub's services and the tutorials
    USAGE_URL = "SANDBOX_USAGE_URL"
    COURSES_URL = "SANDBOX_COURSES_URL"
    TUTORIALS = "SANDBOX_TUTORIALS"
    MODELS = "SANDBOX_MODELS"
    """The model store's folder in the server (read by notebooks/sandbox_tutorials/store.py,
    the tutorials' own helper package, which names the variable itself)."""


@dataclass(frozen=True)
class Binding:
    """The budget that limits a member now: GPU-hours left and the limit they are left of."""

    left: float
    limit: float


def binding_budget(
    member_left: float | None,
    member_limit: float | None,
    team_left: float | None,
    team_limit: float | None,
) -> Binding | None:
    """Which budget binds: the member's or the team's, whichever has less left (the
    member's on a tie); None when neither is limited. A budget counts only with both its
    figures (a left without a limit is no budget)."""
    member = None if member_left is None or member_limit is None else (member_left, member_limit)
    team = None if team_left is None or team_limit is None else (team_left, team_limit)
    if member is None and team is None:
        return None
    if team is None or (member is not None and member[0] <= team[0]):
        return Binding(*member)  # type: ignore[misc]
    return Binding(*team)


def policy_environment(
    *,
    team: str,
    role: str,
    ends_at: float | None,
    warn_before: int,
    budget: Binding | None,
) -> dict[str, str]:
    """What a server learns of its team's policy when it starts (the hub's side). The
    session's end comes with the team's warning lead time, so the server warns when the
    hub's own notices do (``warn_before`` before the end)."""
    env: dict[str, str] = {ServerEnv.TEAM: team, ServerEnv.ROLE: role}
    if ends_at is not None:
        env[ServerEnv.SESSION_ENDS_AT] = str(int(ends_at))
        env[ServerEnv.SESSION_WARN_BEFORE] = str(int(warn_before))
    if budget is not None:
        env[ServerEnv.GPU_HOURS_LEFT] = f"{max(0.0, budget.left):.4f}"
        env[ServerEnv.GPU_HOURS_BUDGET] = f"{budget.limit:.4f}"
    return env


def env_number(env: Mapping[str, str], name: ServerEnv) -> float | None:
    """A figure of the policy environment (the server's side): None when absent or not a
    finite number."""
    try:
        value = float(env.get(name, ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def session_warn_before(env: Mapping[str, str], fallback: float) -> float:
    """Seconds before the session's end that the server warns: the team's ``warn_before``
    as the hub wrote it, or ``fallback`` when it is absent or not a duration (a hub of an
    earlier version, a hand-made environment)."""
    value = env_number(env, ServerEnv.SESSION_WARN_BEFORE)
    return fallback if value is None or value < 0 else value


def warning_due(seconds_left: float, warn_before: float) -> bool:
    """The session's end is to be warned of: it is ``warn_before`` away or nearer."""
    return seconds_left <= warn_before

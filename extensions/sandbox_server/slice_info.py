"""What this server knows about its slice: its environment, NVML when it is real, and
the session and budget fields the hub's policy may provide."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from extensions.widgets.advice import after_oom
from spawners.core.server_env import ServerEnv

from .session import apply_hub_view, budget_fields, session_fields, slice_warnings

ENV_KEYS = (
    ServerEnv.SLICE,
    ServerEnv.IMAGE,
    ServerEnv.VISIBLE_DEVICES,
    ServerEnv.SLICE_SIMULATED,
    ServerEnv.GPU_UUID,
    ServerEnv.GPU_INDEX,
    ServerEnv.GPU_MODEL,
    ServerEnv.SLICE_MEMORY_GB,
    ServerEnv.ALLOCATION_ID,
)

NvmlReader = Callable[[str], Mapping[str, Any] | None]

_STARTED_AT = time.time()
"""When this server process loaded the extension: the session's start."""


def slice_info(
    env: Mapping[str, str] = os.environ,
    nvml_reader: NvmlReader | None = None,
    now: float | None = None,
    started_at: float | None = None,
    hub_view: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything the status bar, the panel and SliceMonitor show. ``hub_view`` is the
    hub's live view of the user (the slices service's api/me) when it could be read."""
    simulated = env.get(ServerEnv.SLICE_SIMULATED) == "1"
    memory_gb = env.get(ServerEnv.SLICE_MEMORY_GB, "0")
    now = time.time() if now is None else now
    started_at = _STARTED_AT if started_at is None else started_at
    profile = env.get(ServerEnv.SLICE, "")
    info: dict[str, Any] = {
        "profile": profile,
        "image": env.get(ServerEnv.IMAGE, ""),
        "device_uuid": env.get(ServerEnv.VISIBLE_DEVICES, ""),
        "simulated": simulated,
        "memory_total_bytes": int(memory_gb) * 10**9 if memory_gb.isdigit() else 0,
        "memory_used_bytes": None,
        "utilisation_percent": None,
        "utilisation_source": None,
        "source": "environment",
        "environment": {k: env[k] for k in ENV_KEYS if k in env},
        "session": session_fields(env, started_at, now),
        "budget": budget_fields(env, started_at, now),
    }
    if not simulated and info["device_uuid"] and nvml_reader is not None:
        measured = nvml_reader(info["device_uuid"])
        if measured:
            info.update(measured)
            info["source"] = "nvml"
    up = after_oom(profile)
    info["next_slice_up"] = up.slice if up else None
    info["warnings"] = slice_warnings(info, info["next_slice_up"])
    info["hub_view"] = hub_view is not None
    if hub_view is not None:
        apply_hub_view(info, hub_view, env.get(ServerEnv.ALLOCATION_ID), now)
    return info

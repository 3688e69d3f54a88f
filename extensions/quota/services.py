"""The hub services this package runs, as JupyterHub service and role definitions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hub_config.auth import site_teams
from hub_config.site import Site
from spawners.core.policy import parse_duration

HERE = Path(__file__).resolve().parent

Definition = tuple[dict[str, Any] | None, dict[str, Any] | None]


def idle_timeouts(site: Site) -> list[int]:
    """Every idle timeout in use: the site default and each team role's."""
    raw = site["hub"]["culler"]["idle_timeout"]
    out = [] if raw is None else [parse_duration(raw)]
    for team in site_teams(site.doc).teams:
        for policy in (team.policy, team.instructor_policy):
            if policy is not None and policy.idle_timeout is not None:
                out.append(policy.idle_timeout)
    return out


def culler_service(site: Site, env: dict[str, str]) -> Definition:
    """jupyterhub-idle-culler with the per-team arbiter, unless nothing can idle out."""
    culler = site["hub"]["culler"]
    timeouts = idle_timeouts(site)
    if not culler["enabled"] or not timeouts:
        return None, None
    service = {
        "name": "idle-culler",
        "command": [
            sys.executable,
            "-m",
            # jupyterhub-idle-culler, ending promptly when the hub stops it or is gone.
            "extensions.quota.culler",
            # The arbiter applies each team's own timeout; the culler's is the shortest.
            f"--timeout={min(timeouts)}",
            f"--cull-every={culler['check_every']}",
            f"--config={HERE / 'culler_config.py'}",
        ],
        "environment": env,
    }
    role = {
        "name": "idle-culler",
        "scopes": [
            "list:users",
            "read:users:activity",
            "read:users:groups",
            "read:servers",
            "delete:servers",
        ],
        "services": ["idle-culler"],
    }
    return service, role


def quota_service(site: Site, env: dict[str, str]) -> Definition:
    """The session-length and budget enforcer; only a hub with teams has limits."""
    if not site_teams(site.doc):
        return None, None
    service = {
        "name": "quota",
        "command": [sys.executable, "-m", "extensions.quota"],
        "environment": env,
    }
    role = {
        "name": "quota",
        "scopes": ["read:users:groups", "read:servers", "delete:servers"],
        "services": ["quota"],
    }
    return service, role

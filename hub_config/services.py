"""The hub's managed services as JupyterHub service and role definitions: the courses
service (its port, its entry, where servers reach it), the idle culler and the quota
enforcer. hub_config/wiring.py adds them to JupyterHub's config. The services' code lives
in extensions/; this module names only the modules to run, so the hub's configuration
imports nothing of theirs."""

from __future__ import annotations

import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hub_config.ports import LOOPBACK, InternalAddress
from hub_config.site import Site, site_teams
from spawners.core.policy import parse_duration
from spawners.core.server_env import ServerEnv

# --- courses -----------------------------------------------------------------------------
# The service's settings are the site file's `courses` section, read by the service itself.


def _free_port(preferred: int | None = None) -> int:
    with socket.socket() as s:
        # As the service's own listen does: a port whose old connections linger in
        # TIME_WAIT after a hub restart is free to it.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", preferred or 0))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PORT_FILE = "courses-port"
"""In the data folder: the port the service last listened on."""


def courses_port(env: Mapping[str, str], data: Path | None = None) -> int:
    """SANDBOX_COURSES_PORT, or the port the service last listened on (remembered in the
    data folder by the service itself, :func:`remember_courses_port`) if it is still free,
    else a free one: the four ports that follow SANDBOX_PORT are the proxy's, the hub's
    and the slices service's, and other hubs may sit beyond. Remembered, because running
    servers keep the service's address in their environment across a restart of the hub.
    Reads only: this runs when the configuration loads (``--show-config`` too)."""
    raw = env.get("SANDBOX_COURSES_PORT", "").strip()
    if raw:
        if not raw.isdigit() or not 1 <= int(raw) <= 65535:
            raise ValueError("SANDBOX_COURSES_PORT must be a port number")
        return int(raw)
    if data is None:
        return _free_port()
    try:
        previous = int((data / PORT_FILE).read_text().strip())
    except (OSError, ValueError):
        previous = None
    return _free_port(previous)


def remember_courses_port(data: Path, port: int) -> None:
    """What the service does once it listens: the next hub start offers the same port."""
    path = data / PORT_FILE
    try:
        if path.read_text().strip() == str(port):
            return
    except OSError:
        pass
    path.write_text(f"{port}\n")


def courses_service(
    env: Mapping[str, str], service_env: Mapping[str, str], address: InternalAddress = LOOPBACK
) -> dict[str, Any]:
    """The service entry; it listens on ``address`` (hub.internal_url), as servers reach it."""
    data = service_env.get("SANDBOX_DATA")
    port = courses_port(env, Path(data) if data else None)
    environment = dict(service_env)
    environment["SANDBOX_COURSES_PORT"] = str(port)
    return {
        "name": "courses",
        "url": address.url(port),
        "command": [sys.executable, "-m", "extensions.courses"],
        "environment": environment,
        "oauth_no_confirm": True,
        "display": True,
    }


def server_environment(service: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, str]:
    """Where a user's server finds the service (it pulls and hands in with its own
    token): at hub.internal_url, unless SANDBOX_COURSES_URL names another address."""
    url = env.get(ServerEnv.COURSES_URL) or service["url"] + "/services/courses/"
    return {ServerEnv.COURSES_URL: url}


COURSES_ROLES: list[dict[str, Any]] = [
    # Course membership is read from the hub's groups, nothing more.
    {"name": "courses-service", "scopes": ["read:users:groups"], "services": ["courses"]},
]


# --- idle culler and quota ---------------------------------------------------------------

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

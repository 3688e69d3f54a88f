"""How the hub admits a burst of server starts (docs/configuration.md, "A class logs in at
once"): JupyterHub's own cap on pending spawns, the start gate's places, and the three
time limits, each enforced where its message can say which one was hit."""

from __future__ import annotations

from typing import Any

from spawners.core.policy import parse_duration
from spawners.start_gate import StartGate, simultaneous_starts

HOST_BOOTED = ("local", "docker")
"""Backends whose servers boot on the hub's own host (Docker: the engine's host, the
hub's in this project's deployments). Slurm and Kubernetes servers boot on their nodes,
and their engines keep their own queues: no gate there, so a job waiting for a GPU
never holds back the starts behind it."""

SLACK_S = 10
"""JupyterHub's own limit on start() sits this far beyond ours, so ours (with its clear
message) always fires first."""


def queue_enabled(hub: dict[str, Any]) -> bool:
    """Whether starts that find no capacity wait in the hub's queue (hub.queue.enabled;
    only where servers boot on the hub's host: Slurm and Kubernetes keep their own)."""
    return bool(hub["queue"]["enabled"]) and hub["backend"]["kind"] in HOST_BOOTED


def configure_starts(c: Any, hub: dict[str, Any]) -> None:
    c.JupyterHub.concurrent_spawn_limit = hub["concurrent_spawn_limit"]
    if hub["backend"]["kind"] in HOST_BOOTED:
        c.SliceSpawnerMixin.start_gate = StartGate(simultaneous_starts(hub["simultaneous_starts"]))
    c.SliceSpawnerMixin.start_wait_timeout = hub["start_wait_timeout"]
    c.SliceSpawnerMixin.engine_start_timeout = hub["start_timeout"]
    c.Spawner.http_timeout = hub["http_timeout"]
    queued = queue_enabled(hub)
    expire_after = parse_duration(hub["queue"]["expire_after"])
    c.SliceSpawnerMixin.queue_enabled = queued
    c.SliceSpawnerMixin.queue_expire_after = expire_after
    c.SliceSpawnerMixin.queue_check_every = float(hub["queue"]["check_every"])
    # The mixin's start() may wait in the queue, then for a turn, then for the engine,
    # then for the server to answer, each within its own limit: JupyterHub's outer limit
    # covers them all.
    c.Spawner.start_timeout = (
        (expire_after if queued else 0)
        + hub["start_wait_timeout"]
        + hub["start_timeout"]
        + hub["http_timeout"]
        + SLACK_S
    )

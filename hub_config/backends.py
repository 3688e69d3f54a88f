"""Where servers run: the site's backend, applied to JupyterHub's config, and the
per-engine hooks reconciliation uses at start-up."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hub_config.site import Site
from spawners.backends.local import (
    LocalSliceSpawner,
    local_server_running,
    stop_abandoned_local_server,
)
from spawners.ledger.records import AllocationRecord

RUNNING_PROBES: dict[str, Callable[[AllocationRecord], bool | None]] = {
    "local": local_server_running
}
"""Per engine: does the server of an allocation still run? (reconciliation at start-up)"""

ABANDON: dict[str, Callable[[AllocationRecord], None]] = {"local": stop_abandoned_local_server}
"""Per engine: stop what a spawn started before its hub died mid-start."""


def configure_backend(c: Any, site: Site, data: Path) -> None:
    backend = site["hub"]["backend"]
    c.JupyterHub.spawner_class = LocalSliceSpawner
    c.LocalSliceSpawner.run_as_hub_user = backend.get("run_as_hub_user", True)
    c.LocalSliceSpawner.homes_root = str(data / "homes")
    c.Spawner.cmd = [str(Path(sys.executable).parent / "jupyterhub-singleuser")]

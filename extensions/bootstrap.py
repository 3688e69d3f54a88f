"""How every hub service starts (slices, courses, quota, the idle culler's arbiter): the
site file, the data folder, the teams and the ledger, from the environment the hub gives
its services (hub_config/wiring.py). One function, so the services cannot drift apart."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hub_config import site as site_file
from hub_config.site import Site, site_teams
from hub_config.wiring import ledger_url
from spawners.core.policy import Teams
from spawners.ledger.ledger import Ledger


class ServiceNotStarted(RuntimeError):
    """The service was started without what the hub gives it; the message says what."""


class LedgerNotCurrent(ServiceNotStarted):
    """The ledger is not at this version's schema: the service refuses to start."""


@dataclass(frozen=True)
class Service:
    """What a service starts from."""

    site: Site
    data: Path
    """The hub's data folder (SANDBOX_DATA)."""
    teams: Teams
    address: str
    """Where the service listens: hub.internal_url's address (hub_config/ports.py), as
    the users' servers reach it there."""

    def ledger(self) -> Ledger:
        """The hub's ledger, as the hub's start-up hook left it (it creates and migrates
        the tables before JupyterHub starts any service)."""
        return Ledger(ledger_url(self.site, self.data))

    def current_ledger(self, service: str) -> Ledger:
        """The ledger, checked, never migrated: see :func:`current_ledger`."""
        return current_ledger(ledger_url(self.site, self.data), service)


def bootstrap(env: Mapping[str, str] | None = None) -> Service:
    """The service's start: the site file (SANDBOX_SITE, validated as the hub does), its
    teams and the data folder, from ``env`` (default: the process's environment)."""
    env = os.environ if env is None else env
    data = env.get("SANDBOX_DATA", "").strip()
    if not data:
        raise ServiceNotStarted(
            "SANDBOX_DATA is not set: hub services are started by the hub, which sets it"
        )
    site = site_file.load_site(env=env)
    return Service(
        site=site,
        data=Path(data),
        teams=site_teams(site.doc),
        address=env.get("SANDBOX_SERVICES_BIND_IP") or "127.0.0.1",
    )


def current_ledger(url: str, service: str) -> Ledger:
    """The ledger, checked, never migrated. Migrating is the hub's start-up hook's alone:
    once per start, before JupyterHub starts a service (docs/operations.md). A service
    started without it, against a ledger of another version, says so and stops instead of
    changing the ledger behind the hub's back. ``service``: its name, for the message."""
    ledger = Ledger(url)
    differences = ledger.schema_differences()
    if differences:
        ledger.dispose()
        raise LedgerNotCurrent(
            f"{service}: the ledger is not at this version's schema ("
            + "; ".join(differences)
            + "). The hub migrates it when it starts, before it starts this service: "
            "start the hub (or restart it after an upgrade) instead of this service alone."
        )
    return ledger

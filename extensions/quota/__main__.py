"""Run the quota service (JupyterHub starts it as a managed service, without a URL)."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from extensions.service_lifetime import exit_now, until_stopped
from hub_config.site import load_site, site_teams
from hub_config.wiring import ledger_url
from spawners.ledger.ledger import Ledger

from .enforcer import Enforcer, log
from .hubapi import HubApi


async def run() -> None:
    site = load_site()
    # The hub's start-up hook made the ledger's tables before it started this service.
    ledger = Ledger(ledger_url(site, Path(os.environ["SANDBOX_DATA"])))
    enforcer = Enforcer(ledger, site_teams(site.doc), HubApi())
    every = site["hub"]["culler"]["check_every"]
    # The hub's stop signal, or a hub that died without stopping us: end (a leftover
    # must not enforce quotas beside the next hub's own quota service).
    stopped = asyncio.ensure_future(until_stopped())
    try:
        while not stopped.done():
            try:
                await enforcer.tick()
            except Exception:
                # One failed pass (the hub restarting, a database hiccup) must not end it.
                log.exception("quota check failed; trying again in %s s", every)
            await asyncio.wait([stopped], timeout=every)
    finally:
        stopped.cancel()
        ledger.dispose()


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="[%(levelname)1.1s %(asctime)s quota] %(message)s"
    )
    asyncio.run(run())
    exit_now()


if __name__ == "__main__":
    main()

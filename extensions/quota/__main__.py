"""Run the quota service (JupyterHub starts it as a managed service, without a URL)."""

from __future__ import annotations

import asyncio
import logging
import sys

from extensions.bootstrap import ServiceNotStarted, bootstrap
from extensions.service_lifetime import exit_now, until_stopped

from .enforcer import Enforcer, log
from .hubapi import HubApi


async def run() -> None:
    service = bootstrap()
    ledger = service.ledger()
    enforcer = Enforcer(ledger, service.teams, HubApi())
    every = service.site["hub"]["culler"]["check_every"]
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
    try:
        asyncio.run(run())
    except ServiceNotStarted as e:
        # One clear line in the hub's log, not a traceback.
        print(e, file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    exit_now()


if __name__ == "__main__":
    main()

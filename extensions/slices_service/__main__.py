"""Run the `slices` service (JupyterHub starts it as a managed service)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Mapping

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import web

from extensions.bootstrap import Service, ServiceNotStarted, bootstrap
from extensions.service_lifetime import FinishedOnStop, drain, exit_now, listen, until_stopped
from spawners.inventory.select import inventory_for_site
from spawners.ledger.ledger import Ledger
from spawners.refusal_status import with_code

from .admin import admin_routes
from .authz import READ_ALL, require
from .queue_api import queue_routes
from .usage_api import usage_routes
from .views import allocations_view, inventory_view


class ApiHandler(FinishedOnStop, HubOAuthenticated, web.RequestHandler):
    def initialize(self, ledger: Ledger, inventory) -> None:
        self.ledger = ledger
        self.inventory = inventory

    def write_json(self, payload) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(payload))

    def write_error(self, status_code: int, **kwargs) -> None:
        # Short and safe: never a traceback.
        exc = kwargs.get("exc_info", (None, None, None))[1]
        self.set_header("Content-Type", "application/json")
        body = {"status": status_code, "message": self._reason}
        self.finish(json.dumps(with_code(self, exc, body)))


class InventoryHandler(ApiHandler):
    @web.authenticated
    def get(self) -> None:
        self.write_json(inventory_view(self.inventory, self.ledger.live()))


class AllocationsHandler(ApiHandler):
    @web.authenticated
    @require(READ_ALL, "Only admins can list allocations")
    def get(self) -> None:
        self.write_json({"allocations": allocations_view(self.ledger.live())})


def make_app(env: Mapping[str, str] | None = None) -> web.Application:
    """The service's application, from ``env`` (default: the process's environment);
    what it started from is its ``sandbox_service`` setting."""
    service = bootstrap(env)
    site = service.site
    ledger = service.current_ledger("slices service")
    inventory = inventory_for_site(site["gpus"])
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/slices/")
    args = {"ledger": ledger, "inventory": inventory}
    return web.Application(
        [
            (url_path_join(prefix, "api/inventory"), InventoryHandler, args),
            (url_path_join(prefix, "api/allocations"), AllocationsHandler, args),
            (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
            *admin_routes(prefix, args),
            *usage_routes(prefix, ledger, inventory, service.teams),
            *queue_routes(prefix, args),
        ],
        cookie_secret=os.urandom(32),
        # The capacity page's language for a browser that asks for none the hub has.
        sandbox_language=site["site"]["language"],
        sandbox_service=service,
    )


async def serve() -> None:
    app = make_app()
    service: Service = app.settings["sandbox_service"]
    server = listen(app, int(os.environ["SANDBOX_SLICES_PORT"]), address=service.address)
    # The hub's stop signal or the hub's death (extensions/service_lifetime.py).
    await until_stopped()
    await drain(server)


def main() -> None:
    try:
        asyncio.run(serve())
    except ServiceNotStarted as e:
        # One clear line in the hub's log, not a traceback.
        print(e, file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    exit_now()


if __name__ == "__main__":
    main()

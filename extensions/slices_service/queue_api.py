"""The waitlist on the slices service: ``GET api/queue`` (admins and operators, like the
allocations) lists the queued starts in the fair order they get capacity, for the
capacity page's queue section (templates/queue.html) and for automation."""

from __future__ import annotations

import json
from typing import Any

from jupyterhub.services.auth import HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import web

from extensions.service_lifetime import FinishedOnStop
from spawners.ledger.ledger import Ledger
from spawners.refusal_status import with_code

from .authz import READ_ALL, require


def queue_view(ledger: Ledger) -> dict[str, Any]:
    """The waiting entries, first in line first, with how long each has waited and
    has left before it expires (seconds, from the ledger's clock)."""
    now = ledger.clock()
    return {
        "queue": [
            {
                **entry.as_json(),
                "position": place,
                "waited_s": round(max(0.0, now - entry.enqueued_at)),
                "expires_in_s": round(max(0.0, entry.expires_at - now)),
            }
            for place, entry in enumerate(ledger.queue_order(), start=1)
        ]
    }


class QueueHandler(FinishedOnStop, HubOAuthenticated, web.RequestHandler):
    def initialize(self, ledger: Ledger, inventory: Any) -> None:
        self.ledger = ledger

    @web.authenticated
    @require(READ_ALL, "Only admins can list the queue")
    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(queue_view(self.ledger)))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        # Short and safe: never a traceback.
        exc = kwargs.get("exc_info", (None, None, None))[1]
        self.set_header("Content-Type", "application/json")
        body = {"status": status_code, "message": self._reason}
        self.finish(json.dumps(with_code(self, exc, body)))


def queue_routes(prefix: str, args: dict[str, Any]) -> list[tuple]:
    return [(url_path_join(prefix, "api/queue"), QueueHandler, args)]

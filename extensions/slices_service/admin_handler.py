"""The base of the capacity page's handlers (the page, its data, its charts, its
actions): the ledger and inventory they read, and refusals that are short and safe,
HTML for the page, JSON under ``api/``, never a traceback."""

from __future__ import annotations

import html
import json
from typing import Any

from jupyterhub.services.auth import HubOAuthenticated
from tornado import web

from extensions.service_lifetime import FinishedOnStop
from spawners.ledger.ledger import Ledger
from spawners.refusal_status import with_code


class AdminHandler(FinishedOnStop, HubOAuthenticated, web.RequestHandler):
    def initialize(self, ledger: Ledger, inventory: Any, prefix: str) -> None:
        self.ledger = ledger
        self.inventory = inventory
        self.prefix = prefix

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = exc.log_message if isinstance(exc, web.HTTPError) and exc.log_message else None
        message = message or self._reason
        if "/api/" not in self.request.path:
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.finish(
                f"<!doctype html><title>{status_code}</title><h1>{status_code}</h1>"
                f"<p class='error'>{html.escape(message)}</p>"
            )
            return
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(with_code(self, exc, {"status": status_code, "message": message})))

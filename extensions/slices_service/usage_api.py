"""Usage, budgets, warnings, audit and metrics endpoints of the `slices` service.

``api/me`` (any user: their team, servers, warnings, own and team usage this period),
``api/usage`` and ``api/usage.csv`` (per team, user and slice for any period),
``api/teams`` and ``api/audit`` (all three: a token with read:users), ``metrics``
(Prometheus: a token with read:metrics)."""

from __future__ import annotations

import json
from typing import Any

from jupyterhub.services.auth import HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import web

from extensions.service_lifetime import FinishedOnStop
from spawners.core.policy import Teams
from spawners.core.refusals import RefusalCode, TemplatedRefusal
from spawners.core.usage import usage_rows
from spawners.i18n import N_
from spawners.ledger.ledger import Ledger
from spawners.refusal_status import http_error, refused, with_code

from .accounting import RangeError, me_view, parse_range, teams_view, usage_csv, usage_report
from .authz import READ_ALL, READ_METRICS, require
from .metrics import CONTENT_TYPE, render_metrics

LIMIT_NOT_A_NUMBER = TemplatedRefusal(RefusalCode.BAD_QUERY, N_("limit must be a whole number"))


class UsageApiHandler(FinishedOnStop, HubOAuthenticated, web.RequestHandler):
    def initialize(self, ledger: Ledger, inventory: Any, teams: Teams) -> None:
        self.ledger = ledger
        self.inventory = inventory
        self.teams = teams

    def write_json(self, payload: Any) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(payload))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        # Short and safe: never a traceback.
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = exc.log_message if isinstance(exc, web.HTTPError) and exc.log_message else None
        self.set_header("Content-Type", "application/json")
        body = {"status": status_code, "message": message or self._reason}
        self.finish(json.dumps(with_code(self, exc, body)))

    def period_records(self) -> tuple[float, list]:
        now = self.ledger.clock()
        return now, self.ledger.overlapping(self.teams.earliest_period_start(now), now)


class MeHandler(UsageApiHandler):
    @web.authenticated
    def get(self) -> None:
        user = self.current_user
        now, records = self.period_records()
        groups = frozenset(user.get("groups") or [])
        self.write_json(me_view(user["name"], groups, self.teams, records, now))


class UsageHandler(UsageApiHandler):
    @web.authenticated
    @require(READ_ALL, "Only admins can read usage")
    def get(self, suffix: str | None = None) -> None:
        now = self.ledger.clock()
        args = {
            k: self.get_argument(k) for k in ("month", "since", "until") if self.get_argument(k, "")
        }
        try:
            since, until = parse_range(args, now)
        except RangeError as e:
            # The period's wording comes from its parser, in English on every page.
            raise http_error(RefusalCode.BAD_QUERY, str(e), str(e)) from None
        records = self.ledger.overlapping(since, until)
        if suffix == ".csv" or self.get_argument("format", "") == "csv":
            self.set_header("Content-Type", "text/csv; charset=utf-8")
            self.set_header("Content-Disposition", 'attachment; filename="usage.csv"')
            self.finish(usage_csv(usage_rows(records, since, min(until, now))))
            return
        self.write_json(usage_report(records, since, until, now))


class TeamsHandler(UsageApiHandler):
    @web.authenticated
    @require(READ_ALL, "Only admins can read teams")
    def get(self) -> None:
        now, records = self.period_records()
        self.write_json({"teams": teams_view(self.teams, records, now)})


class AuditHandler(UsageApiHandler):
    @web.authenticated
    @require(READ_ALL, "Only admins can read the audit log")
    def get(self) -> None:
        try:
            limit = min(5000, max(1, int(self.get_argument("limit", "200"))))
        except ValueError:
            raise refused(LIMIT_NOT_A_NUMBER) from None
        self.write_json({"audit": self.ledger.audit_log(limit)})


class MetricsHandler(UsageApiHandler):
    @web.authenticated
    @require(READ_METRICS, "Metrics need a token that may read them")
    def get(self) -> None:
        now = self.ledger.clock()
        records = self.ledger.overlapping(0.0, now)
        self.set_header("Content-Type", CONTENT_TYPE)
        self.finish(render_metrics(self.teams, self.inventory, records, now))


def usage_routes(prefix: str, ledger: Ledger, inventory: Any, teams: Teams) -> list[tuple]:
    args = {"ledger": ledger, "inventory": inventory, "teams": teams}
    return [
        (url_path_join(prefix, "api/me"), MeHandler, args),
        (url_path_join(prefix, r"api/usage(\.csv)?"), UsageHandler, args),
        (url_path_join(prefix, "api/teams"), TeamsHandler, args),
        (url_path_join(prefix, "api/audit"), AuditHandler, args),
        (url_path_join(prefix, "metrics"), MetricsHandler, args),
    ]

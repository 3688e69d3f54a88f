"""The capacity page's charts over time: ``api/charts`` (every chart, JSON) and
``api/charts/<name>.csv`` (one chart), for a token with read:users like the page
itself; and the charting library at ``vendor/chart.umd.min.js``, or a clear 503 where
it is not installed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from jupyterhub.utils import url_path_join
from tornado import web
from tornado.ioloop import IOLoop

from .accounting import RangeError
from .admin_handler import AdminHandler
from .authz import READ_ALL, require
from .chartlib import CHART_JS, MISSING
from .charts import CHARTS, ChartQuery, capacity_charts, chart_csv, charts_json, parse_chart_query
from .series import Chart

REFUSAL = "Only admins can see the capacity page"


class ChartsApiHandler(AdminHandler):
    async def charts(self) -> tuple[ChartQuery, dict[str, Chart], float]:
        now = self.ledger.clock()
        args = {k: self.get_argument(k, "") for k in ("since", "until", "bucket")}
        try:
            query = parse_chart_query(args, now)
        except RangeError as e:
            raise web.HTTPError(400, str(e)) from None
        # Seconds on a large site's week: off the loop, which also answers the servers'
        # api/me and the page's live view.
        charts = await IOLoop.current().run_in_executor(None, self.compute, query, now)
        return query, charts, now

    def compute(self, query: ChartQuery, now: float) -> dict[str, Chart]:
        until = min(query.until, now)
        records = self.ledger.overlapping(query.reads_from, until)
        queue = self.ledger.queue_overlapping(query.reads_from, until)
        return capacity_charts(query, self.inventory, records, queue, now)


class ChartsHandler(ChartsApiHandler):
    @web.authenticated
    @require(READ_ALL, REFUSAL)
    async def get(self) -> None:
        query, charts, now = await self.charts()
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(charts_json(query, charts, now)))


class ChartCsvHandler(ChartsApiHandler):
    @web.authenticated
    @require(READ_ALL, REFUSAL)
    async def get(self, name: str) -> None:
        if name not in CHARTS:
            raise web.HTTPError(404, "No such chart; the charts are: " + ", ".join(CHARTS))
        _query, charts, _now = await self.charts()
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", f'attachment; filename="{name}.csv"')
        self.set_header("Cache-Control", "no-store")
        self.finish(chart_csv(charts[name]))


class MissingLibraryHandler(web.RequestHandler):
    """Stands where the library would be served: a clear 503, not an empty script."""

    def get(self, _name: str) -> None:
        self.set_status(503)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(MISSING)


def chart_routes(prefix: str, args: dict[str, Any], chart_js: Path | None) -> list[tuple]:
    """The charts' data and the library (``chart_js``: the file found, or None)."""
    serve = (
        (web.StaticFileHandler, {"path": str(chart_js.parent)})
        if chart_js is not None
        else (MissingLibraryHandler, {})
    )
    return [
        (url_path_join(prefix, "api/charts"), ChartsHandler, args),
        (url_path_join(prefix, r"api/charts/([^/]+)\.csv"), ChartCsvHandler, args),
        # That one file, not the package's folder.
        (url_path_join(prefix, "vendor/(" + re.escape(CHART_JS.name) + ")"), *serve),
    ]

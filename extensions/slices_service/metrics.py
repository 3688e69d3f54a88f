"""Prometheus metrics of slices and GPU-hours, labelled by team and slice, computed from
the ledger at each scrape (so they agree with the usage API and survive restarts)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from spawners.core.allocator import free_counts
from spawners.core.model import Inventory
from spawners.core.policy import Teams
from spawners.core.usage import NO_TEAM, period_bounds, usage_rows
from spawners.ledger.records import AllocationRecord

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class SliceCollector(Collector):
    def __init__(
        self,
        teams: Teams,
        inventory: Inventory,
        records: Sequence[AllocationRecord],
        now: float,
    ) -> None:
        self.teams = teams
        self.inventory = inventory
        self.records = records
        self.now = now

    def collect(self):
        charged = CounterMetricFamily(
            "sandbox_gpu_hours",
            "GPU-hours charged since the ledger began (hours x the share of its GPU the slice holds)",
            labels=["team", "slice"],
        )
        hours: Counter[tuple[str, str]] = Counter()
        for row in usage_rows(self.records, 0.0, self.now):
            hours[(row.team, row.slice_name)] += row.gpu_hours
        for (team, slice_name), value in sorted(hours.items()):
            charged.add_metric([team, slice_name], value)
        yield charged

        in_use = GaugeMetricFamily(
            "sandbox_slices_in_use",
            "Slices held now (reserved or active)",
            labels=["team", "slice"],
        )
        held = Counter(
            (r.team or NO_TEAM, r.slice_name) for r in self.records if r.released_at is None
        )
        for (team, slice_name), n in sorted(held.items()):
            in_use.add_metric([team, slice_name], n)
        yield in_use

        free = GaugeMetricFamily(
            "sandbox_slices_free", "Slices that could be granted now", labels=["slice"]
        )
        holdings = [h for r in self.records if r.released_at is None and (h := r.holding())]
        for slice_name, n in sorted(free_counts(self.inventory, holdings).items()):
            free.add_metric([slice_name], n)
        yield free

        used = GaugeMetricFamily(
            "sandbox_team_gpu_hours_used",
            "GPU-hours a team used in its current budget period",
            labels=["team", "period"],
        )
        budget = GaugeMetricFamily(
            "sandbox_team_gpu_hours_budget",
            "A team's GPU-hour budget per period (absent: unlimited)",
            labels=["team", "period"],
        )
        for team in self.teams.teams:
            period = team.policy.period
            start = period_bounds(self.now, period)[0]
            mine = [r for r in self.records if r.team == team.name]
            total = sum(row.gpu_hours for row in usage_rows(mine, start, self.now))
            used.add_metric([team.name, period.value], total)
            if team.policy.gpu_hours_per_team is not None:
                budget.add_metric([team.name, period.value], team.policy.gpu_hours_per_team)
        yield used
        yield budget


def render_metrics(
    teams: Teams, inventory: Inventory, records: Sequence[AllocationRecord], now: float
) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SliceCollector(teams, inventory, records, now))
    return generate_latest(registry)

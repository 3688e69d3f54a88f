"""An admin's Chromium draws the capacity page's charts over time with Chart.js (served
by the slices service, nothing from a CDN), in English and in Korean, and each chart's
CSV link downloads that chart's figures."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.extensions.support import chromium, log_in, running_hub
from tests.support.hub import REPO, Hub

pytestmark = pytest.mark.integration

ARTEFACTS = (
    Path(os.environ.get("SANDBOX_TEST_ARTEFACTS", REPO / ".cache" / "test-artefacts"))
    / "capacity-charts"
)
NAMES = ["slices", "queue", "gpu-hours", "fragmentation"]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with running_hub(tmp_path_factory.mktemp("charts-page")) as hub:
        for user, options in (
            ("alice", {"image": "base", "slice": "1g.10gb"}),
            ("bob", {"image": "base", "slice": "2g.20gb"}),
        ):
            assert hub.spawn(user, options).status_code in (201, 202)
        for user in ("alice", "bob"):
            hub.wait_ready(user)
        yield hub


def drawn(page, name: str) -> dict:
    """What Chart.js holds for the chart ``name``, once the page has drawn it."""
    figure = f"figure.chart[data-chart='{name}']"
    try:
        page.wait_for_selector(f"{figure}[data-drawn='true']", timeout=60_000)
    except Exception:
        shown = page.locator("#charts").inner_text()
        pytest.fail(f"the {name} chart was not drawn; the page says: {shown}", pytrace=False)
    return page.evaluate(
        """(figure) => {
            const chart = window.Chart.getChart(document.querySelector(figure + " canvas"));
            return {
                type: chart.config.type,
                labels: chart.data.labels,
                datasets: chart.data.datasets.map((d) => ({ label: d.label, data: d.data })),
                height: chart.height,
                painted: chart.ctx.getImageData(0, 0, chart.width, chart.height).data
                    .some((v, i) => i % 4 === 3 && v > 0),
            };
        }""",
        figure,
    )


def test_the_page_draws_every_chart_and_links_its_csv(hub: Hub) -> None:
    with chromium() as browser:
        page = log_in(browser, hub, "admin")
        requests_made: list[str] = []
        page.on("request", lambda request: requests_made.append(request.url))
        page.goto(f"{hub.url}/services/slices/?lang=en")
        charts = {name: drawn(page, name) for name in NAMES}
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        page.locator("#charts").screenshot(path=str(ARTEFACTS / "charts-en.png"))

        slices = charts["slices"]
        assert slices["type"] == "line" and slices["painted"] and slices["height"] > 100
        assert sorted(d["label"] for d in slices["datasets"]) == ["1g.10gb", "2g.20gb"]
        assert all(max(d["data"]) > 0 for d in slices["datasets"])
        assert len(slices["labels"]) >= 7 * 24  # the default: the last 7 days by the hour
        assert charts["gpu-hours"]["type"] == "bar"
        assert [d["label"] for d in charts["gpu-hours"]["datasets"]] == ["(no team)"]
        assert charts["queue"]["datasets"] == []  # nobody waited
        assert page.locator("figure[data-chart='queue'] .empty").is_visible()
        assert not page.locator("#charts-error").is_visible()
        # Everything the page loaded came from the hub itself.
        assert requests_made and all(u.startswith(hub.url) for u in requests_made)

        # Each CSV link asks for the page's range; its rows are the chart's points (the
        # last bucket's mean moves on with the clock).
        for name in NAMES:
            href = page.locator(f"a.csv[data-chart='{name}']").get_attribute("href")
            assert href and f"api/charts/{name}.csv?" in href and "bucket=" in href
            response = page.request.get(f"{hub.url}{href}")
            assert response.status == 200
            rows = list(csv.reader(io.StringIO(response.text())))
            assert len(rows) - 1 == len(charts[name]["labels"])
            assert rows[0][1:] == [d["label"] for d in charts[name]["datasets"]]
            for i, row in enumerate(rows[1:-1]):
                assert [float(v) for v in row[1:]] == pytest.approx(
                    [d["data"][i] for d in charts[name]["datasets"]], abs=1e-6
                )

        # Another range redraws the same charts by the day.
        page.select_option("#chart-range", "30:day")
        page.wait_for_function(
            "() => window.Chart.getChart(document.querySelector("
            "\"figure[data-chart='slices'] canvas\")).data.labels.length <= 31"
        )
        href = page.locator("a.csv[data-chart='slices']").get_attribute("href")
        assert "bucket=day" in href


def test_the_charts_speak_korean(hub: Hub) -> None:
    with chromium() as browser:
        page = log_in(browser, hub, "admin")
        page.goto(f"{hub.url}/services/slices/?lang=ko")
        drawn(page, "slices")
        section = page.locator("#charts").inner_text()
        assert "시간에 따른 추이" in section and "팀별 일일 GPU 시간" in section
        gpu_hours = drawn(page, "gpu-hours")
        assert [d["label"] for d in gpu_hours["datasets"]] == ["(팀 없음)"]
        page.locator("#charts").screenshot(path=str(ARTEFACTS / "charts-ko.png"))

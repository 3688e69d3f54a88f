"""The capacity charts' endpoints of a real slices service (started by a real hub, on its
real ledger): JSON and CSV agree with each other, with the ledger's records and with
api/usage; bad queries get a clear 400; only read:users opens them; the charting
library is served from npm's copy."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from spawners.ledger.ledger import Ledger
from tests.extensions.support import running_hub
from tests.support.hub import REPO, Hub, wait_for

pytestmark = pytest.mark.integration

CHARTS = "/services/slices/api/charts"


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hub, dict, dict]]:
    """alice ran a 1g.10gb for a few seconds; then, while carol held the whole GPU, dave's
    start waited in the queue until he left it. The ledger's records of both."""
    with running_hub(tmp_path_factory.mktemp("charts")) as hub:
        assert hub.spawn("alice", {"image": "base", "slice": "1g.10gb"}).status_code in (201, 202)
        hub.wait_ready("alice")
        time.sleep(2)
        hub.stop_server("alice")
        assert hub.spawn("carol", {"image": "base", "slice": "7g.80gb"}).status_code in (201, 202)
        hub.wait_ready("carol")
        assert hub.spawn("dave", {"image": "base", "slice": "1g.10gb"}).status_code == 202
        wait_for(lambda: queued(hub), 30, "dave's start to queue")
        time.sleep(2)
        hub.stop_server("dave")  # leaves the queue
        hub.stop_server("carol")
        ledger = Ledger(f"sqlite:///{hub.data / 'ledger.sqlite'}")
        try:
            [record] = [r for r in ledger.overlapping(0, time.time() + 60) if r.user == "alice"]
            [entry] = ledger.queue_overlapping(0, time.time() + 60)
        finally:
            ledger.dispose()
        assert record.released_at is not None and entry.ended_at is not None
        yield hub, record.__dict__, entry.__dict__


def queued(hub: Hub) -> bool:
    return bool(hub.get("/services/slices/api/queue", api=False).json()["queue"])


def charts(hub: Hub, **params: str):
    return hub.get(CHARTS, api=False, params=params)


def test_the_json_charts_what_the_ledger_recorded(ran) -> None:
    hub, alice, dave = ran
    # From the middle of alice's run: the whole hour's bucket counts, before `since` too.
    since = str((alice["activated_at"] + alice["released_at"]) / 2)
    r = charts(hub, since=since, bucket="hour")
    assert r.status_code == 200, r.text
    body = r.json()
    by_name = {c["name"]: c for c in body["charts"]}
    assert list(by_name) == ["slices", "queue", "gpu-hours", "fragmentation"]
    slices = by_name["slices"]
    assert list(slices["series"]) == ["1g.10gb", "7g.80gb"]  # alice's, then carol's
    ran_s = alice["released_at"] - alice["activated_at"]
    assert ran_s > 1
    # The mean over each bucket: alice's seconds in it over its length (up to now).
    expected = []
    for start in slices["starts"]:
        end = min(start + 3600, body["now"])
        inside = min(alice["released_at"], end) - max(alice["activated_at"], start)
        expected.append(max(0.0, inside) / (end - start))
    assert slices["series"]["1g.10gb"] == pytest.approx(expected, abs=1e-6)
    assert sum(slices["series"]["1g.10gb"]) > 0
    # GPU-hours: the day's charge is api/usage's for the same day (no teams on this hub).
    gpu_hours = by_name["gpu-hours"]
    assert gpu_hours["bucket"] == "day" and list(gpu_hours["series"]) == [""]
    day = gpu_hours["starts"][-1]
    usage = hub.get(
        "/services/slices/api/usage",
        api=False,
        params={"since": str(day), "until": str(day + 86400)},
    ).json()
    assert gpu_hours["series"][""][-1] == pytest.approx(usage["by_team"][""], abs=1e-6)
    assert usage["by_team"][""] > alice["weight"] * ran_s / 3600  # and carol's
    # dave's wait, over each bucket's length as for the slices.
    queue = by_name["queue"]
    assert list(queue["series"]) == ["1g.10gb"]
    waited = []
    for start in queue["starts"]:
        end = min(start + 3600, body["now"])
        inside = min(dave["ended_at"], end) - max(dave["enqueued_at"], start)
        waited.append(max(0.0, inside) / (end - start))
    assert queue["series"]["1g.10gb"] == pytest.approx(waited, abs=1e-6)
    assert dave["ended_at"] - dave["enqueued_at"] > 1
    # One small slice, then a whole GPU: nothing was ever fragmented.
    assert by_name["fragmentation"]["series"] == {}


def test_each_csv_holds_the_json_figures(ran) -> None:
    hub, _alice, _dave = ran
    params = {"since": str(time.time() - 6 * 3600), "bucket": "hour"}
    body = charts(hub, **params).json()
    for chart in body["charts"]:
        r = hub.get(f"{CHARTS}/{chart['name']}.csv", api=False, params=params)
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"].startswith("text/csv")
        assert f'filename="{chart["name"]}.csv"' in r.headers["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(r.text)))
        labels = ["(no team)" if k == "" else k for k in chart["series"]]
        assert rows[0] == ["start", *labels]
        assert len(rows) == 1 + len(chart["starts"])
        for i, row in enumerate(rows[1:]):
            # The last bucket holds now: its mean moves on a little between the requests.
            close = {"rel": 0.01} if i == len(rows) - 2 else {"abs": 1e-6}
            assert [float(v) for v in row[1:]] == pytest.approx(
                [chart["series"][k][i] for k in chart["series"]], **close
            )


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"bucket": "week"}, 400, "bucket: use hour or day"),
        ({"since": "last tuesday"}, 400, "since: not a date"),
        ({"since": "2025-03-12", "until": "2025-03-11"}, 400, "until must be after since"),
        ({"since": "2020-01-01"}, 400, "choose a shorter range or bucket=day"),
    ],
)
def test_a_bad_query_gets_a_clear_400(ran, params: dict, status: int, message: str) -> None:
    hub, _alice, _dave = ran
    for path in (CHARTS, f"{CHARTS}/slices.csv"):
        r = hub.get(path, api=False, params=params)
        assert r.status_code == status, r.text
        assert message in r.json()["message"]
        assert "Traceback" not in r.text


def test_an_unknown_chart_is_404_and_only_read_users_opens_them(ran) -> None:
    hub, _alice, _dave = ran
    r = hub.get(f"{CHARTS}/<script>.csv", api=False)
    assert r.status_code == 404
    assert r.json()["message"] == (
        "No such chart; the charts are: slices, queue, gpu-hours, fragmentation"
    )
    hub.ensure_user("bob")
    bob = {"Authorization": f"token {hub.user_token('bob')}"}
    for path in (CHARTS, f"{CHARTS}/slices.csv"):
        r = hub.get(path, api=False, headers=bob)
        assert r.status_code == 403
        assert "needs the read:users scope" in r.json()["message"]


def test_the_charting_library_is_npms_copy(ran) -> None:
    hub, _alice, _dave = ran
    r = hub.get("/services/slices/vendor/chart.umd.min.js", api=False)
    assert r.status_code == 200
    version = json.loads(Path(REPO, "package.json").read_text())["dependencies"]["chart.js"]
    assert r.text.startswith(f"/*!\n * Chart.js v{version}\n")
    # Only that file of the package is served.
    assert hub.get("/services/slices/vendor/chart.js", api=False).status_code == 404

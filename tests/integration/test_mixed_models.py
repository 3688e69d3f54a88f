"""A hub whose site mixes an H100 node and an H200 node, through the real hub, proxy and
slices service: each kind of spawn lands on the GPU whose model has it, is charged the
share of that GPU, and the capacity API shows both families."""

from __future__ import annotations

import pytest

from tests.support.hub import Hub, wait_for

pytestmark = pytest.mark.integration

MIXED_SITE = """
site: {name: Mixed hub}
hub:
  start_timeout: 120
  http_timeout: 90
  queue: {enabled: false}
gpus:
  source: declared
  nodes:
    - name: h100-node
      gpus:
        - index: 0
          mode: mig
          model: NVIDIA H100 80GB HBM3
          layout: [{profile: 3g.40gb, start: 0}, {profile: 1g.10gb, start: 4}]
    - name: h200-node
      gpus:
        - index: 0
          mode: mig
          model: h200-141gb
          layout: [{profile: 3g.71gb, start: 0}, {profile: 1g.18gb, start: 4}]
"""


def test_spawns_of_each_kind_land_on_the_right_gpu(make_hub) -> None:
    hub: Hub = make_hub(MIXED_SITE, name="mixed")
    inventory = hub.inventory()
    assert inventory["free"] == {"1g.10gb": 1, "3g.40gb": 1, "1g.18gb": 1, "3g.71gb": 1}
    assert [(f["family"], f["slices"]) for f in inventory["families"]] == [
        ("H100 80GB", ["1g.10gb", "3g.40gb"]),
        ("H200 141GB", ["1g.18gb", "3g.71gb"]),
    ]
    assert [g["family"] for g in inventory["gpus"]] == ["H100 80GB", "H200 141GB"]

    for user, slice_name in (("ana", "1g.18gb"), ("bo", "3g.40gb")):
        r = hub.spawn(user, {"slice": slice_name})
        assert r.status_code in (201, 202), r.text
    # The H200 held its one 1g.18gb: another is refused; an A100 40GB profile is not
    # offered here, and the refusal lists what both families offer.
    full = hub.spawn("cy", {"slice": "1g.18gb"})
    assert full.status_code == 409, full.text
    assert "No 1g.18gb slice is free right now" in full.json()["message"]
    other = hub.spawn("dee", {"slice": "1g.5gb"})
    assert other.status_code == 400, other.text
    assert "cpu, 1g.10gb, 3g.40gb, 1g.18gb, 3g.71gb" in other.json()["message"]

    hub.wait_ready("ana")
    hub.wait_ready("bo")
    by_user = {a["user"]: a for a in hub.allocations()}
    assert (by_user["ana"]["node"], by_user["ana"]["start"], by_user["ana"]["slots"]) == (
        "h200-node",
        4,
        [4],
    )
    assert by_user["ana"]["device_uuid"] == "MIG-declared-h200-node-0-1g.18gb-4"
    assert (by_user["bo"]["node"], by_user["bo"]["start"]) == ("h100-node", 0)
    # Each server is told its own GPU's model and the slice's memory on it.
    inside = {u: hub.slice_from_inside(u)["environment"] for u in ("ana", "bo")}
    assert inside["ana"]["SANDBOX_GPU_MODEL"] == "h200-141gb", inside
    assert inside["ana"]["SANDBOX_SLICE_MEMORY_GB"] == "18", inside
    assert inside["bo"]["SANDBOX_GPU_MODEL"] == "h100-80gb", inside
    assert inside["bo"]["SANDBOX_SLICE_MEMORY_GB"] == "40", inside
    weights = {u: hub.live_record(u).weight for u in ("ana", "bo")}
    assert weights == {"ana": pytest.approx(1 / 7), "bo": pytest.approx(1 / 2)}
    assert hub.inventory()["free"] == {"1g.10gb": 1, "3g.40gb": 0, "1g.18gb": 0, "3g.71gb": 1}

    for user in ("ana", "bo"):
        hub.stop_server(user)
    wait_for(lambda: hub.allocations() == [], 60, "the slices to be released")

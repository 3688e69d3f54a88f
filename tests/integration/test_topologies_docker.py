"""Docker on a bridge network, built for real: the test dockerd (the backend suites' own)
gets a bridge network of its own, on a private /24 that no interface here uses (no
iptables, no masquerading), and ``hub.internal_url`` is the bridge's gateway address, as
a site with ``network: sandbox`` (the default) would set it. A server container reaches the hub API (its readiness), the slices service (GPU
hours left and the team's quota warning, in ``api/sandbox/slice``) and the courses service
(the lab an instructor published is pulled into the home at start) across the bridge,
checked from outside through the proxy, then in Chromium: JupyterLab's status bar and
slice panel show the hub's figures, the Course labs panel lists the lab pulled at start
and how that pull went, and the lab's folder is in JupyterLab's file browser.

The image is the one the Docker backend tests use (``SERVER_IMAGE``); switch it to a
product image by changing that one name."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.backends.docker_images import SERVER_TAG
from tests.extensions.support import chromium, log_in
from tests.support.dockerd import DockerDaemon
from tests.support.hub import Hub, wait_for, write_site

pytestmark = pytest.mark.integration

SERVER_IMAGE = SERVER_TAG
"""The single-user image the containers run."""
USER = "dockbr1"
TEAM = "bridge-lab"
PROF = "dockprof"
COURSE = "net101"
NOTEBOOK = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def bridge_site(gateway: str, network: str, notebooks: Path) -> str:
    return f"""
site: {{name: Docker on a bridge}}
courses: {{notebooks: '{notebooks}'}}
hub:
  internal_url: http://{gateway}
  start_timeout: 60
  http_timeout: 30
  backend:
    kind: docker
    poll_interval: 2
    host_share: {{cpus_per_gpu: 1, memory_gb_per_gpu: 2, cpu_slice_cpus: 1, cpu_slice_memory_gb: 1}}
    docker:
      network: {network}
      gpu_device_requests: false
      images: {{base: "{SERVER_IMAGE}"}}
gpus: {{source: simulated, simulated_count: 1}}
teams:
  {TEAM}:
    kind: startup
    groups: [{TEAM}]
    policy:
      gpu_hours: {{per_team: 1}}
      # One 1g.10gb spends the hour in 7 h: warned as soon as it starts (the quota
      # warning servers must learn of).
      warn_before: 11h
"""


@dataclass
class Bridge:
    daemon: DockerDaemon
    network: str
    gateway: str
    hub: Hub


@pytest.fixture
def bridge(docker_engine, tmp_path: Path) -> Iterator[Bridge]:
    daemon, _ = docker_engine
    # The course repository the instructor publishes from.
    notebooks = tmp_path / "notebooks"
    (notebooks / COURSE / "lab1").mkdir(parents=True)
    (notebooks / COURSE / "lab1" / "intro.ipynb").write_text(json.dumps(NOTEBOOK))
    with daemon.bridge_network("sbx-bridge") as (network, gateway):
        hub = Hub(
            tmp_path / "hub",
            site=write_site(tmp_path / "site.yaml", bridge_site(gateway, network, notebooks)),
            env={"DOCKER_HOST": daemon.env["DOCKER_HOST"]},
        )
        try:
            yield Bridge(daemon, network, gateway, hub.start())
        finally:
            hub.stop()
            hub.remove_homes()


def _from_inside(hub: Hub, what: str) -> requests.Response:
    return requests.get(
        f"{hub.url}/user/{USER}/api/sandbox/{what}",
        headers={"Authorization": f"token {hub.user_token(USER)}"},
        timeout=30,
    )


def test_a_container_on_a_bridge_reaches_the_hub_and_its_services(bridge: Bridge) -> None:
    hub, daemon = bridge.hub, bridge.daemon
    for user in (USER, PROF):
        hub.ensure_user(user)
    for group, user in (
        (TEAM, USER),
        (f"{COURSE}-students", USER),
        (f"{COURSE}-instructors", PROF),
    ):
        assert hub.post(f"/groups/{group}", json={"users": [user]}).status_code == 201
    # The instructor publishes a lab before the student's server starts.
    published = requests.post(
        f"{hub.url}/services/courses/api/courses/{COURSE}/labs",
        json={"name": "lab1", "repo_path": f"{COURSE}/lab1", "title": "Networks"},
        headers={"Authorization": f"token {hub.user_token(PROF)}"},
        timeout=30,
    )
    assert published.status_code == 201, published.text
    r = hub.spawn(USER, {"image": "base", "slice": "1g.10gb"})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready(USER, timeout=90)

    # The container is on the bridge, with an address of the test's own subnet.
    [container] = daemon.docker("ps", "-q", "--filter", f"network={bridge.network}").stdout.split()
    networks = daemon.docker(
        "inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}} {{end}}",
        container,
    ).stdout.split()  # fmt: skip
    [(name, address)] = [n.split("=") for n in networks]
    assert name == bridge.network
    assert address.rsplit(".", 1)[0] == bridge.gateway.rsplit(".", 1)[0] != address

    # GPU-hours left and the team's quota warning, from the hub, read inside the server.
    def hub_view() -> dict | None:
        view = _from_inside(hub, "slice").json()
        kinds = {w.get("code") for w in view.get("warnings", [])}
        return view if view["hub_view"] and "team-budget" in kinds else None

    view = wait_for(hub_view, 30, "the hub's live view with the quota warning")
    assert view["budget"]["source"] == "hub" and view["budget"]["team"] == TEAM
    assert 0.9 < view["budget"]["gpu_hours_left"] <= 1.0
    [warning] = [w for w in view["warnings"] if w["code"] == "team-budget"]
    assert TEAM in warning["message"], warning

    # The courses service, as the Course labs panel reads it, and the pull at start.
    def pulled() -> dict | None:
        courses = _from_inside(hub, "courses")
        assert courses.status_code == 200, courses.text
        body = courses.json()
        return body if body["start_pull"].get("state") in ("done", "failed") else None

    body = wait_for(pulled, 30, "the course pull at start to finish")
    assert body["start_pull"] == {"state": "done", "message": "1 course lab(s) up to date."}
    # The lab is in the home inside the container, as Jupyter's own contents API lists it.
    contents = requests.get(
        f"{hub.url}/user/{USER}/api/contents/{COURSE}/lab1",
        headers={"Authorization": f"token {hub.user_token(USER)}"},
        timeout=30,
    )
    assert contents.status_code == 200, contents.text
    assert [f["name"] for f in contents.json()["content"]] == ["intro.ipynb"]

    # In Chromium: JupyterLab's status bar and slice panel show the hub's figures.
    with chromium() as browser:
        page = log_in(browser, hub, USER)
        page.goto(f"{hub.url}/user/{USER}/lab")
        status = page.locator("#jp-main-statusbar #sandbox-slice-status")
        status.wait_for()
        page.wait_for_function(
            "() => document.querySelector('#sandbox-slice-status').dataset.level === 'warning'"
        )
        assert status.inner_text().startswith("1g.10gb")
        status.click()
        panel = page.locator("#sandbox-slice-panel")
        panel.wait_for(state="visible")
        budget = panel.locator("tr[data-field='budget'] td").inner_text()
        assert budget == f"1.0 left for team {TEAM}", budget
        assert TEAM in panel.locator(".sandbox-Warnings").inner_text()

        # The lab pulled at start, in JupyterLab's file browser (the left sidebar's
        # default panel): its course folder in the home, the lab inside, the notebook.
        listing = page.locator("#filebrowser .jp-DirListing-content")
        listing.locator(f".jp-DirListing-item[title*='{COURSE}']").dblclick()
        listing.locator(".jp-DirListing-item[title*='lab1']").dblclick()
        listing.locator(".jp-DirListing-item[title*='intro.ipynb']").wait_for()

        # The Course labs panel: the lab, the version this home has, and the start pull.
        page.locator(".jp-SideBar .lm-TabBar-tab[data-id='sandbox-courses']").click()
        courses = page.locator("#sandbox-courses")
        courses.wait_for(state="visible")
        lab = courses.locator(f"li[data-course='{COURSE}'][data-lab='lab1']")
        lab.wait_for()
        assert lab.locator(".sandbox-Lab-title").inner_text() == f"Networks ({COURSE}/lab1)"
        assert "you have version 1 of 1" in lab.locator(".sandbox-Lab-meta").inner_text()
        start = courses.locator("[data-start-pull='done']")
        assert start.inner_text() == "At this server's start: 1 course lab(s) up to date."
    hub.stop_server(USER)

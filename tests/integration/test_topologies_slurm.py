"""Slurm across nodes, built for real: the hub, munged and slurmctld on this host; two
slurmd "GPU nodes", each in its own network namespace with its own address on a private
bridge (tests/support/netns.py) and its own fake MIG device; the hub's declared inventory
names both nodes and ``hub.internal_url`` is the host's address on that bridge.

Servers start on both nodes and reach the hub API (their port report), the slices service
(the live view in ``api/sandbox/slice``) and the courses service (``api/sandbox/courses``)
across the namespace boundary. Then one node dies (its slurmd, its jobs and its namespace):
the hub notices, releases that node's slice, cancels the job Slurm would requeue, tells
the user why on the spawn page, and the other node's server keeps serving."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.backends.engines import NV, ensure_unix_user, stop_all_servers
from tests.support.hub import Hub, wait_for, write_site
from tests.support.netns import Network
from tests.support.slurm import NODE_TIMEOUT_S, SlurmCluster

pytestmark = pytest.mark.integration

NODES = ("gpu-a", "gpu-b")
USERS = ("sbxslurm1", "sbxslurm2")
SLICE = "1g.10gb"


def site_across(net: Network) -> str:
    addresses = ", ".join(f"{name}: {net.nodes[name].address}" for name in NODES)
    nodes = "\n".join(
        f"    - name: {name}\n      gpus:\n        - index: 0\n          mode: mig\n"
        f"          layout: [{{profile: {SLICE}, start: 0}}]"
        for name in NODES
    )
    return f"""
site: {{name: Slurm across nodes}}
hub:
  internal_url: http://{net.host_address}
  start_timeout: 90
  http_timeout: 60
  backend:
    kind: slurm
    poll_interval: 2
    host_share: {{cpus_per_gpu: 1, memory_gb_per_gpu: 1, cpu_slice_cpus: 1, cpu_slice_memory_gb: 1}}
    slurm:
      partition: gpu
      gres_types: {{{SLICE}: {NV}{SLICE}}}
      node_addresses: {{{addresses}}}
gpus:
  source: declared
  nodes:
{nodes}
"""


@dataclass
class Topology:
    net: Network
    cluster: SlurmCluster
    hub: Hub


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[Topology]:
    for user in USERS:
        ensure_unix_user(user)
    with (
        Network.start(NODES) as net,
        SlurmCluster.start_across(net, {name: {f"{NV}{SLICE}": 1} for name in NODES}) as cluster,
    ):
        hub = Hub(
            tmp_path / "hub",
            site=write_site(tmp_path / "site.yaml", site_across(net)),
            env={"SLURM_CONF": str(cluster.conf)},
        )
        try:
            yield Topology(net, cluster, hub.start())
        finally:
            stop_all_servers(hub)
            hub.stop()
            hub.remove_homes()
            cluster.cancel_all()


def _node_of(cluster: SlurmCluster) -> dict[str, str]:
    """user -> the node their running job is on."""
    out = cluster.run("squeue", "-h", "-t", "RUNNING", "-o", "%u|%N").stdout
    return dict(line.split("|") for line in out.splitlines() if "|" in line)


def _form_post(session: requests.Session, url: str, fields: dict[str, str]) -> requests.Response:
    session.get(url, timeout=30)  # sets the _xsrf cookie the form must echo
    fields = {**fields, "_xsrf": session.cookies.get("_xsrf", "")}
    return session.post(url, data=fields, timeout=30)


def _browser_session() -> requests.Session:
    session = requests.Session()
    # What a browser sends when the user opens a page (JupyterHub's XSRF check of GETs).
    session.headers["Sec-Fetch-Mode"] = "navigate"
    return session


def _logged_in(hub: Hub, user: str) -> requests.Session:
    """A browser-like session of ``user``: signed up at /hub/signup, approved by the admin
    (credentials.json) at /hub/authorize, logged in at /hub/login."""
    password = secrets.token_urlsafe(18)
    signup = {"username": user, "signup_password": password}
    signup["signup_password_confirmation"] = password
    _form_post(_browser_session(), f"{hub.url}/hub/signup", signup).raise_for_status()
    creds = json.loads((hub.data / "credentials.json").read_text())
    admin = _browser_session()
    login = {"username": creds["admin_user"], "password": creds["admin_password"]}
    _form_post(admin, f"{hub.url}/hub/login", login).raise_for_status()
    # The admin clicks "Authorize" on /hub/authorize (the hub checks where a GET with a
    # side effect comes from).
    toggle = f"{hub.url}/hub/authorize/{user}"
    admin.get(
        toggle, headers={"Referer": f"{hub.url}/hub/authorize"}, timeout=30
    ).raise_for_status()
    session = _browser_session()
    _form_post(session, f"{hub.url}/hub/login", {"username": user, "password": password})
    assert session.cookies.get("jupyterhub-session-id"), f"{user} could not log in"
    return session


def _from_inside(hub: Hub, user: str, what: str) -> requests.Response:
    token = hub.user_token(user)
    return requests.get(
        f"{hub.url}/user/{user}/api/sandbox/{what}",
        headers={"Authorization": f"token {token}"},
        timeout=30,
    )


def test_servers_on_two_nodes_reach_the_hub_and_survive_the_loss_of_one(
    topology: Topology,
) -> None:
    net, cluster, hub = topology.net, topology.cluster, topology.hub
    for user in USERS:
        r = hub.spawn(user, {"image": "base", "slice": SLICE})
        assert r.status_code in (201, 202), r.text
    for user in USERS:
        hub.wait_ready(user, timeout=120)

    # One server per node: each node has one 1g.10gb device.
    placed = _node_of(cluster)
    assert sorted(placed) == sorted(USERS) and sorted(placed.values()) == sorted(NODES)
    for user in USERS:
        # The server reported its port to the hub API (it is ready), reads the hub's
        # live view from the slices service and the courses service, all across the
        # namespace boundary at hub.internal_url.
        inside = _from_inside(hub, user, "slice")
        assert inside.status_code == 200, inside.text
        view = inside.json()
        assert view["hub_view"] is True, view
        env = view["environment"]
        assert env["SANDBOX_SLICE"] == SLICE and env["CUDA_VISIBLE_DEVICES"] == "0"
        courses = _from_inside(hub, user, "courses")
        assert courses.status_code == 200, courses.text
        assert "courses" in courses.json()

        # The tutorials arrive in the home on the node too (a prefix runner: the hub
        # names the folder, which the nodes see on the shared filesystem).
        def merged(user: str = user) -> dict | None:
            status = _from_inside(hub, user, "tutorials").json()
            return status if status["state"] != "running" else None

        status = wait_for(merged, 60, f"{user}'s tutorials merge")
        assert status["state"] == "done", status
        # In the home as Jupyter lists it (copied now, or by an earlier start: homes
        # outlive servers, so a later start may have nothing to write).
        listing = requests.get(
            f"{hub.url}/user/{user}/api/contents/tutorials",
            headers={"Authorization": f"token {hub.user_token(user)}"},
            timeout=30,
        )
        assert listing.status_code == 200, listing.text
        assert listing.json()["content"], listing.json()
    assert {a["user"] for a in hub.allocations()} == set(USERS)

    # The node of the second user dies.
    survivor, victim = USERS
    dead = placed[victim]
    cluster.kill_node(dead)
    assert net.nodes[dead].alive is False

    deadline = NODE_TIMEOUT_S * 3 + 30
    wait_for(lambda: hub.server(victim) is None, deadline, f"the hub to notice {dead} is gone")
    assert cluster.node_states()[dead].startswith("down")
    # Its slice is released, and the job Slurm requeued is cancelled, not left to start
    # again unseen on another node.
    assert [a["user"] for a in hub.allocations()] == [survivor]
    wait_for(
        lambda: all(j["user"] != victim for j in cluster.jobs()), 30, "the lost job to be cancelled"
    )
    assert f"lost node {dead}" in hub.log_path.read_text(errors="replace")

    # The user is told why, on the page they land on to start again.
    page = _logged_in(hub, victim).get(f"{hub.url}/hub/spawn/{victim}", timeout=30)
    assert page.status_code == 200 and "/hub/spawn" in page.url, page.text[-500:]
    assert f"the cluster node it ran on ({dead}) stopped answering" in page.text
    assert "Its slice was given back" in page.text

    # The other node keeps serving, with the hub's live view.
    alive = _from_inside(hub, survivor, "slice")
    assert alive.status_code == 200 and alive.json()["hub_view"] is True
    assert _node_of(cluster) == {survivor: placed[survivor]}

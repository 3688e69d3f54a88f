"""Each of the five images `make images` builds, started through the real hub on the
Docker backend, answers from outside (through the proxy, with the user's own token):
its server extension gives the slice the hub allocated and the hub's live view of the
user (team, GPU-hours left, the same figure the slices service gives), and the tutorials
are in the home, merged by the server at its start. One hub, the five servers started at once.

The engine is the session's private dockerd (tests/backends/engines.py) on the host
network, with the fake NVIDIA hook, so each container is handed its MIG device."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.backends.engines import DOCKER_SHAPE, stop_all_servers
from tests.images.conftest import IMAGES
from tests.support.hub import Hub, wait_for, write_site

pytestmark = pytest.mark.integration

TEAM = "img-lab"
BUDGET = 10.0
USERS = {image: f"img{image}" for image in IMAGES}


def site(model_store: Path) -> str:
    return f"""
site: {{name: Images test}}
hub:
  start_timeout: 120
  http_timeout: 90
  backend:
    kind: docker
    poll_interval: 2
    model_store: {model_store}
    host_share: {json.dumps(DOCKER_SHAPE)}
    docker: {{network: host, gpu_device_requests: true}}
gpus: {{source: simulated, simulated_count: 1}}
teams:
  {TEAM}:
    kind: startup
    groups: [{TEAM}]
    policy: {{max_slices_per_member: 1, gpu_hours: {{per_member: {BUDGET}}}}}
"""


@pytest.fixture(scope="module")
def hub(docker_engine, docker_model_store: Path, tmp_path_factory) -> Iterator[Hub]:
    from tests.backends.docker_images import ensure_images

    daemon, _ = docker_engine
    ensure_images(daemon)  # sandbox/<image>:latest is this checkout's build
    tmp = tmp_path_factory.mktemp("images-hub")
    hub = Hub(
        tmp / "hub",
        site=write_site(tmp / "site.yaml", site(docker_model_store)),
        env={"DOCKER_HOST": daemon.env["DOCKER_HOST"]},
    )
    try:
        hub.start()
        for user in USERS.values():
            hub.ensure_user(user)
        assert hub.post(f"/groups/{TEAM}", json={"users": list(USERS.values())}).ok
        yield hub
    finally:
        stop_all_servers(hub)
        hub.stop()
        hub.remove_homes()


@pytest.fixture(scope="module")
def servers(hub: Hub) -> dict[str, str]:
    """image -> the user token of the user whose server runs it (all five at once)."""
    for image, user in USERS.items():
        r = hub.spawn(user, {"image": image, "slice": "1g.10gb"})
        assert r.status_code in (201, 202), f"{image}: {r.status_code} {r.text}"
    for image, user in USERS.items():
        try:
            hub.wait_ready(user, timeout=180)
        except AssertionError as e:
            raise AssertionError(f"sandbox/{image} did not become ready:\n{hub.log_tail()}") from e
    return {image: hub.user_token(user) for image, user in USERS.items()}


def _get(hub: Hub, token: str, path: str) -> requests.Response:
    return requests.get(f"{hub.url}{path}", headers={"Authorization": f"token {token}"}, timeout=30)


@pytest.mark.parametrize("image", IMAGES)
def test_the_slice_endpoint_answers_with_the_hubs_live_data(
    hub: Hub, servers: dict[str, str], image: str
) -> None:
    user, token = USERS[image], servers[image]
    [allocation] = [a for a in hub.allocations() if a["user"] == user]
    r = _get(hub, token, f"/user/{user}/api/sandbox/slice")
    assert r.status_code == 200, r.text
    info = r.json()
    env = info["environment"]
    assert env["SANDBOX_IMAGE"] == image and env["SANDBOX_SLICE"] == "1g.10gb"
    assert env["CUDA_VISIBLE_DEVICES"] == allocation["device_uuid"]
    assert env["SANDBOX_ALLOCATION_ID"] == str(allocation["id"])
    # The hub's view, read by the server with its own token across the proxy.
    assert info["hub_view"] is True, info
    me = _get(hub, token, "/services/slices/api/me").json()
    assert me["team"] == TEAM and info["budget"]["team"] == TEAM
    assert info["budget"]["source"] == "hub"
    assert info["budget"]["gpu_hours_budget"] == BUDGET
    # GPU-hours left: the slices service's own figure (both read within seconds).
    assert info["budget"]["gpu_hours_left"] == pytest.approx(me["budget"]["left"], abs=0.01)
    assert info["budget"]["gpu_hours_left"] < BUDGET


@pytest.mark.parametrize("image", IMAGES)
def test_the_tutorials_are_in_the_home(hub: Hub, servers: dict[str, str], image: str) -> None:
    user, token = USERS[image], servers[image]

    # The server merges them beside its start (extensions/sandbox_server/tutorials.py).
    def merge_finished() -> dict | None:
        status = _get(hub, token, f"/user/{user}/api/sandbox/tutorials").json()
        return status if status["state"] in ("done", "failed") else None

    merged = wait_for(merge_finished, 60, f"the tutorials' merge in {image}")
    assert merged["state"] == "done", merged
    r = _get(hub, token, f"/user/{user}/api/contents/tutorials")
    assert r.status_code == 200, r.text
    names = {item["name"] for item in r.json()["content"]}
    assert {"00-getting-started.ipynb", "speech", "vision", "medical", "legal"} <= names
    notebook = _get(hub, token, f"/user/{user}/api/contents/tutorials/00-getting-started.ipynb")
    assert notebook.status_code == 200 and notebook.json()["writable"] is True

"""The newcomer path: the embedded default, a spawn through the REST API, the slice
seen from inside the running server, and the slice given back on stop."""

from __future__ import annotations

import requests

from tests.support.hub import Hub


def test_vision_on_1g10gb_from_spawn_to_stop(make_hub) -> None:
    hub: Hub = make_hub()
    assert hub.inventory()["free"]["1g.10gb"] == 7

    r = hub.spawn("alice", {"image": "vision", "slice": "1g.10gb"})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready("alice")

    inside = hub.slice_from_inside("alice")
    env = inside["environment"]
    assert env["SANDBOX_SLICE"] == "1g.10gb"
    assert env["SANDBOX_IMAGE"] == "vision"
    assert env["SANDBOX_SLICE_SIMULATED"] == "1"
    assert env["CUDA_VISIBLE_DEVICES"].startswith("MIG-")
    assert inside["profile"] == "1g.10gb" and inside["simulated"] is True

    [allocation] = hub.allocations()
    assert allocation["user"] == "alice"
    assert allocation["state"] == "active"
    assert allocation["device_uuid"] == env["CUDA_VISIBLE_DEVICES"]
    assert len(allocation["slots"]) == 1
    free = hub.inventory()["free"]
    assert free["1g.10gb"] == 6
    # Wherever the mix-scored placement puts it, a lone 1g.10gb leaves the GPU's first
    # half whole: a 4g.40gb still fits beside it.
    assert free["4g.40gb"] == 1 and free["7g.80gb"] == 0

    hub.stop_server("alice")
    assert hub.allocations() == []
    assert hub.inventory()["free"]["1g.10gb"] == 7


def test_cpu_server_sees_no_gpu(make_hub) -> None:
    hub: Hub = make_hub()
    r = hub.spawn("carol", {"image": "legal", "slice": "cpu"})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready("carol")
    env = hub.slice_from_inside("carol")["environment"]
    assert env["SANDBOX_SLICE"] == "cpu"
    assert env["CUDA_VISIBLE_DEVICES"] == ""
    assert hub.inventory()["free"]["7g.80gb"] == 1


def test_login_page_and_spawn_form_with_free_counts(make_hub) -> None:
    hub: Hub = make_hub()
    creds = (hub.data / "credentials.json").read_text()
    import json

    password = json.loads(creds)["admin_password"]
    s = requests.Session()
    login = s.get(f"{hub.url}/hub/login", timeout=30)
    xsrf = s.cookies.get("_xsrf")
    r = s.post(
        f"{hub.url}/hub/login",
        data={"username": "admin", "password": password, "_xsrf": xsrf},
        timeout=30,
    )
    assert login.status_code == 200 and r.status_code == 200
    bad = requests.post(
        f"{hub.url}/hub/login",
        data={"username": "admin", "password": "wrong"},
        timeout=30,
        allow_redirects=False,
    )
    assert bad.status_code != 302 or "/hub/spawn" not in bad.headers.get("Location", "")
    form = s.get(f"{hub.url}/hub/spawn", timeout=30)
    assert form.status_code == 200
    for image in ("base", "speech", "vision", "medical", "legal"):
        assert f'value="{image}"' in form.text
    assert 'data-slice="1g.10gb">(7 free)' in form.text
    assert 'data-slice="7g.80gb">(1 free)' in form.text


def test_slices_service_permissions(make_hub) -> None:
    hub: Hub = make_hub()
    hub.ensure_user("dave")
    # What a logged-in user's browser holds for the service: access to it, nothing more.
    token = hub.user_token("dave", scopes=["access:services!service=slices"])
    headers = {"Authorization": f"token {token}"}
    inventory = hub.get("/services/slices/api/inventory", api=False, headers=headers)
    assert inventory.status_code == 200
    body = inventory.json()
    assert body["simulated"] is True
    [gpu] = body["gpus"]
    assert len(gpu["slots"]) == 8 and gpu["free"]["3g.40gb"] == 2
    denied = hub.get("/services/slices/api/allocations", api=False, headers=headers)
    assert denied.status_code == 403
    assert "Traceback" not in denied.text
    anonymous = requests.get(
        f"{hub.url}/services/slices/api/allocations", timeout=30, allow_redirects=False
    )
    assert anonymous.status_code in (302, 403)
    assert hub.get("/services/slices/api/allocations", api=False).status_code == 200

"""A server that crashes at start, and a hub killed with SIGKILL: nothing leaks."""

from __future__ import annotations

import os

from tests.support.hub import Hub, wait_for


def _home_config(hub: Hub, user: str, python: str) -> None:
    """Give the user's home a Jupyter config that runs ``python`` when the server starts
    (before the first spawn the user's account and home are made as the hub makes them)."""
    hub.write_home_file(user, ".jupyter/jupyter_server_config.py", python)


def test_server_that_crashes_at_start_leaves_no_allocation(make_hub) -> None:
    hub: Hub = make_hub()
    _home_config(hub, "crashy", "raise SystemExit('this server crashes at start')\n")
    r = hub.spawn("crashy", {"image": "base", "slice": "3g.40gb"})
    assert r.status_code in (202, 500), r.text
    wait_for(lambda: hub.server("crashy") is None, 60, "the failed server to be cleared")
    assert hub.allocations() == []
    assert hub.inventory()["free"]["3g.40gb"] == 2
    # The slot really is free again: two 3g.40gb fit.
    assert hub.spawn("ok1", {"slice": "3g.40gb"}).status_code in (201, 202)
    assert hub.spawn("ok2", {"slice": "3g.40gb"}).status_code in (201, 202)


def test_sigkill_with_running_and_pending_servers(make_hub) -> None:
    hub: Hub = make_hub()
    assert hub.spawn("alice", {"image": "vision", "slice": "1g.10gb"}).status_code in (201, 202)
    hub.wait_ready("alice")
    alice_before = hub.allocations()[0]

    # bob's server hangs while starting: his slice is reserved, not yet active.
    _home_config(hub, "bob", "import time\ntime.sleep(3600)\n")
    r = hub.spawn("bob", {"image": "base", "slice": "3g.40gb"})
    assert r.status_code == 202, r.text
    bob = wait_for(
        lambda: next(
            (a for a in hub.allocations() if a["user"] == "bob" and a["state"] == "reserved"), None
        ),
        60,
        "bob's reservation",
    )
    # His server process is running (and hanging in its config) when the hub dies.
    wait_for(lambda: _processes_with_home(hub, "bob"), 60, "bob's server process to start")

    hub.kill_hub_only()
    # Its services notice that their hub is gone and end, freeing their ports.
    wait_for(lambda: not _our_services(hub), 15, "the dead hub's services to end")
    hub.start()

    allocations = hub.allocations()
    assert [a["user"] for a in allocations] == ["alice"]
    assert allocations[0]["id"] == alice_before["id"]
    assert allocations[0]["slots"] == alice_before["slots"]
    assert hub.slice_from_inside("alice")["environment"]["SANDBOX_SLICE"] == "1g.10gb"
    assert bob["id"] not in {a["id"] for a in allocations}
    # bob's half-started server process is gone too.
    wait_for(lambda: not _processes_with_home(hub, "bob"), 30, "bob's abandoned server to stop")
    # Nothing is held twice: alice's slot is still hers, the 3g.40gb at 0 is free.
    free = hub.inventory()["free"]
    assert free["3g.40gb"] == 1 and free["1g.10gb"] == 6

    _home_config(hub, "bob", "")
    assert hub.spawn("bob", {"image": "base", "slice": "3g.40gb"}).status_code in (201, 202)
    hub.wait_ready("bob")
    slots = [s for a in hub.allocations() for s in a["slots"]]
    assert len(slots) == len(set(slots))


def _processes_with_home(hub: Hub, user: str) -> list[int]:
    marker = f"HOME={hub.home(user)}\0".encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if marker in f.read():
                    pids.append(int(entry))
        except OSError:
            continue
    return pids


def _our_services(hub: Hub) -> list[int]:
    """The slices, courses and quota services started for this hub's data folder."""
    data = f"SANDBOX_DATA={hub.data}\0".encode()
    names = [f"JUPYTERHUB_SERVICE_NAME={n}\0".encode() for n in ("slices", "courses", "quota")]
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                environ = f.read()
        except OSError:
            continue
        if data in environ and any(n in environ for n in names):
            pids.append(int(entry))
    return pids

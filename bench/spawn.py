"""Spawn overhead: POST-to-ready of our local backend (LocalSliceSpawner, configured by
hub_config/jupyterhub_config.py) vs stock JupyterHub, on the same JupyterHub build and
proxy, the two hubs running side by side and spawns interleaved.

As root (as a data center runs it) both arms isolate tenants: ours runs the server as the
user's own account jupyter-<name> in a cgroup of its own; stock LocalProcessSpawner runs
it as the user's existing unix account. Account creation (our first spawn) is excluded
from the samples and reported on its own, as is our stop-to-slot-free time (the slot is
given back only once the server's cgroup is empty)."""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from .hub import POLL_S, Hub, HubError, ours_hub, stock_hub
from .report import median, percentile, table
from .serverlog import listening_times

SPAWNS = 20
USER = "bench-user"
STOCK_USER = "sbxbench-stock"
"""The stock arm's hub user: as root, an existing unix account of that name."""
TARGET_RATIO = 1.10
OURS = "ours (LocalSliceSpawner)"
STOCK = "stock (LocalProcessSpawner)" if os.geteuid() == 0 else "stock (SimpleLocalProcessSpawner)"
OPTIONS = {"image": "base", "slice": "1g.10gb"}


def _user(hub: Hub) -> str:
    return USER if hub.name == "ours" else STOCK_USER


def _wait(hub: Hub, done, what: str, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = hub.request("GET", f"/users/{_user(hub)}")
        if status != 200:
            raise HubError(f"{hub.name}: GET user -> {status} {body}")
        if done(body):
            return body
        time.sleep(POLL_S)
    raise HubError(f"{hub.name}: {what} not reached within {timeout:.0f}s:\n{hub.log_tail()}")


def _ready(body: dict) -> bool:
    server = body.get("servers", {}).get("")
    return bool(server and server.get("ready"))


def _gone(body: dict) -> bool:
    return "" not in body.get("servers", {})


def _slot_free(hub: Hub) -> bool:
    status, body = hub.request("GET", "/services/slices/api/allocations", api=False)
    return status == 200 and not body["allocations"]


def spawn_once(hub: Hub, body: dict | None) -> tuple[float, float, float, float | None]:
    """Seconds from POST to ready, from DELETE to gone, the POST's epoch time, and (ours)
    seconds from DELETE until the ledger holds no allocation."""
    user = _user(hub)
    posted = time.time()
    t0 = time.perf_counter()
    status, answer = hub.request("POST", f"/users/{user}/server", body)
    if status not in (201, 202):
        raise HubError(f"{hub.name}: spawn -> {status} {answer}")
    _wait(hub, _ready, "ready", 90)
    spawned = time.perf_counter() - t0
    t1 = time.perf_counter()
    status, answer = hub.request("DELETE", f"/users/{user}/server")
    if status not in (202, 204):
        raise HubError(f"{hub.name}: stop -> {status} {answer}")
    freed = None
    if body is not None:
        while not _slot_free(hub):
            if time.perf_counter() - t1 > 60:
                raise HubError(f"{hub.name}: slot not free 60 s after the stop")
            time.sleep(0.02)
        freed = time.perf_counter() - t1
    _wait(hub, _gone, "stopped", 60)
    return spawned, time.perf_counter() - t1, posted, freed


def _stock_account() -> None:
    """The stock arm's unix account (stock LocalProcessSpawner does not create one)."""
    if os.geteuid() != 0:
        return
    try:
        pwd.getpwnam(STOCK_USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", STOCK_USER], check=True)


def _account_creation_s() -> float | None:
    """Seconds our backend takes to create a brand-new account and home (then removed)."""
    if os.geteuid() != 0:
        return None
    from spawners.backends.unix_accounts import ensure_account

    name = f"bench{secrets.token_hex(4)}"
    with tempfile.TemporaryDirectory(prefix="bench-homes-") as homes:
        t0 = time.perf_counter()
        account = ensure_account(name, "jupyter-", Path(homes))
        took = time.perf_counter() - t0
    subprocess.run(["userdel", account.name], check=False, capture_output=True)
    subprocess.run(["groupdel", account.name], check=False, capture_output=True)
    return took


def _to_listening(hub: Hub, posts: list[float]) -> list[float] | None:
    """Seconds from each POST to its server's "is running at" line (warm-up first);
    None when the log does not have one line per spawn."""
    times = listening_times(hub.log_path)
    if len(times) != len(posts):
        return None
    return [t - p for t, p in zip(times, posts, strict=True)]


def run(spawns: int = SPAWNS) -> dict[str, Any]:
    arms: dict[str, tuple[Hub, dict | None]] = {}
    samples: dict[str, list[float]] = {OURS: [], STOCK: []}
    freed: list[float] = []
    first_spawn: dict[str, float] = {}
    stops: dict[str, list[float]] = {OURS: [], STOCK: []}
    posts: dict[str, list[float]] = {OURS: [], STOCK: []}
    listening: dict[str, list[float] | None] = {}
    leftovers: dict[str, list[int]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-spawn-") as tmp:
        ours = ours_hub(Path(tmp))
        stock = stock_hub(Path(tmp), range(ours.port, ours.port + 4))
        arms = {OURS: (ours, OPTIONS), STOCK: (stock, None)}
        try:
            _stock_account()
            for hub, _ in arms.values():
                hub.start()
                status, answer = hub.request("POST", f"/users/{_user(hub)}")
                if status not in (201, 409):
                    raise HubError(f"{hub.name}: create user -> {status} {answer}")
            for name, (hub, body) in arms.items():  # warm-up: first-import, account, home
                first, _, posted, _ = spawn_once(hub, body)
                first_spawn[name] = first
                posts[name].append(posted)
            for i in range(spawns):
                order = list(arms) if i % 2 == 0 else list(reversed(arms))
                for name in order:
                    spawned, stopped, posted, slot = spawn_once(*arms[name])
                    samples[name].append(spawned)
                    stops[name].append(stopped)
                    posts[name].append(posted)
                    if slot is not None:
                        freed.append(slot)
        finally:
            for name, (hub, _) in arms.items():
                with contextlib.suppress(Exception):
                    hub.request("DELETE", f"/users/{USER}/server")
                leftovers[name] = hub.stop()
                listening[name] = _to_listening(hub, posts[name])
    ratio = median(samples[OURS]) / median(samples[STOCK])
    creation = _account_creation_s()
    up = {name: median(v[1:]) if v else None for name, v in listening.items()}
    return {
        "spawns": spawns,
        "options": OPTIONS,
        "arms": {
            name: {
                "median_s": median(samples[name]),
                "min_s": min(samples[name]),
                "max_s": max(samples[name]),
                "median_stop_s": median(stops[name]),
                "median_post_to_listening_s": up.get(name),
                "post_to_listening_s": (listening.get(name) or [None])[1:],
                "samples_s": samples[name],
                "leftover_pids_killed": leftovers.get(name, []),
                "first_spawn_s": first_spawn.get(name),
            }
            for name in samples
        },
        "isolated": os.geteuid() == 0,
        "account_creation_s": creation,
        "stop_to_slot_free_s": {
            "median": median(freed),
            "p95": percentile(freed, 95),
            "samples": freed,
        },
        "ratio_median_ours_vs_stock": ratio,
        "ratio_post_to_listening_ours_vs_stock": (
            up[OURS] / up[STOCK] if up.get(OURS) and up.get(STOCK) else None
        ),
        "target": f"<= {TARGET_RATIO}",
        "target_met": ratio <= TARGET_RATIO,
    }


def render(results: dict[str, Any]) -> str:
    rows = [
        [
            name,
            a["median_s"],
            a["min_s"],
            a["max_s"],
            a["median_post_to_listening_s"] or "n/a",
            a["median_stop_s"],
        ]
        for name, a in results["arms"].items()
    ]
    out = table(
        f"Spawn, {results['spawns']} interleaved spawns per arm (seconds; medians unless named)",
        ["arm", "POST-to-ready", "min", "max", "POST-to-listening", "DELETE-to-gone"],
        rows,
    )
    ratio = results["ratio_median_ours_vs_stock"]
    verdict = "MET" if results["target_met"] else "NOT MET"
    listening = results["ratio_post_to_listening_ours_vs_stock"]
    return "\n".join(
        [
            out,
            "",
            f"ratio ours/stock, POST-to-ready: {ratio:.3f}  (target {results['target']}: {verdict})",
            "ratio ours/stock, POST-to-listening: "
            + (f"{listening:.3f}" if listening else "n/a (log lines did not match the spawns)"),
            "first spawn (not in the samples; ours creates the account): "
            + ", ".join(f"{n} {a['first_spawn_s']:.2f} s" for n, a in results["arms"].items()),
            "account and home creation alone: "
            + (
                f"{results['account_creation_s'] * 1000:.0f} ms"
                if results["account_creation_s"] is not None
                else "n/a (not root)"
            ),
            "ours, DELETE to slot free (cgroup emptied, ledger released): median "
            f"{results['stop_to_slot_free_s']['median']:.3f} s, "
            f"p95 {results['stop_to_slot_free_s']['p95']:.3f} s",
        ]
    )

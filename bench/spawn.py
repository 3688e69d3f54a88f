"""Spawn overhead: POST-to-ready of our local backend (LocalSliceSpawner, configured by
hub_config/jupyterhub_config.py) vs stock SimpleLocalProcessSpawner, on the same
JupyterHub build and proxy, the two hubs running side by side and spawns interleaved."""

from __future__ import annotations

import contextlib
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from .hub import POLL_S, REPO, Hub, HubError, free_port_block
from .report import median, table
from .serverlog import listening_times

SPAWNS = 20
USER = "bench-user"
TARGET_RATIO = 1.05
OURS = "ours (LocalSliceSpawner)"
STOCK = "stock (SimpleLocalProcessSpawner)"
OPTIONS = {"image": "base", "slice": "1g.10gb"}


def _ours(tmp: Path) -> Hub:
    data = tmp / "ours"
    data.mkdir()
    port = free_port_block(4)
    token = secrets.token_hex(32)
    env = {"SANDBOX_PORT": str(port), "SANDBOX_DATA": str(data), "SANDBOX_ADMIN_TOKEN": token}
    return Hub("ours", REPO / "hub_config" / "jupyterhub_config.py", port, token, env, data)


def _stock(tmp: Path, avoid: range) -> Hub:
    data = tmp / "stock"
    data.mkdir()
    port = free_port_block(3, avoid=avoid)
    token = secrets.token_hex(32)
    env = {
        "BENCH_PORT": str(port),
        "BENCH_DATA": str(data),
        "BENCH_TOKEN": token,
        "BENCH_PROXY_TOKEN": secrets.token_hex(32),
    }
    return Hub(
        "stock", Path(__file__).with_name("stock_jupyterhub_config.py"), port, token, env, data
    )


def _wait(hub: Hub, done, what: str, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = hub.request("GET", f"/users/{USER}")
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


def spawn_once(hub: Hub, body: dict | None) -> tuple[float, float, float]:
    """Seconds from POST to ready, from DELETE to gone, and the POST's epoch time."""
    posted = time.time()
    t0 = time.perf_counter()
    status, answer = hub.request("POST", f"/users/{USER}/server", body)
    if status not in (201, 202):
        raise HubError(f"{hub.name}: spawn -> {status} {answer}")
    _wait(hub, _ready, "ready", 90)
    spawned = time.perf_counter() - t0
    t1 = time.perf_counter()
    status, answer = hub.request("DELETE", f"/users/{USER}/server")
    if status not in (202, 204):
        raise HubError(f"{hub.name}: stop -> {status} {answer}")
    _wait(hub, _gone, "stopped", 60)
    return spawned, time.perf_counter() - t1, posted


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
    stops: dict[str, list[float]] = {OURS: [], STOCK: []}
    posts: dict[str, list[float]] = {OURS: [], STOCK: []}
    listening: dict[str, list[float] | None] = {}
    leftovers: dict[str, list[int]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-spawn-") as tmp:
        ours = _ours(Path(tmp))
        stock = _stock(Path(tmp), range(ours.port, ours.port + 4))
        arms = {OURS: (ours, OPTIONS), STOCK: (stock, None)}
        try:
            for hub, _ in arms.values():
                hub.start()
                status, answer = hub.request("POST", f"/users/{USER}")
                if status not in (201, 409):
                    raise HubError(f"{hub.name}: create user -> {status} {answer}")
            for name, (hub, body) in arms.items():  # warm-up: first-import, first-home costs
                posts[name].append(spawn_once(hub, body)[2])
            for i in range(spawns):
                order = list(arms) if i % 2 == 0 else list(reversed(arms))
                for name in order:
                    spawned, stopped, posted = spawn_once(*arms[name])
                    samples[name].append(spawned)
                    stops[name].append(stopped)
                    posts[name].append(posted)
        finally:
            for name, (hub, _) in arms.items():
                with contextlib.suppress(Exception):
                    hub.request("DELETE", f"/users/{USER}/server")
                leftovers[name] = hub.stop()
                listening[name] = _to_listening(hub, posts[name])
    ratio = median(samples[OURS]) / median(samples[STOCK])
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
            }
            for name in samples
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
        ]
    )

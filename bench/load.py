"""A class logs in at once: the user journey hubtraf drives (log in, start a server, start
a kernel, run code, stop), for N users ramped over a minute, against our hub and stock
JupyterHub in the same run, alternating which goes first.

hubtraf is not on the package index, so the same journey is written here with the
project's own HTTP clients (requests for the hub and the server, tornado's websocket for
the kernel), one thread per user. Both arms log in through their login form with
personal accounts (NativeAuthenticator, signed up and approved before the timed part),
so both pay the same bcrypt check per login; both run each server as a real unix
account when run as root.

Reported per phase (arm x users x slice): servers started ok / failed, p50 and p95 of
POST-to-ready, the hub process's CPU seconds, and the p99 latency of ``GET /hub/api``
sampled every 250 ms during the burst (a probe of the hub's event-loop lag)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from .hub import Hub, HubError, ours_hub, stock_hub
from .report import median, percentile, table

RAMP_S = 60.0
READY_TIMEOUT_S = 600.0
SIMULATED_GPUS = 8
STOCK_PREFIX = "sbxload"
CODE = "sum(i * i for i in range(200_000))"
LOGS = Path(__file__).resolve().parent.parent / ".cache" / "bench"
LOGIN = "login?next=%2Fhub%2Fhome"
"""Log in to the home page: stock JupyterHub's default next page (/hub/spawn) would start
the server itself, before the journey's timed start."""


@dataclass
class Journey:
    user: str
    ok: bool = False
    start_s: float | None = None
    error: str = ""
    steps: dict[str, float] = field(default_factory=dict)


# --- the two hubs ----------------------------------------------------------------------


def _site(tmp: Path, starts: str) -> Path:
    # start_timeout and http_timeout stay at their defaults (JupyterHub's: 60 s, 30 s),
    # as in the stock arm: a start may not get more time than stock gives it.
    site = tmp / "site.yaml"
    site.write_text(
        "site: {name: Load test}\n"
        "hub:\n"
        "  culler: {enabled: false}\n"
        "  named_server_limit_per_user: 0\n"
        f"  simultaneous_starts: {starts}\n"
        f"gpus: {{source: simulated, simulated_count: {SIMULATED_GPUS}}}\n"
    )
    return site


def _public(hub: Hub) -> str:
    return hub.url.removesuffix("/hub/api")


# --- accounts before the timed part ----------------------------------------------------------


def _form(s: requests.Session, url: str, path: str, **fields: str) -> requests.Response:
    s.get(f"{url}/hub/login", timeout=60)
    xsrf = s.cookies.get("_xsrf", path="/hub/")
    return s.post(f"{url}/hub/{path}", data={**fields, "_xsrf": xsrf}, timeout=60)


def _stock_admin(hub: Hub) -> None:
    """The stock arm's first admin, as our hub makes its own (credentials.json)."""
    creds = {"admin_user": "admin", "admin_password": secrets.token_urlsafe(18)}
    path = hub.data / "credentials.json"
    path.write_text(json.dumps(creds))
    path.chmod(0o600)


def _sign_up_and_approve(hub: Hub, users: list[str]) -> dict[str, str]:
    """Personal accounts, made through the hub's real sign-up and approval pages (both
    arms log in the same way: NativeAuthenticator, one bcrypt check per login)."""
    url = _public(hub)
    creds = json.loads((hub.data / "credentials.json").read_text())
    admin = requests.Session()
    r = _form(admin, url, LOGIN, username=creds["admin_user"], password=creds["admin_password"])
    if not r.ok:
        raise HubError(f"ours: the admin cannot log in ({r.status_code})")
    passwords = {}
    for user in users:
        password = secrets.token_urlsafe(18)
        s = requests.Session()
        _form(
            s,
            url,
            "signup",
            username=user,
            signup_password=password,
            signup_password_confirmation=password,
        )
        r = admin.get(
            f"{url}/hub/authorize/{user}",
            headers={"Sec-Fetch-Site": "same-origin"},
            timeout=60,
            allow_redirects=False,
        )
        if r.status_code != 302:
            raise HubError(f"ours: approving {user} -> {r.status_code}")
        passwords[user] = password
    return passwords


def _stock_accounts(users: list[str]) -> None:
    """Stock LocalProcessSpawner needs each user's unix account to exist already."""
    if os.geteuid() != 0:
        return
    for user in users:
        try:
            pwd.getpwnam(user)
        except KeyError:
            subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", user], check=True)


# --- one user's journey ------------------------------------------------------------------


def _journey(url: str, user: str, password: str, body: dict | None, out: Journey) -> None:
    s = requests.Session()
    try:
        t = time.monotonic()
        r = _form(s, url, LOGIN, username=user, password=password)
        if not r.ok or "/hub/login" in r.url:
            raise RuntimeError(f"login -> {r.status_code}")
        out.steps["login"] = time.monotonic() - t
        xsrf = {"X-XSRFToken": s.cookies.get("_xsrf", path="/hub/") or ""}
        t = time.monotonic()
        r = s.post(f"{url}/hub/api/users/{user}/server", json=body, headers=xsrf, timeout=600)
        if r.status_code not in (201, 202):
            raise RuntimeError(f"spawn -> {r.status_code} {r.text[:200]}")
        if r.status_code == 202:
            _wait_ready(s, url, user, xsrf)
        out.start_s = time.monotonic() - t
        t = time.monotonic()
        _run_code(s, url, user)
        out.steps["kernel"] = time.monotonic() - t
        t = time.monotonic()
        s.delete(f"{url}/hub/api/users/{user}/server", headers=xsrf, timeout=600)
        out.steps["stop"] = time.monotonic() - t
        out.ok = True
    except Exception as e:  # one user's failure is a figure, not the end of the run
        out.error = str(e)[:300]


def _wait_ready(s: requests.Session, url: str, user: str, xsrf: dict[str, str]) -> None:
    """Wait as JupyterHub's own spawn-pending page does: on the server's progress event
    stream, one open request per user (polling the REST API instead would make a hub that
    answers fast serve more polls, and count them as its CPU)."""
    with s.get(
        f"{url}/hub/api/users/{user}/server/progress",
        headers={**xsrf, "Accept": "text/event-stream"},
        stream=True,
        timeout=READY_TIMEOUT_S,
    ) as r:
        r.raise_for_status()
        for line in r.iter_lines(decode_unicode=True):
            if not line or not line.startswith("data:"):
                continue
            event = json.loads(line[len("data:") :])
            if event.get("ready"):
                return
            if event.get("failed"):
                raise RuntimeError(f"start failed: {event.get('message', '')[:200]}")
    raise RuntimeError("the progress stream ended before the server was ready")


def _run_code(s: requests.Session, url: str, user: str) -> None:
    # Open JupyterLab as a browser does: the OAuth dance and the page set the cookies.
    s.get(f"{url}/user/{user}/lab", timeout=600).raise_for_status()
    base = f"{url}/user/{user}/api"
    xsrf = next((c.value for c in s.cookies if c.name == "_xsrf" and user in c.path), "")
    r = s.post(f"{base}/kernels", json={}, headers={"X-XSRFToken": xsrf}, timeout=600)
    r.raise_for_status()
    kernel = r.json()["id"]
    cookie = "; ".join(f"{c.name}={c.value}" for c in s.cookies)
    try:
        asyncio.run(_execute(base.replace("http://", "ws://"), kernel, cookie))
    finally:
        s.delete(f"{base}/kernels/{kernel}", headers={"X-XSRFToken": xsrf}, timeout=600)


async def _execute(base: str, kernel: str, cookie: str) -> None:
    conn = await websocket_connect(
        HTTPRequest(f"{base}/kernels/{kernel}/channels", headers={"Cookie": cookie})
    )
    msg_id = uuid.uuid4().hex
    header = {"msg_id": msg_id, "msg_type": "execute_request", "session": msg_id}
    conn.write_message(
        json.dumps(
            {
                "header": {**header, "username": "", "version": "5.3"},
                "parent_header": {},
                "metadata": {},
                "content": {"code": CODE, "silent": False},
                "channel": "shell",
            }
        )
    )
    try:
        while True:
            raw = await asyncio.wait_for(conn.read_message(), 600)
            if raw is None:
                raise RuntimeError("the kernel websocket closed")
            msg = json.loads(raw)
            if (
                msg.get("parent_header", {}).get("msg_id") == msg_id
                and msg["msg_type"] == "status"
                and msg["content"]["execution_state"] == "idle"
            ):
                return
    finally:
        conn.close()


# --- measuring the hub -----------------------------------------------------------------------


def _machine_cpu() -> tuple[float, float]:
    """(busy, idle) CPU seconds of the whole machine since boot, from /proc/stat: a
    phase that leaves cores idle while users wait admits too few starts at once."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields[:8]) - idle) / tick, idle / tick


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class LagProbe(threading.Thread):
    """GET /hub/api every 250 ms: how long the hub takes to answer the cheapest request."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.samples, self.done = url, [], threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.25):
            t = time.monotonic()
            with contextlib.suppress(requests.RequestException):
                requests.get(f"{self.url}/hub/api", timeout=60)
            self.samples.append(time.monotonic() - t)


def phase(hub: Hub, passwords: dict[str, str], body: dict | None) -> dict[str, Any]:
    url = _public(hub)
    users = list(passwords)
    journeys = [Journey(u) for u in users]
    probe = LagProbe(url)
    assert hub.proc is not None
    cpu0 = _cpu_seconds(hub.proc.pid)
    busy0, idle0 = _machine_cpu()
    probe.start()
    threads = []
    t0 = time.monotonic()
    for i, (user, out) in enumerate(zip(users, journeys, strict=True)):
        time.sleep(max(0.0, t0 + i * RAMP_S / len(users) - time.monotonic()))
        thread = threading.Thread(target=_journey, args=(url, user, passwords[user], body, out))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    probe.done.set()
    probe.join()
    busy1, idle1 = _machine_cpu()
    starts = [j.start_s for j in journeys if j.start_s is not None]
    # A user whose start failed has no server however long they wait: counted as slower
    # than every start that succeeded (the p95 of successes alone flatters an arm whose
    # slowest starts failed and so left the machine to the rest).
    everyone = starts + [math.inf] * (len(journeys) - len(starts))
    return {
        "users": len(users),
        "started": len(starts),
        "ok": sum(j.ok for j in journeys),
        "failed": sum(not j.ok for j in journeys),
        "errors": sorted({j.error for j in journeys if j.error})[:5],
        "start_p50_s": median(starts) if starts else None,
        "start_p95_s": percentile(starts, 95) if starts else None,
        "start_p95_all_s": percentile(everyone, 95),
        "hub_cpu_s": _cpu_seconds(hub.proc.pid) - cpu0,
        "lag_p99_s": percentile(probe.samples, 99) if probe.samples else None,
        "wall_s": time.monotonic() - t0,
        "machine_busy_s": busy1 - busy0,
        "machine_idle_s": idle1 - idle0,
    }


def run(
    sizes: tuple[int, ...] = (30, 60),
    slices: tuple[str, ...] = ("cpu", "1g.10gb"),
    starts: str = "auto",
) -> dict:
    """``starts``: our hub's ``hub.simultaneous_starts`` (a number or ``auto``), to size it."""
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        ours = ours_hub(Path(tmp), SANDBOX_SITE=str(_site(Path(tmp), starts)))
        stock = stock_hub(Path(tmp), range(ours.port, ours.port + 4), BENCH_AUTH="native")
        _stock_admin(stock)
        biggest = max(sizes)
        try:
            ours.start()
            stock.start()
            ours_users = [f"load{i:03d}" for i in range(biggest)]
            stock_users = [f"{STOCK_PREFIX}{i:03d}" for i in range(biggest)]
            ours_passwords = _sign_up_and_approve(ours, ours_users)
            _stock_accounts(stock_users)
            stock_passwords = _sign_up_and_approve(stock, stock_users)
            n = 0
            for size in sizes:
                for slice_name in slices:
                    arms = [
                        ("ours", ours, ours_passwords, {"image": "base", "slice": slice_name}),
                        ("stock", stock, stock_passwords, None),
                    ]
                    if n % 2:
                        arms.reverse()
                    n += 1
                    for name, hub, passwords, body in arms:
                        chosen = dict(list(passwords.items())[:size])
                        figures = phase(hub, chosen, body)
                        results.append({"arm": name, "slice": slice_name, **figures})
        finally:
            ours.stop()
            stock.stop()
            # The hubs' logs outlive the run's temp folder: a failed start is read there.
            LOGS.mkdir(parents=True, exist_ok=True)
            for hub in (ours, stock):
                with contextlib.suppress(OSError):
                    shutil.copyfile(hub.log_path, LOGS / f"load-{hub.name}.log")
    return {
        "phases": results,
        "ramp_s": RAMP_S,
        "simulated_gpus": SIMULATED_GPUS,
        "simultaneous_starts": starts,
    }


def render(results: dict[str, Any]) -> str:
    rows = [
        [
            p["arm"],
            p["users"],
            p["slice"],
            f"{p.get('started', 'n/a')} / {p['users']}",
            f"{p['ok']} / {p['failed']}",
            p["start_p50_s"] or "n/a",
            p["start_p95_s"] or "n/a",
            _p95_all(p),
            p["hub_cpu_s"],
            _idle_share(p),
            p["lag_p99_s"] or "n/a",
        ]
        for p in results["phases"]
    ]
    out = [
        table(
            f"Load: users ramped over {results['ramp_s']:.0f} s (seconds)",
            [
                "arm",
                "users",
                "slice",
                "servers up",
                "journeys ok / failed",
                "start p50",
                "start p95",
                "p95 all users",
                "hub CPU",
                "machine idle",
                "lag p99",
            ],
            rows,
        )
    ]
    by = {(p["arm"], p["users"], p["slice"]): p for p in results["phases"]}
    for (arm, users, slice_name), p in by.items():
        if arm != "ours" or ("stock", users, slice_name) not in by:
            continue
        s = by[("stock", users, slice_name)]
        if p["start_p95_s"] and s["start_p95_s"]:
            out.append(
                f"{users} users, {slice_name}: p95 ours/stock {p['start_p95_s'] / s['start_p95_s']:.2f}"
                f" (all users: {_ratio(p.get('start_p95_all_s'), s.get('start_p95_all_s'))}), "
                f"hub CPU ours/stock {p['hub_cpu_s'] / max(s['hub_cpu_s'], 1e-9):.2f}, "
                f"failed {p['failed']} vs {s['failed']}"
            )
        for phase_ in (p, s):
            if phase_["errors"]:
                out.append(f"  {phase_['arm']} errors: {'; '.join(phase_['errors'])}")
    return "\n".join(out)


def _p95_all(p: dict[str, Any]) -> str | float:
    value = p.get("start_p95_all_s")
    if value is None:
        return "n/a"
    return "never" if math.isinf(value) else value


def _idle_share(p: dict[str, Any]) -> str:
    busy, idle = p.get("machine_busy_s"), p.get("machine_idle_s")
    if busy is None or idle is None or busy + idle <= 0:
        return "n/a"
    return f"{100 * idle / (busy + idle):.0f}%"


def _ratio(ours: float | None, stock: float | None) -> str:
    if ours is None or stock is None:
        return "n/a"
    if math.isinf(stock):
        return "stock never reached its p95"
    return f"{ours / stock:.2f}"

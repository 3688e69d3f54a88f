"""The waitlist on the hub's side: waking queued starts when a slice frees, estimating
their start from the ledger, and resuming the queue after a hub restart.

The decisions are pure (spawners/core/waitlist.py) and the queue is the ledger's
(``sandbox_queue``); a queued start itself waits in SliceSpawnerMixin.start()."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from spawners.context import SliceContext
from spawners.core.waitlist import Running, Waiting, estimated_starts, expected_end
from spawners.ledger.schema import EXPIRED

RESUME_TOKEN_S = 300
"""Lifetime of the token a restarted hub starts a queued server with (deleted at once)."""
HUB_UP_WAIT_S = 120
"""How long the resumption waits for the hub's own API to answer after a start."""


class Waker:
    """Wakes every queued start of this hub when capacity may have changed (a slice
    given back, an entry gone); starts of other hubs notice at their next check."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None
        self.changes = 0
        """Counts the notifications: what the estimates cached since are worth."""

    def notify(self) -> None:
        self.changes += 1
        if self._event is not None:
            self._event.set()
            self._event = None

    async def wait(self, timeout: float) -> None:
        if self._event is None:
            self._event = asyncio.Event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)


capacity_changed = Waker()


def running_sessions(ctx: SliceContext, observed: Sequence[float], now: float) -> list[Running]:
    """The held slices with when each is expected back: its team's session limit
    (hub-wide members' policy), or earlier by the site's observed session lengths."""
    out = []
    for record in ctx.ledger.live():
        holding = record.holding()
        if holding is None:
            continue
        started = record.activated_at or record.created_at
        team = ctx.teams.get(record.team)
        limit = team.policy.max_session if team is not None else None
        ends = started + limit if limit is not None else None
        out.append(Running(holding, expected_end(started, ends, observed, now)))
    return out


ESTIMATES_TTL_S = 5.0
"""How long one replay of the queue answers every queued start of this hub (while the
order and the holdings stay as they were)."""
_estimates: list[tuple[Any, float, dict[int, float | None]]] = [(None, 0.0, {})]
"""The last replay, (key, valid until, starts by entry id): replaced whole, so a reader in
another thread sees one replay or the next."""


def estimate(ctx: SliceContext, order: Sequence[Waiting], entry_id: int) -> float | None:
    """When the entry may start (an estimate; None: no end in sight). Reads the ledger;
    one replay of the whole queue serves every queued start of this hub for a while."""
    now = ctx.ledger.clock()
    key = (tuple(w.id for w in order), capacity_changed.changes, id(ctx))
    cached_key, until, starts = _estimates[0]
    if cached_key != key or now >= until:
        observed = ctx.ledger.session_lengths()
        running = running_sessions(ctx, observed, now)
        starts = estimated_starts(order, ctx.inventory, running, now, observed, ctx.strategy)
        _estimates[0] = (key, now + ESTIMATES_TTL_S, starts)
    return starts.get(entry_id)


def resume_queue(app: Any, ctx: SliceContext) -> asyncio.Task:
    """After a hub restart, start again the queued servers whose starts died with an
    earlier hub process, in arrival order: each takes its entry over, with its place."""
    task = asyncio.get_running_loop().create_task(_resume(app, ctx))
    _resuming.add(task)
    task.add_done_callback(_resuming.discard)
    return task


_resuming: set[asyncio.Task] = set()


async def _resume(app: Any, ctx: SliceContext) -> None:
    log = app.log
    try:
        base = app.hub.url.replace("//0.0.0.0:", "//127.0.0.1:")
        if not await _hub_answers(base):
            log.error("queue: the hub's API did not answer; queued starts not resumed")
            return
        loop = asyncio.get_running_loop()
        entries = await loop.run_in_executor(None, ctx.ledger.queue)
        resumed = []
        for entry in entries:
            if entry.epoch == ctx.epoch:
                continue  # its user started it again already
            if ctx.ledger.clock() >= entry.expires_at:
                await loop.run_in_executor(
                    None,
                    ctx.ledger.leave_queue,
                    entry.id,
                    EXPIRED,
                    "expired while the hub was down",
                )
                continue
            resumed.append(entry)
        # All at once: each POST is answered only after JupyterHub's slow_spawn_timeout,
        # and the places are the entries' own, whatever order the starts arrive in.
        await asyncio.gather(*(_restart(app, base, e) for e in resumed))
    except Exception as e:  # the queue stays in the ledger: the users can start again
        log.error("queue: resuming queued starts failed: %s", e)


async def _hub_answers(base: str) -> bool:
    client = AsyncHTTPClient()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HUB_UP_WAIT_S
    while loop.time() < deadline:
        with contextlib.suppress(OSError, HTTPClientError):
            r = await client.fetch(f"{base}api/", raise_error=False, request_timeout=5)
            if r.code == 200:
                return True
        await asyncio.sleep(0.2)
    return False


async def _restart(app: Any, base: str, entry: Any) -> None:
    """Start the entry's server through the hub's own REST API, with a short-lived token
    of its user (so that the start is the one the user asked for, with the same checks)."""
    from jupyterhub import orm

    orm_user = orm.User.find(app.db, entry.user)
    if orm_user is None:
        app.log.warning("queue: user %s is gone; entry %s not resumed", entry.user, entry.id)
        return
    token = orm_user.new_api_token(
        note="resume a queued start after a hub restart",
        expires_in=RESUME_TOKEN_S,
        scopes=[f"servers!user={entry.user}"],
    )
    path = f"api/users/{quote(entry.user)}/server"
    if entry.server_name:
        path = f"api/users/{quote(entry.user)}/servers/{quote(entry.server_name)}"
    try:
        r = await AsyncHTTPClient().fetch(
            base + path,
            method="POST",
            headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
            body=json.dumps({"image": entry.image, "slice": entry.slice_name}),
            raise_error=False,
            request_timeout=60,
        )
        app.log.info("queue: resumed %s/%s: HTTP %s", entry.user, entry.server_name, r.code)
    finally:
        orm_token = orm.APIToken.find(app.db, token)
        if orm_token is not None:
            app.db.delete(orm_token)
            app.db.commit()

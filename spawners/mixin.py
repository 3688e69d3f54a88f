"""SliceSpawnerMixin: gives any JupyterHub spawner a slice.

start: validate user_options -> reserve in the ledger -> backend start -> activate;
any failure on the way releases the reservation. poll/stop release the slice when the
server is gone. The allocation id travels in get_state so a restarted hub finds it."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import AsyncIterator
from typing import Any

from jupyterhub.spawner import Spawner
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from traitlets import Bool, Float, Instance, Integer, Unicode, default

from spawners.context import SliceContext
from spawners.core.allocator import slice_families
from spawners.core.environment import slice_environment
from spawners.core.model import Refusal, RefusalCode
from spawners.core.options import Choices, OptionsError, options_from_form, parse_user_options
from spawners.core.policy import LimitRefusal, Membership, min_slice_refusal, no_team_refusal
from spawners.core.refusals import (
    NO_SLICE_CONFIGURATION,
    SLICE_NOT_CREATED,
    answer_timeout,
    engine_start_timeout,
    queue_ended,
    server_exited,
    start_crowded,
)
from spawners.core.server_env import ServerEnv, binding_budget, policy_environment
from spawners.core.waitlist import QueueCode, minutes_until
from spawners.form import render_form
from spawners.i18n import N_, current_language, refusal_text, translations
from spawners.ledger.ledger import QueueStatus, ServerAlreadyHolds
from spawners.ledger.records import AllocationRecord, QueueEntry
from spawners.ledger.schema import EXPIRED, LEFT
from spawners.processes import process_owners
from spawners.refusal_status import refused
from spawners.start_gate import StartGate, StartTimeout
from spawners.waitlist import capacity_changed, estimate

QUARANTINE_CHECK_SECONDS = 5.0
"""How often a quarantined slice is checked (and what is left on it killed again)."""
_watchers: set[asyncio.Task] = set()

PROBE_FIRST_PAUSE_S = 0.05
PROBE_MAX_PAUSE_S = 0.25
"""Pauses between readiness probes of a starting server: doubling from the first to the
most. A probe of a server still booting is a refused connection (microseconds of the
hub's CPU), while every moment a booted server goes unnoticed keeps its place at the
start gate from the next user in line."""
PROCESS_CHECK_S = 1.0
"""How often a starting server's process is checked for an early exit: an engine's poll
(a Docker inspect, for one) costs far more than an HTTP probe."""


class SliceSpawnerMixin(Spawner):
    """Mix in before the engine's spawner class: ``class X(SliceSpawnerMixin, EngineSpawner)``."""

    slice_context = Instance(
        SliceContext,
        allow_none=True,
        config=True,
        help="""The hub's shared slice machinery (inventory, ledger, policy, epoch).
        hub_config/jupyterhub_config.py builds it from the site file; every slice spawner
        of one hub must share the same one.""",
    )

    engine_name = Unicode(
        "local",
        help="""Name of the engine recorded with each allocation, so that reconciliation
        asks the right engine whether a server still runs.""",
    )

    start_gate = Instance(
        StartGate,
        allow_none=True,
        config=True,
        help="""Places for servers booting at once (hub.simultaneous_starts); starts beyond
        them wait in line, each user shown their place. None: no limit. Every slice
        spawner of one hub must share the same gate.""",
    )

    engine_start_timeout = Integer(
        60,
        config=True,
        help="""Seconds the engine may take to start a server (hub.start_timeout, as
        JupyterHub's Spawner.start_timeout means it); the server then has http_timeout to
        answer. JupyterHub's own start_timeout must cover the wait for a turn, this and
        http_timeout together (hub_config does the sum).""",
    )

    start_wait_timeout = Integer(
        600,
        config=True,
        help="""Seconds a start may wait for a turn at the start gate before it is given up
        with a message (hub.start_wait_timeout).""",
    )

    queue_enabled = Bool(
        False,
        config=True,
        help="""A start that finds no free slice waits in the ledger's queue (hub.queue.enabled)
        instead of being refused with HTTP 409: the spawn page shows its place and an
        estimated start, and it starts by itself when its turn comes. Local and Docker
        backends; Slurm keeps its own queue.""",
    )

    queue_expire_after = Integer(
        1800,
        config=True,
        help="""Seconds a queued start may wait for a slice before it is given up with a
        message (hub.queue.expire_after). JupyterHub's start_timeout must cover it
        (hub_config adds it).""",
    )

    queue_check_every = Float(
        5.0,
        config=True,
        help="""Seconds between a queued start's looks at the ledger when nothing on this hub
        woke it (hub.queue.check_every): slices given back by another hub, the estimate.""",
    )

    engine_chooses_device = False
    """The engine picks the GPU and sets CUDA_VISIBLE_DEVICES itself (Slurm's gres,
    Kubernetes' device plugin): the server's environment leaves the hub's view of the
    device out (spawners/core/environment.py)."""

    allocation: AllocationRecord | None = None
    queue_entry: QueueEntry | None = None
    """The queue entry this server's start waits on (None: not queued)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._progress_events: list[dict[str, Any]] = []
        self._progress_done = asyncio.Event()

    # --- what the user may choose ---------------------------------------------

    @property
    def _ctx(self) -> SliceContext:
        if self.slice_context is None:
            raise refused(NO_SLICE_CONFIGURATION)
        return self.slice_context

    def slice_groups(self) -> frozenset[str]:
        return frozenset(g.name for g in getattr(self.user, "groups", []) or [])

    def slice_choices(self) -> Choices:
        return self._ctx.choices_for(self.user.name, self.slice_groups())

    def slice_membership(self) -> Membership | None:
        """The user's team and role now (None on a hub without teams, or in no team)."""
        return self._ctx.membership(self.slice_groups())

    async def _default_options_form(self, spawner: Spawner) -> str:
        ctx = self._ctx
        membership = self.slice_membership()
        # The ledger is read off the hub's event loop: a burst of logins renders many forms.
        free, budget = await _off_loop(_form_figures, ctx, self.user.name, membership)
        return render_form(
            self.slice_choices(),
            free,
            ctx.images,
            ctx.site_name,
            membership=membership,
            budget=budget,
            refusal=no_team_refusal(self.user.name) if ctx.teams and not membership else None,
            families=slice_families(ctx.inventory),
            language=current_language(),
            site_description=ctx.site_description,
        )

    @default("options_form")
    def _options_form_default(self):
        return self._default_options_form

    def options_from_form(self, formdata: dict[str, list[str]]) -> dict[str, str]:
        return options_from_form(formdata)

    # --- start / stop ----------------------------------------------------------

    async def start(self) -> Any:
        self._progress_events = []
        self._progress_done = asyncio.Event()
        try:
            return await self._start_with_slice()
        finally:
            self._progress_done.set()

    async def _start_with_slice(self) -> Any:
        ctx = self._ctx
        membership = self.slice_membership()
        if ctx.teams and membership is None:
            self._restore_previous_options()
            refusal = no_team_refusal(self.user.name)
            raise refused(refusal)
        try:
            request = parse_user_options(self.user_options, self.slice_choices(), ctx.images)
        except OptionsError as e:
            self._restore_previous_options()
            raise refused(e) from None
        too_small = min_slice_refusal(
            request.image, ctx.images[request.image].min_slice, request.slice_name
        )
        if too_small is not None:
            self._restore_previous_options()
            raise refused(too_small)
        record = await self._reserve(ctx, request.image, request.slice_name, membership)
        self.allocation = record
        if record.gpu_index is None:
            self._emit(
                10, N_("allocating a %(slice)s slice on no GPU ..."), slice=record.slice_name
            )
        else:
            self._emit(
                10,
                N_("allocating a %(slice)s slice on GPU %(index)s ..."),
                slice=record.slice_name,
                index=record.gpu_index,
            )
        try:
            record = await self._materialise(ctx, record)
            async with self._turn_to_start():
                self._emit(30, N_("starting server with image %(image)s ..."), image=record.image)
                await self.before_engine_start(record)
                result = await self._engine_start()
                # Remember the engine's handle at once: if the hub dies now, reconciliation
                # can find (and stop) a server whose start never completed.
                await _off_loop(
                    ctx.ledger.record_engine, record.id, engine_ref=self.engine_reference()
                )
                self._emit(50, N_("waiting for the server to answer ..."))
                await self._wait_until_answering(result)
            self.allocation = await _off_loop(ctx.ledger.activate, record.id)
            self._emit(90, N_("server is up on its %(slice)s slice"), slice=record.slice_name)
            return result
        except BaseException:
            await self._release("failed to start")
            raise

    async def _reserve(
        self, ctx: SliceContext, image: str, slice_name: str, membership: Membership | None
    ) -> AllocationRecord:
        kwargs = dict(
            user=self.user.name,
            server_name=self.name,
            image=image,
            slice_name=slice_name,
            inventory=ctx.inventory,
            epoch=ctx.epoch,
            engine=self.engine_name,
            strategy=ctx.strategy,
            team=membership.team.name if membership else self.slice_team(),
            limits=ctx.admission(self.user.name, membership, slice_name),
        )
        decision = await _off_loop(_reserve_or_supersede, ctx.ledger, kwargs)
        if isinstance(decision, LimitRefusal):
            self._restore_previous_options()
            raise refused(decision)
        if isinstance(decision, Refusal):
            if decision.code is RefusalCode.NO_CAPACITY and self.queue_enabled:
                return await self._wait_in_queue(ctx, kwargs)
            raise refused(decision)
        return decision

    async def _wait_in_queue(self, ctx: SliceContext, kwargs: dict[str, Any]) -> AllocationRecord:
        """Wait in the ledger's queue until this start's turn comes, telling the user their
        place and the estimated start; the entry ends when the user stops the start
        (stop()), when it expires, or when the limits refuse it at its start."""
        entry = await _off_loop(
            ctx.ledger.enqueue,
            user=kwargs["user"],
            server_name=kwargs["server_name"],
            image=kwargs["image"],
            slice_name=kwargs["slice_name"],
            epoch=ctx.epoch,
            expire_after=self.queue_expire_after,
            team=kwargs["team"],
        )
        self.queue_entry = entry
        capacity_changed.notify()  # the others' places may have changed
        told: tuple | None = None
        start_kwargs = {
            k: kwargs[k] for k in ("inventory", "epoch", "engine", "strategy", "limits")
        }
        try:
            while True:
                if ctx.ledger.clock() >= entry.expires_at:
                    await _off_loop(ctx.ledger.leave_queue, entry.id, EXPIRED, "expired")
                    raise self._queue_ended(QueueCode.EXPIRED, entry)
                outcome = await _shielded(ctx.ledger.start_queued, entry.id, **start_kwargs)
                if isinstance(outcome, AllocationRecord):
                    self.queue_entry = None
                    capacity_changed.notify()  # the others move up
                    return outcome
                if isinstance(outcome, LimitRefusal):
                    self._restore_previous_options()
                    raise refused(outcome)
                if outcome.entry is None:
                    now = await _off_loop(ctx.ledger.queue_entry, entry.id)
                    code = QueueCode.EXPIRED if now and now.state == EXPIRED else QueueCode.LEFT
                    raise self._queue_ended(code, entry)
                at = await _off_loop(estimate, ctx, outcome.order, entry.id)
                minutes = None if at is None else minutes_until(at, ctx.ledger.clock())
                if (outcome.position, outcome.total, minutes) != told:
                    told = (outcome.position, outcome.total, minutes)
                    self._emit_place(outcome, minutes)
                await capacity_changed.wait(self.queue_check_every)
        except asyncio.CancelledError:
            # Cancelled by a stop (which leaves the queue next: JupyterHub polls, then
            # stops) or by the hub's own end (the entry waits for the next hub).
            raise
        except BaseException:
            self.queue_entry = None
            raise

    async def _leave_queue(self) -> None:
        """The user stopped a queued start: its entry leaves the queue."""
        entry, self.queue_entry = self.queue_entry, None
        if entry is not None:
            await _off_loop(self._ctx.ledger.leave_queue, entry.id, LEFT, "the start was stopped")
            capacity_changed.notify()

    def _emit_place(self, status: QueueStatus, minutes: int | None) -> None:
        if minutes is None:
            self._emit(
                5,
                N_("queue position %(position)s of %(total)s, no estimate yet"),
                position=status.position,
                total=status.total,
            )
            return
        self._emit(
            5,
            N_(
                "queue position %(position)s of %(total)s, about %(minutes)s min "
                "(an estimate from the running sessions)"
            ),
            position=status.position,
            total=status.total,
            minutes=minutes,
        )

    def _queue_ended(self, code: QueueCode, entry: QueueEntry) -> web.HTTPError:
        """The error of a queued start that ends without a slice: expired or left."""
        refusal = queue_ended(
            RefusalCode(code), entry.slice_name, entry.expires_at - entry.enqueued_at
        )
        # The last progress event says it too, in the user's language.
        shown = refusal_text(refusal, current_language())
        self._progress_events.append({"progress": 100, "message": shown})
        return refused(refusal)

    @contextlib.asynccontextmanager
    async def _turn_to_start(self) -> AsyncIterator[None]:
        """Wait for one of the hub's places for a booting server (hub.simultaneous_starts),
        telling the user their place in line; the slice is held meanwhile."""
        gate = self.start_gate
        if gate is None:
            yield
            return

        def told(place: int, starting: int) -> None:
            self._emit(
                20,
                N_(
                    "waiting for a turn to start: number %(place)s in line, %(starting)s starting now ..."
                ),
                place=place,
                starting=starting,
            )

        try:
            async with gate.turn(told, timeout=self.start_wait_timeout):
                yield
        except StartTimeout:
            raise refused(start_crowded(self.start_wait_timeout)) from None

    async def _engine_start(self) -> Any:
        """The engine's own start, within start_timeout (JupyterHub's contract: the time
        the engine may take, as the time to answer is http_timeout's)."""
        try:
            return await asyncio.wait_for(super().start(), self.engine_start_timeout)
        except TimeoutError:
            raise refused(engine_start_timeout(self.engine_start_timeout)) from None

    async def _wait_until_answering(self, started: Any) -> None:
        """Wait until the server answers HTTP, failing fast if its process exits.

        JupyterHub would otherwise wait out http_timeout for a server that crashed. The
        server has http_timeout (JupyterHub's contract) to answer; each probe may take
        all of the time that is left, so a server that answers slowly (a saturated
        machine, a hub whose HTTP clients are all busy) still counts as up."""
        if isinstance(started, tuple):
            ip, port = started
            url = f"http://{ip}:{port}"
        else:
            url = str(started).rstrip("/")
        url += self.server.base_url if self.server is not None else "/"
        client = AsyncHTTPClient()
        deadline = time.monotonic() + self.http_timeout
        pause = PROBE_FIRST_PAUSE_S
        next_check = 0.0
        while (left := deadline - time.monotonic()) > 0:
            if time.monotonic() >= next_check:
                status = await super().poll()
                if status is not None:
                    raise refused(server_exited(status))
                next_check = time.monotonic() + PROCESS_CHECK_S
            try:
                await client.fetch(
                    url,
                    raise_error=False,
                    connect_timeout=min(5.0, max(1.0, left)),
                    request_timeout=max(1.0, left),
                    follow_redirects=False,
                )
                return
            except (OSError, HTTPClientError):
                pass
            # Back off as JupyterHub's own wait does (doubling), capped low so a booted
            # server hands its place at the gate on at once.
            await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, PROBE_MAX_PAUSE_S)
        raise refused(answer_timeout(self.http_timeout))

    async def _materialise(self, ctx: SliceContext, record: AllocationRecord) -> AllocationRecord:
        """Create the MIG instance when the hub owns instance creation (dynamic, real GPUs)."""
        if (
            ctx.instances is None
            or record.device_uuid
            or record.start is None
            or record.gpu_index is None
        ):
            return record
        self._emit(
            20,
            N_("creating a %(slice)s MIG instance at slot %(start)s ..."),
            slice=record.slice_name,
            start=record.start,
        )
        loop = asyncio.get_running_loop()
        try:
            device = await loop.run_in_executor(
                None, ctx.instances.create, record.gpu_index, record.slice_name, record.start
            )
        except Exception as e:
            self.log.error("MIG instance creation failed: %s", e)
            raise refused(SLICE_NOT_CREATED) from None
        ctx.ledger.record_engine(record.id, device_uuid=device)
        record = ctx.ledger.get(record.id) or record
        self.allocation = record
        return record

    async def before_engine_start(self, record: AllocationRecord) -> None:
        """What the engine needs before the server starts (an account, a cgroup)."""

    async def engine_leftovers(self, record: AllocationRecord) -> list[str]:
        """Processes that still run on this allocation's slice after its server is gone
        (``<pid> (<owner>)``); the backend first kills what it can. The slice is handed
        on only when this is empty. Here: what NVML sees on a real device."""
        probe = self._ctx.device_processes
        if probe is None or record.simulated or not record.device_uuid:
            return []
        pids = await asyncio.get_running_loop().run_in_executor(None, probe, record.device_uuid)
        return process_owners(pids) or [f"pid {p}" for p in pids]

    def slice_team(self) -> str | None:
        """The team charged for this server: the user's team under the site's policy."""
        membership = self.slice_membership()
        return membership.team.name if membership else None

    def engine_reference(self) -> str | None:
        """What identifies the running server to its engine (pid, job id, container)."""
        return None

    def _restore_previous_options(self) -> None:
        # JupyterHub saved the refused options as this server's future defaults before
        # calling start; put back the last ones that worked so a refusal changes nothing.
        last = self._ctx.ledger.last_for(self.user.name, self.name)
        previous = {"image": last.image, "slice": last.slice_name} if last else {}
        self.user_options = previous
        if self.orm_spawner is not None:
            self.orm_spawner.user_options = previous
            if self.db is not None:
                self.db.commit()

    async def stop(self, now: bool = False) -> None:
        await self._leave_queue()
        try:
            await super().stop(now=now)
        finally:
            await self._release("server stopped")

    async def poll(self) -> int | None:
        status = await super().poll()
        if status is not None and self.queue_entry is not None:
            # A stop of a start still queued: JupyterHub polls it, finds no process and
            # does not call stop().
            await self._leave_queue()
        if status is not None and self.allocation is not None:
            await self._release("server exited")
        return status

    async def _release(self, reason: str) -> None:
        record = self.allocation
        if record is None:
            return
        ctx = self._ctx
        leftovers = await self.engine_leftovers(record)
        if leftovers:
            # Never hand a device on while something of the last server runs on it.
            why = f"{reason}; still running: {', '.join(leftovers)}"
            self.log.warning("quarantined allocation %s: %s", record.id, why)
            await _off_loop(ctx.ledger.quarantine, record.id, why)
            self.allocation = None
            watch_quarantine(self, record)
            return
        if await self._give_back(record, reason):
            self.allocation = None
            capacity_changed.notify()

    async def _give_back(self, record: AllocationRecord, reason: str) -> bool:
        """Destroy the MIG instance the hub created (if any), then release the slots."""
        ctx = self._ctx
        if ctx.instances is not None and record.start is not None and record.gpu_index is not None:
            try:
                await asyncio.get_running_loop().run_in_executor(
                    None, ctx.instances.destroy, record.gpu_index, record.slice_name, record.start
                )
            except Exception as e:
                # Keep the slots claimed: an instance we could not destroy is not free.
                self.log.error("could not destroy MIG instance of allocation %s: %s", record.id, e)
                return False
        await _off_loop(ctx.ledger.release, record.id, reason)
        return True

    # --- environment and state -------------------------------------------------

    def get_env(self) -> dict[str, str]:
        env = super().get_env()
        if self.allocation is not None:
            env.update(self.slice_env(self.allocation))
        # JupyterLab opens in the language of the page that started it (sandbox_server).
        env[ServerEnv.LANGUAGE] = current_language()
        return env

    def slice_env(self, record: AllocationRecord) -> dict[str, str]:
        env = slice_environment(
            slice_name=record.slice_name,
            image=record.image,
            device_uuid=record.device_uuid,
            gpu_uuid=record.gpu_uuid,
            gpu_index=record.gpu_index,
            simulated=record.simulated,
            allocation_id=record.id,
            gpu_model=self._ctx.inventory.gpu_model(record.gpu_uuid),
            engine_chooses_device=self.engine_chooses_device,
        )
        env.update(self.policy_env(record))
        return env

    def policy_env(self, record: AllocationRecord) -> dict[str, str]:
        """What the server knows of its team's limits when it starts; the live figures
        and warnings are at SANDBOX_USAGE_URL (the slices service's api/me)."""
        ctx = self._ctx
        env = {ServerEnv.USAGE_URL: ctx.usage_url} if ctx.usage_url else {}
        membership = ctx.teams.membership_in(record.team, self.slice_groups())
        if membership is None:
            return env
        policy = membership.policy
        budget = ctx.budget(self.user.name, membership)
        env.update(
            policy_environment(
                team=membership.team.name,
                role=membership.role.value,
                # Counted from now: the allocation becomes active once the server answers.
                ends_at=None
                if policy.max_session is None
                else ctx.ledger.clock() + policy.max_session,
                warn_before=policy.warn_before,
                budget=binding_budget(
                    budget.member_left, budget.member_limit, budget.team_left, budget.team_limit
                ),
            )
        )
        return env

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        if self.allocation is not None:
            state["sandbox_allocation_id"] = self.allocation.id
        return state

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        allocation_id = state.get("sandbox_allocation_id")
        if isinstance(allocation_id, int) and self.slice_context is not None:
            record = self._ctx.ledger.get(allocation_id)
            self.allocation = record if record is not None and record.state != "released" else None

    # clear_state is deliberately not overridden: JupyterHub calls it from poll() before
    # stop(), and stop() still needs to know which allocation to release.

    # --- progress --------------------------------------------------------------

    def _emit(self, progress: int, message: str, **params: Any) -> None:
        """A progress event in the user's language (the log keeps the English)."""
        # Engines' own messages come formatted already (no params): shown as they are.
        english = message % params if params else message
        self.log.info("%s: %s", self._log_name, english)
        shown = translations(current_language()).gettext(message)
        shown = shown % params if params else shown
        self._progress_events.append({"progress": progress, "message": shown})

    async def progress(self):
        """The slice's own events (allocating, creating, starting, waiting, up) with the
        engine's own progress chained in once the engine starts the server: KubeSpawner's
        pod events ("0/3 nodes are available: 3 Insufficient nvidia.com/mig-1g.10gb."),
        batchspawner's queue state. The engine's events are placed between the slice's
        "starting server" and "waiting for the server" steps, so the bar never goes back."""
        sent = shown = 0
        engine: Any = None
        engine_over = False
        step: asyncio.Future | None = None
        last_message = None
        watched = self._progress_done
        done = asyncio.ensure_future(watched.wait())
        try:
            while True:
                if watched is not self._progress_done:  # start() began after we did
                    done.cancel()
                    watched = self._progress_done
                    done = asyncio.ensure_future(watched.wait())
                while sent < len(self._progress_events):
                    event = self._progress_events[sent]
                    sent += 1
                    shown = max(shown, event.get("progress", 0))
                    yield event
                if done.done():
                    return
                if engine is None and not engine_over and shown >= _ENGINE_STEP:
                    engine = _engine_progress(self)
                    engine_over = engine is None
                if engine is not None and step is None:
                    step = asyncio.ensure_future(anext(engine))
                waiting = {done} if step is None else {done, step}
                await asyncio.wait(waiting, timeout=0.5, return_when=asyncio.FIRST_COMPLETED)
                if step is None or not step.done():
                    continue
                finished, step = step, None
                try:
                    event = finished.result()
                except StopAsyncIteration:
                    engine, engine_over = None, True
                    continue
                except Exception as e:  # the slice's own events go on without the engine's
                    self.log.warning("%s: engine progress failed: %s", self._log_name, e)
                    engine, engine_over = None, True
                    continue
                if not isinstance(event, dict) or event.get("message") == last_message:
                    continue  # batchspawner repeats its state every second
                last_message = event.get("message")
                event = dict(event)
                if isinstance(event.get("progress"), int | float):
                    banded = _ENGINE_STEP + int(event["progress"]) * _ENGINE_BAND // 100
                    shown = max(shown, min(banded, _ENGINE_STEP + _ENGINE_BAND - 1))
                    event["progress"] = shown
                yield event
        finally:
            done.cancel()
            if step is not None:
                step.cancel()
                with contextlib.suppress(BaseException):
                    await step
            if engine is not None:
                with contextlib.suppress(Exception):
                    await engine.aclose()


_ENGINE_STEP = 30
"""The slice's own progress when the engine's start begins (start() emits "starting
server with image ..." at 30): from then on the engine's own progress is chained in."""
_ENGINE_BAND = 20
"""The engine's events take 30..49, below the slice's "waiting for the server" at 50."""


def _engine_progress(spawner: SliceSpawnerMixin) -> Any:
    """The engine's own progress generator (KubeSpawner's pod events, batchspawner's
    queue state), or None for an engine with only JupyterHub's placeholder ("Spawning
    server...", which the slice's own events already say better)."""
    engine = super(SliceSpawnerMixin, spawner).progress
    if getattr(engine, "__func__", None) is Spawner.progress:
        return None
    return engine()


async def _off_loop(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a blocking call (the ledger's database transactions) in the default thread
    pool, so the hub's event loop keeps serving while it waits."""
    return await asyncio.get_running_loop().run_in_executor(
        None, functools.partial(fn, *args, **kwargs)
    )


async def _shielded(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """_off_loop for a call that may reserve a slice: if the waiting start is cancelled
    meanwhile, the call still finishes and what it reserved is given back."""
    call = asyncio.ensure_future(_off_loop(fn, *args, **kwargs))
    try:
        return await asyncio.shield(call)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            got = await call
            if isinstance(got, AllocationRecord):
                await _off_loop(fn.__self__.release, got.id, "the queued start was stopped")
        raise


def _reserve_or_supersede(ledger: Any, kwargs: dict[str, Any]) -> Any:
    try:
        return ledger.reserve(**kwargs)
    except ServerAlreadyHolds as stale:
        # JupyterHub only starts a server it knows is stopped, so a live allocation for
        # it is left over from a crash: give it back, then reserve again.
        ledger.release(stale.record.id, "superseded by a new start of the same server")
        return ledger.reserve(**kwargs)


def _form_figures(
    ctx: SliceContext, user: str, membership: Membership | None
) -> tuple[dict[str, int], Any]:
    """Free counts now and the user's budget: what the spawn form shows, in one go
    (from the context's one-second cache: the form is polled)."""
    budget = ctx.form_budget(user, membership) if membership else None
    return ctx.form_free_now(), budget


def watch_quarantine(spawner: SliceSpawnerMixin, record: AllocationRecord) -> None:
    """Release a quarantined slice once nothing runs on it any more (checked every few
    seconds; a hub restart hands the check to reconciliation)."""

    async def watch() -> None:
        while True:
            await asyncio.sleep(QUARANTINE_CHECK_SECONDS)
            try:
                left = await spawner.engine_leftovers(record)
            except Exception as e:  # keep watching: the slice must not leak either way
                spawner.log.error("checking quarantined allocation %s: %s", record.id, e)
                continue
            if not left and await spawner._give_back(record, "quarantine over: nothing left"):
                spawner.log.info("quarantine of allocation %s is over", record.id)
                return

    task = asyncio.get_running_loop().create_task(watch())
    _watchers.add(task)
    task.add_done_callback(_watchers.discard)

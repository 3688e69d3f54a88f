"""What every managed hub service does about its lifetime: it ends at once when the hub
stops it (JupyterHub sends SIGINT, then SIGTERM after a while, and waits for each service
in turn, so a service that lingers holds up the whole stop), it ends when the hub that
started it is gone (a SIGKILLed or crashed hub leaves its services behind, still holding
their ports), and it takes its port over from such a leftover of an earlier hub."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
import sys
import threading
import time
import weakref
from typing import Any

from tornado import web
from tornado.httpserver import HTTPServer

HUB_CHECK_SECONDS = 1.0
"""How often a service checks that its hub still runs."""
BIND_RETRY_SECONDS = 10.0
"""How long a service keeps trying for a port that a leftover is about to free."""
DRAIN_SECONDS = 2.0
"""How long a stopping service lets the requests it is answering finish."""


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""What the hub (or a terminal's Ctrl-C, or systemd) stops a service with."""

HUB_PID = os.getppid()
"""The hub: this process's parent when the service started (read on import, before the
service's slow imports and set-up, so a hub that dies meanwhile is not missed)."""


async def exit_with_hub(interval: float = HUB_CHECK_SECONDS) -> None:
    """Return when the hub (this process's parent at start) is gone: the service was
    reparented, so nobody will ever stop it and the next hub needs its port."""
    while os.getppid() == HUB_PID:
        await asyncio.sleep(interval)


async def until_stopped(interval: float = HUB_CHECK_SECONDS) -> str:
    """Return when the service should end: "signal" when asked to stop (SIGINT or
    SIGTERM), "orphaned" when its hub is gone. The handlers are installed here whatever
    the service inherited: a hub started from a background job of a shell ignores SIGINT
    and hands that on to its services, which would then keep the hub's stop waiting."""
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stopped.set)
    signalled = asyncio.ensure_future(stopped.wait())
    orphaned = asyncio.ensure_future(exit_with_hub(interval))
    try:
        await asyncio.wait([signalled, orphaned], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (signalled, orphaned):
            task.cancel()
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
    return "signal" if stopped.is_set() else "orphaned"


def exit_now(code: int = 0) -> None:
    """End the process at once once the service has stopped: its output flushed, but
    without the interpreter's teardown of every module, which takes half a second and
    more on a busy host. The hub stops its services one after the other and notices
    each exit only when it next looks, so every moment a service lingers adds up."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def interrupt_on_stop(interval: float = HUB_CHECK_SECONDS) -> None:
    """For a service whose main loop is not ours (jupyterhub-idle-culler): SIGINT and
    SIGTERM raise KeyboardInterrupt in the main thread (which such a service ends on),
    whatever this process inherited, and so does its hub's death (seen from a thread)."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.default_int_handler)

    def watch() -> None:
        while os.getppid() == HUB_PID:
            time.sleep(interval)
        # To the process, not this thread: the main thread takes it, even in a select().
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=watch, name="exit-with-hub", daemon=True).start()


def listen(app: Any, port: int, **kwargs: Any) -> HTTPServer:
    """``app.listen``, waiting a little while the port is held by a leftover service of
    an earlier hub (which leaves within HUB_CHECK_SECONDS of that hub's death)."""
    deadline = time.monotonic() + BIND_RETRY_SECONDS
    while True:
        try:
            return app.listen(port, **kwargs)
        except OSError as e:
            if e.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


_ANSWERING: weakref.WeakSet[web.RequestHandler] = weakref.WeakSet()


class FinishedOnStop:
    """A handler mixin (first among the bases) whose request a stopping service lets
    finish: when the loop ends, asyncio cancels every task, and tornado answers a
    cancelled handler with a bare 500 (a request that asked the hub just as it died would
    get that, not its 503). It is no RequestHandler itself, so that HubOAuthenticated,
    after it, still comes before RequestHandler's get_login_url and get_current_user."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _ANSWERING.add(self)  # type: ignore[arg-type]  (mixed into a RequestHandler)


async def drain(server: HTTPServer, grace: float = DRAIN_SECONDS) -> None:
    """Stop taking connections, then wait (at most `grace` seconds) for the requests
    being answered to finish."""
    server.stop()
    deadline = time.monotonic() + grace
    # tornado keeps no public "finished" flag; _finished is what finish() sets.
    while any(not h._finished for h in list(_ANSWERING)) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)

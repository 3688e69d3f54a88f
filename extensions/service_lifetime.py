"""What every managed hub service does about its lifetime: it ends when the hub that
started it is gone (a SIGKILLed or crashed hub leaves its services behind, still holding
their ports), and it takes its port over from such a leftover of an earlier hub."""

from __future__ import annotations

import asyncio
import errno
import os
import time
from typing import Any

HUB_CHECK_SECONDS = 1.0
"""How often a service checks that its hub still runs."""
BIND_RETRY_SECONDS = 10.0
"""How long a service keeps trying for a port that a leftover is about to free."""


async def exit_with_hub(interval: float = HUB_CHECK_SECONDS) -> None:
    """Return when the hub (this process's parent at start) is gone: the service was
    reparented, so nobody will ever stop it and the next hub needs its port."""
    parent = os.getppid()
    while os.getppid() == parent:
        await asyncio.sleep(interval)


def listen(app: Any, port: int, **kwargs: Any) -> None:
    """``app.listen``, waiting a little while the port is held by a leftover service of
    an earlier hub (which leaves within HUB_CHECK_SECONDS of that hub's death)."""
    deadline = time.monotonic() + BIND_RETRY_SECONDS
    while True:
        try:
            app.listen(port, **kwargs)
            return
        except OSError as e:
            if e.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                raise
            time.sleep(0.2)

"""When each single-user server started listening, read from its hub's log.

LocalProcessSpawner's servers write to the hub's stdout, so the hub log has one
"Jupyter Server ... is running at" line per spawn, stamped in local time. POST to that
line is the spawner's own work plus the server's start-up, without the time the hub
then takes to notice the server is up."""

from __future__ import annotations

import re
import time
from pathlib import Path

_LINE = re.compile(
    r"^\[I (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.(\d{3}) ServerApp\] Jupyter Server \S+ is running at"
)


def listening_times(log: Path) -> list[float]:
    """Epoch seconds of every "is running at" line, in order."""
    out: list[float] = []
    if not log.exists():
        return out
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        m = _LINE.match(line)
        if m:
            out.append(
                time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")) + int(m.group(2)) / 1000
            )
    return out

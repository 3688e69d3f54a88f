"""At most one transfer of a kind per user at a time (the service is one process with
one event loop, so a set is enough). A second one is refused at once rather than
queued: a waiting request would hold a connection and, for an upload, its body."""

from __future__ import annotations

from collections.abc import Hashable

RETRY_AFTER = 5
"""Seconds a refused caller is told to wait (Retry-After): a sync of a few labs' worth."""


class InFlight:
    def __init__(self) -> None:
        self._held: set[Hashable] = set()

    def claim(self, key: Hashable) -> bool:
        """True and held until release(key); False when ``key`` is already held."""
        if key in self._held:
            return False
        self._held.add(key)
        return True

    def release(self, key: Hashable) -> None:
        self._held.discard(key)

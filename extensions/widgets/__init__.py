"""Notebook helpers: ``SliceMonitor`` (an ipywidgets view of this server's slice) and
right-sizing advice (``after_oom``, ``after_session``). The widget is imported lazily so
the pure advice works where ipywidgets is not installed (the server extension uses it)."""

from __future__ import annotations

from typing import Any

from .advice import Advice, after_oom, after_session

__all__ = ["Advice", "SliceMonitor", "after_oom", "after_session", "install_oom_advice"]


def __getattr__(name: str) -> Any:
    if name in ("SliceMonitor", "install_oom_advice"):
        from . import monitor

        return getattr(monitor, name)
    raise AttributeError(name)

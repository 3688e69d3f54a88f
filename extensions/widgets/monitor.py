"""``SliceMonitor``: an ipywidgets view of this server's slice that a notebook can display.

    from extensions.widgets import SliceMonitor
    monitor = SliceMonitor()      # shows slice, memory, utilisation, warnings, advice
    monitor                       # display it; it refreshes every `interval` seconds

It reads the same data as the JupyterLab status bar (``slice_info``), in the kernel's
own process, and keeps the session's peak memory and mean utilisation for advice."""

from __future__ import annotations

import asyncio
import contextlib
import html
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import ipywidgets as w

from extensions.sandbox_server.slice_info import NvmlReader, slice_info
from spawners.core.server_env import ServerEnv

from .advice import Advice, after_oom, after_session


def _gb(n: float | None) -> str:
    return "?" if n is None else f"{n / 1e9:.1f} GB"


class SliceMonitor(w.VBox):
    def __init__(
        self,
        interval: float = 2.0,
        reader: NvmlReader | None = None,
        env: Mapping[str, str] = os.environ,
        allowed: Iterable[str] | None = None,
        autostart: bool = True,
        info_source: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.interval = interval
        self.allowed = tuple(allowed) if allowed is not None else None
        if reader is None and env.get(ServerEnv.SLICE_SIMULATED) != "1":
            from extensions.sandbox_server.nvml_reader import open_reader

            reader = open_reader()
        self._source = info_source or (lambda: slice_info(env, reader))
        self.title = w.HTML()
        self.memory = w.FloatProgress(min=0, max=1, description="memory", bar_style="info")
        self.memory_text = w.Label()
        self.util = w.FloatProgress(min=0, max=100, description="utilisation")
        self.util_text = w.Label()
        self.notes = w.HTML()
        super().__init__(
            [
                self.title,
                w.HBox([self.memory, self.memory_text]),
                w.HBox([self.util, self.util_text]),
                self.notes,
            ]
        )
        self.peak_memory_bytes = 0
        self._util_samples: list[float] = []
        self.info: dict[str, Any] = {}
        self._task: asyncio.Task | None = None
        self.refresh()
        if autostart:
            self.start()

    # --- data ------------------------------------------------------------------

    @property
    def mean_utilisation(self) -> float | None:
        if not self._util_samples:
            return None
        return sum(self._util_samples) / len(self._util_samples)

    def refresh(self) -> dict[str, Any]:
        info = self._source()
        self.info = info
        used, total = info.get("memory_used_bytes"), info.get("memory_total_bytes") or 0
        if used is not None:
            self.peak_memory_bytes = max(self.peak_memory_bytes, int(used))
        if info.get("utilisation_percent") is not None:
            self._util_samples.append(float(info["utilisation_percent"]))
        self._render(info, used, total)
        return info

    def advice(self) -> Advice | None:
        """A smaller slice if this session has used little of its slice so far."""
        return after_session(
            self.info.get("profile", ""),
            self.peak_memory_bytes,
            (self.info.get("session") or {}).get("elapsed_seconds") or 0,
            self.mean_utilisation,
            self.allowed,
        )

    def after_oom(self) -> Advice | None:
        return after_oom(self.info.get("profile", ""), self.allowed)

    # --- view ------------------------------------------------------------------

    def _render(self, info: dict[str, Any], used: int | None, total: int) -> None:
        profile = info.get("profile") or "no slice"
        badge = " <em>(simulated: no real GPU behind it)</em>" if info.get("simulated") else ""
        self.title.value = (
            f"<b>Slice {html.escape(profile)}</b> on image "
            f"{html.escape(info.get('image') or '?')}{badge}"
        )
        self.memory.value = (used or 0) / total if total and used is not None else 0
        self.memory_text.value = (
            f"{_gb(used)} of {_gb(total)}"
            if used is not None
            else f"? of {_gb(total)} (not measured)"
        )
        util = info.get("utilisation_percent")
        self.util.value = util or 0
        self.util_text.value = "not measured" if util is None else f"{util:.0f}%"
        notes = [f"<li>{html.escape(x['message'])}</li>" for x in info.get("warnings", [])]
        advice = self.advice()
        if advice is not None:
            notes.append(f"<li>Next time: {html.escape(advice.reason)}</li>")
        self.notes.value = f"<ul>{''.join(notes)}</ul>" if notes else ""

    # --- live refresh ----------------------------------------------------------

    def start(self) -> None:
        """Refresh every `interval` seconds on the kernel's event loop (when it has one)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            with contextlib.suppress(Exception):
                self.refresh()


def install_oom_advice(allowed: Iterable[str] | None = None, env: Mapping[str, str] = os.environ):
    """After a CUDA out-of-memory error in a cell, show the usual traceback and then
    which slice to ask for next time. Returns the exception types it watches."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return ()
    try:
        from torch.cuda import OutOfMemoryError

        types: tuple[type[BaseException], ...] = (OutOfMemoryError,)
    except ImportError:
        types = (MemoryError,)
    allowed_t = tuple(allowed) if allowed is not None else None

    def handler(shell, etype, value, tb, tb_offset=None):  # noqa: ANN001
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        advice = after_oom(env.get(ServerEnv.SLICE, ""), allowed_t)
        if advice is not None:
            print(f"Right-sizing: {advice.reason} Start your server with {advice.slice}.")
        return None

    shell.set_custom_exc(types, handler)
    return types

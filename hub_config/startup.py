"""The hub's start-up hook, and a proxy that stays stopped while the hub stops.

Loading the configuration (``hub_config/jupyterhub_config.py``, Zero to JupyterHub's
``hub.extraConfig``) only sets traits: ``jupyterhub --show-config``, ``jupyterhub
upgrade-db`` and ``jupyterhub token`` load it too, and must change nothing. What a hub
does once when it starts (migrate the ledger, reconcile it with what still runs, audit the
policy) is the start-up hook, ``SandboxProxy.start_up_hook``.

JupyterHub 6 has no start-up hook of its own, so the hook hangs on the one object every
way of running this hub creates exactly once per start, after the hub's database is ready
and before the hub loads any user's server: the proxy object (``JupyterHub.init_proxy``),
here configurable-http-proxy's class with the hook added. It runs whether the hub starts
the proxy itself (``make run``, Ansible) or a proxy runs beside it (Zero to JupyterHub),
and not for ``--show-config`` (which builds the whole application only to print its
configuration) nor for the subcommands (which never create a proxy). See
docs/operations.md."""

from __future__ import annotations

import asyncio
from typing import Any

from jupyterhub.proxy import ConfigurableHTTPProxy
from traitlets import Callable


def only_showing_config(app: Any) -> bool:
    """True when ``app`` was started to print its configuration, not to run."""
    return bool(getattr(app, "show_config", False) or getattr(app, "show_config_json", False))


def hub_is_stopping() -> bool:
    """True once JupyterHub has begun to shut down (a signal, or the admin's shutdown).

    JupyterHub runs its whole shutdown in one task of ``JupyterHub.shutdown_cancel_tasks``
    and tells nothing else about it until it stops the proxy, last."""
    try:
        tasks = asyncio.all_tasks()
    except RuntimeError:  # no running loop
        return False
    return any(
        getattr(task.get_coro(), "__qualname__", "") == "JupyterHub.shutdown_cancel_tasks"
        for task in tasks
    )


class SandboxProxy(ConfigurableHTTPProxy):
    """configurable-http-proxy, plus the hub's start-up hook, and never restarted while
    the hub shuts down (JupyterHub would otherwise start a proxy that something stopping
    the whole hub, such as systemd's default KillMode, has just ended)."""

    start_up_hook = Callable(
        None,
        allow_none=True,
        config=True,
        help="""Called once per hub start with the JupyterHub application, after the
        hub's database is ready and before any user's server is loaded. An exception
        stops the hub from starting. Not called for --show-config.""",
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.start_up_hook is not None and self.app is not None:
            if only_showing_config(self.app):
                self.log.info("--show-config: the start-up hook does not run")
            else:
                self.start_up_hook(self.app)

    async def check_running(self) -> None:
        if hub_is_stopping():
            return
        await super().check_running()

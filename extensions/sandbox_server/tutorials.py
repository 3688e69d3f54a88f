"""The tutorials in every home, on every backend: at each start the server merges the
current tutorials (the folder ``SANDBOX_TUTORIALS`` names: the image's
/opt/sandbox/tutorials, or the checkout's notebooks/ for a local server) into
``<home>/tutorials`` with the course labs' nbgitpuller rule (extensions/courses/puller.py):
copied at the first start; later, a file the user changed is kept, a file they left
alone is updated, a file they deleted comes back.

The merge runs in a thread of its own, so the server answers at once and a failure never
stops it; how it went is at ``GET <base_url>api/sandbox/tutorials``, which JupyterLab's
extension shows the user."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from extensions.courses.bundle import BundleError, read_folder
from extensions.courses.merge import Action
from extensions.courses.puller import merge_folder
from spawners.core.server_env import ServerEnv

from .handlers import AUTH_RESOURCE
from .language import server_gettext

"""The environment variable naming the folder of the current tutorials (unset: none)."""
FOLDER = "tutorials"
"""Where the tutorials go, relative to the server's root folder (the user's home)."""


def merge_tutorials(source: Path, home: Path) -> dict[str, list[str]]:
    """Merge the tutorials in ``source`` into ``home/tutorials``; the paths written and
    the paths kept because the user changed them. Raises BundleError or OSError."""
    target = home / FOLDER
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise BundleError(f"~/{FOLDER} is not a folder")
    steps = list(merge_folder(target, read_folder(source), {"source": str(source)}))
    return {
        "written": [s.path for s in steps if s.writes],
        "kept": [s.path for s in steps if s.action is Action.KEEP],
    }


def done_message(result: Mapping[str, list[str]], env: Mapping[str, str] | None = None) -> str:
    _ = server_gettext(os.environ if env is None else env)
    written, kept = result["written"], result["kept"]
    text = _("Tutorials in ~/%(folder)s: %(count)s file(s) copied or updated.") % {
        "folder": FOLDER,
        "count": len(written),
    }
    if kept:
        text += " " + _("Kept your edits of %(files)s.") % {"files": ", ".join(kept)}
    return text


def _merge_at_start(log: Any, source: Path, home: Path, status: dict[str, Any]) -> None:
    try:
        result = merge_tutorials(source, home)
    except (BundleError, OSError) as e:
        reason = str(e) if isinstance(e, BundleError) else (e.strerror or type(e).__name__)
        log.warning("sandbox: tutorials not merged from %s into %s: %s", source, home, e)
        _ = server_gettext(os.environ)
        message = _("The tutorials were not updated: %(reason)s.")
        status.update(state="failed", message=message % {"reason": reason})
        return
    except Exception as e:  # the merge must never take the server down
        log.error("sandbox: tutorials not merged from %s into %s: %r", source, home, e)
        _ = server_gettext(os.environ)
        message = _("The tutorials were not updated (an error).")
        status.update(state="failed", message=message)
        return
    log.info("sandbox: tutorials merged from %s into %s: %s", source, home / FOLDER, result)
    status.update(state="done", message=done_message(result), **result)


def start_merge(log: Any, env: Mapping[str, str], home: Path) -> dict[str, Any]:
    """Start the merge beside the server's start; returns the status it keeps up to date
    (``state``: none, running, done or failed; ``message`` for the user)."""
    _ = server_gettext(env)
    source = env.get(ServerEnv.TUTORIALS, "").strip()
    if not source:
        return {"state": "none", "message": ""}
    status: dict[str, Any] = {
        "state": "running",
        "message": _("Updating the tutorials ..."),
        # Names this start's merge, so JupyterLab announces it once, not at every reload.
        "merge_id": uuid.uuid4().hex,
    }
    threading.Thread(
        target=_merge_at_start, args=(log, Path(source), home, status), daemon=True
    ).start()
    return status


class TutorialsHandler(APIHandler):
    auth_resource = AUTH_RESOURCE

    @web.authenticated
    @authorized
    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(dict(self.settings.get("sandbox_tutorials") or {"state": "none"}))

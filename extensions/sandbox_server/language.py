"""JupyterLab opens in the hub's language: the spawner passes the language of the request
that started this server (SANDBOX_LANGUAGE), and it becomes the *default* of JupyterLab's
language setting through JupyterLab's own layer of defaults, a ``labconfig`` folder on
the Jupyter config path with ``default_setting_overrides.json``. The folder is this
process's own (a temporary one), so servers of other users, or of other languages, are not
touched; a language the user picks in JupyterLab (a user setting) still wins."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, MutableMapping
from pathlib import Path

from spawners.core.server_env import ServerEnv
from spawners.i18n import SOURCE_LANGUAGE, available_languages, translations
from spawners.i18n.lab import lab_locale

TRANSLATION_PLUGIN = "@jupyterlab/translation-extension:plugin"


def server_gettext(env: Mapping[str, str]) -> Callable[[str], str]:
    """gettext in this server's language (SANDBOX_LANGUAGE; English without one), for
    what the server extension tells the user (the tutorials' merge, the start pull)."""
    language = env.get(ServerEnv.LANGUAGE, "")
    return translations(language if language in available_languages() else SOURCE_LANGUAGE).gettext


def lab_language_defaults(env: MutableMapping[str, str], folder: Path | None = None) -> Path | None:
    """Write the default and put its folder first on JUPYTER_CONFIG_PATH (in ``env``,
    the server's environment, read again at every settings request). None when the
    server was given no language, or one the hub does not have."""
    language = env.get(ServerEnv.LANGUAGE, "")
    if language not in available_languages():
        return None
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="sandbox-lab-language-"))
        # One per server start: gone with the server, not left in /tmp for good.
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    labconfig = folder / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    (labconfig / "default_setting_overrides.json").write_text(
        json.dumps({TRANSLATION_PLUGIN: {"locale": lab_locale(language)}})
    )
    paths = [p for p in env.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep) if p]
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join([str(folder), *paths])
    return folder

"""Where the capacity page's charting library (Chart.js, from npm) is on this host.

Nothing is fetched from a CDN: the service serves the file npm installed. ``make setup``
installs it into this checkout's ``node_modules`` (package.json); the Ansible
``jupyterhub`` role installs it beside configurable-http-proxy, whose
``node_modules/.bin`` is on the hub's ``PATH`` (and so on the service's, which the hub
starts). Without it the page says so instead of drawing empty charts."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

CHART_JS = Path("chart.js/dist/chart.umd.min.js")
"""The UMD build (the one the package names for browsers): it defines ``window.Chart``."""

SERVED_AT = f"vendor/{CHART_JS.name}"
"""Where the slices service serves it, under its prefix."""

REPO = Path(__file__).resolve().parents[2]
PROXY = "configurable-http-proxy"

MISSING = (
    "The charting library (Chart.js) is not installed on the hub's host: run `make setup`"
    " (npm install), or converge the Ansible jupyterhub role, then restart the hub."
)


def node_modules_folders(path: str | None = None) -> list[Path]:
    """This checkout's node_modules, then the one the hub's proxy runs from."""
    folders = [REPO / "node_modules"]
    proxy = shutil.which(PROXY, path=path)
    if proxy is not None:
        # <prefix>/node_modules/.bin/configurable-http-proxy: not resolved, the link's
        # own folder is the prefix's.
        folders.append(Path(proxy).parent.parent)
    return folders


def find_chart_js(folders: Sequence[Path]) -> Path | None:
    """The first Chart.js file in ``folders``, or None."""
    for folder in folders:
        candidate = folder / CHART_JS
        if candidate.is_file():
            return candidate
    return None

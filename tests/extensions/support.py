"""Shared by the extension tests: a module-scoped real hub, the JupyterLab extension
build, and a Chromium driven by Playwright (Debian's /usr/bin/chromium, never
`playwright install`). Under CI=true a missing tool is a failure, never a skip."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.hub import REPO, Hub, write_site

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BUILD = REPO / "extensions" / "labextension" / "build.sh"

SITE = """
site: {name: Extensions test hub}
hub:
  start_timeout: 120
  http_timeout: 90
gpus:
  source: simulated
  simulated_count: 1
"""


def missing(what: str) -> None:
    """A missing component fails under CI and skips on a developer's machine."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{what} is required in CI", pytrace=False)
    pytest.skip(f"{what} is not available here")


@contextmanager
def running_hub(tmp: Path, name: str = "hub", **env: str) -> Iterator[Hub]:
    """One real hub (proxy, slices and courses services) for a test module."""
    if shutil.which("configurable-http-proxy", path=f"{REPO / 'node_modules' / '.bin'}") is None:
        missing("configurable-http-proxy (make setup)")
    site = write_site(tmp / f"{name}-site.yaml", SITE)
    hub = Hub(tmp / name, site=site, env=env)
    try:
        yield hub.start(timeout=120)
    finally:
        hub.stop()


def credentials(hub: Hub) -> dict[str, str]:
    return json.loads((hub.data / "credentials.json").read_text())


def build_labextension(if_changed: bool) -> subprocess.CompletedProcess:
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            missing(tool)
    args = ["bash", str(BUILD)] + (["--if-changed"] if if_changed else [])
    result = subprocess.run(args, capture_output=True, text=True, timeout=1200)
    if result.returncode != 0:
        pytest.fail(
            f"build.sh failed ({result.returncode}):\n{result.stdout[-6000:]}\n{result.stderr[-4000:]}",
            pytrace=False,
        )
    return result


@contextmanager
def chromium() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright package")
    if not CHROMIUM.exists():
        missing(str(CHROMIUM))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def log_in(browser: Any, hub: Hub, user: str) -> Any:
    """A fresh browser context logged in to the hub as ``user`` (shared-password login)."""
    creds = credentials(hub)
    password = creds["admin_password"] if user == "admin" else creds["user_password"]
    context = browser.new_context()
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", password)
    page.click("#login_submit")
    page.wait_for_url(lambda url: "/hub/login" not in url)
    return page

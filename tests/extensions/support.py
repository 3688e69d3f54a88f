"""Shared by the extension tests: a module-scoped real hub, the JupyterLab extension
build, and a Chromium driven by Playwright (Debian's /usr/bin/chromium, never
`playwright install`). Under CI=true a missing tool is a failure, never a skip."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.hub import REPO, Hub, write_site
from tests.support.requirements import missing

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


@contextmanager
def running_hub(
    tmp: Path, name: str = "hub", notebooks: Path | None = None, **env: str
) -> Iterator[Hub]:
    """One real hub (proxy, slices and courses services) for a test module; ``notebooks``:
    the folder the courses service publishes labs from (courses.notebooks)."""
    if shutil.which("configurable-http-proxy", path=f"{REPO / 'node_modules' / '.bin'}") is None:
        missing("configurable-http-proxy (make setup)")
    courses = f"courses: {{notebooks: '{notebooks}'}}\n" if notebooks else ""
    site = write_site(tmp / f"{name}-site.yaml", SITE + courses)
    hub = Hub(tmp / name, site=site, env=env)
    try:
        yield hub.start(timeout=120)
    finally:
        hub.stop()
        hub.remove_homes()


def run_service(module: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """A hub service's process (``python -m <module>``) run to its end with ``env`` and
    this checkout on its path, as the hub would start it."""
    return subprocess.run(
        [sys.executable, "-m", module],
        env={**env, "PYTHONPATH": str(REPO)},
        cwd=str(REPO),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


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
    """A fresh browser context logged in to the hub as ``user``, through the real pages.

    The admin logs in with the generated password of credentials.json. Anyone else, the
    first time on this hub, signs up at /hub/signup with a password of their own, is
    approved by the admin in the admin's own browser session (/hub/authorize), and then
    logs in; the password is kept, so later log-ins of that user on the hub reuse it."""
    key = (str(hub.data.resolve()), user)
    if user == credentials(hub)["admin_user"]:
        password = credentials(hub)["admin_password"]
    elif key in _PASSWORDS:
        password = _PASSWORDS[key]
    else:
        password = sign_up(browser, hub, user)
        approve(browser, hub, user)
        _PASSWORDS[key] = password
    return _log_in_with(browser, hub, user, password)


_PASSWORDS: dict[tuple[str, str], str] = {}
"""(data folder, user) -> the password that user signed up with on that hub."""


def _new_page(browser: Any) -> Any:
    context = browser.new_context()
    context.set_default_timeout(60_000)
    return context.new_page()


def _log_in_with(browser: Any, hub: Hub, user: str, password: str) -> Any:
    page = _new_page(browser)
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", password)
    page.click("#login_submit")
    try:
        page.wait_for_url(lambda url: "/hub/login" not in url)
    except Exception:
        error = page.locator(".login_error")
        why = error.inner_text() if error.count() else page.content()[:2000]
        pytest.fail(f"{user} could not log in: {why}", pytrace=False)
    return page


def sign_up(browser: Any, hub: Hub, user: str) -> str:
    """Sign ``user`` up through the hub's sign-up form; the password they chose."""
    password = secrets.token_urlsafe(18)
    page = _new_page(browser)
    try:
        response = page.goto(f"{hub.url}/hub/signup")
        assert response is not None and response.status == 200, "no sign-up page"
        page.fill("#username_input", user)
        page.fill("#password_input", password)
        page.fill("#password_confirmation_input", password)
        page.click("#signup_submit")
        alert = page.locator("div.alert")
        alert.wait_for()
        # Not open sign-up: the account waits for an admin.
        assert "sent to the admin" in alert.inner_text(), alert.inner_text()
    finally:
        page.context.close()
    return password


def approve(browser: Any, hub: Hub, user: str) -> None:
    """The admin, logged in in a browser of their own, authorizes ``user``'s sign-up."""
    admin = credentials(hub)["admin_user"]
    page = _log_in_with(browser, hub, admin, credentials(hub)["admin_password"])
    try:
        page.goto(f"{hub.url}/hub/authorize")
        row = page.locator(f"tr[id='{user}']")
        assert row.locator("td", has_text="No").count() == 1, "the sign-up is not pending"
        row.get_by_role("button", name="Authorize").click()
        page.wait_for_url(lambda url: "/hub/authorize" in url and f"/authorize/{user}" not in url)
        page.locator(f"tr.success[id='{user}']").wait_for()
    finally:
        page.context.close()

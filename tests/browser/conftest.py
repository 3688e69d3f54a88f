"""A real browser for tests: Playwright (from PyPI) driving Debian's Chromium.

``playwright install`` is never run: the browser is /usr/bin/chromium (or
SANDBOX_CHROMIUM), launched headless with the flags this machine needs. Where Chromium
or Playwright is missing the tests skip with the reason; under CI (``CI=true``) they fail."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.support.requirements import missing

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator:
    executable = os.environ.get("SANDBOX_CHROMIUM") or shutil.which("chromium") or ""
    if not executable or not os.access(executable, os.X_OK):
        missing("the browser tests need Debian's chromium (/usr/bin/chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the browser tests need the playwright package (requirements/test.txt)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()

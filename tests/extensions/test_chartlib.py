"""Where the capacity page's Chart.js comes from, and what the page and the service do
when it is not installed: a clear message and a 503, never an empty chart."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

from tornado import web
from tornado.httpclient import AsyncHTTPClient

from extensions.service_lifetime import listen
from extensions.slices_service.admin import TEMPLATES
from extensions.slices_service.chartlib import (
    CHART_JS,
    MISSING,
    REPO,
    SERVED_AT,
    find_chart_js,
    node_modules_folders,
)
from extensions.slices_service.charts_api import chart_routes
from spawners.i18n.web import render


def install(folder: Path, text: str = "/*! Chart.js */") -> Path:
    path = folder / CHART_JS
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


def test_make_setup_installs_the_version_package_json_names() -> None:
    found = find_chart_js(node_modules_folders(path=""))
    assert found == REPO / "node_modules" / CHART_JS, "run make setup (npm install)"
    version = json.loads((REPO / "package.json").read_text())["dependencies"]["chart.js"]
    assert found.read_text().startswith(f"/*!\n * Chart.js v{version}\n")


def test_a_production_host_has_it_beside_the_proxy(tmp_path: Path) -> None:
    # The Ansible role's layout: <prefix>/node_modules/.bin/configurable-http-proxy on PATH.
    bin_dir = tmp_path / "proxy" / "node_modules" / ".bin"
    bin_dir.mkdir(parents=True)
    proxy = bin_dir / "configurable-http-proxy"
    proxy.write_text("#!/bin/sh\n")
    proxy.chmod(0o755)
    folders = node_modules_folders(path=str(bin_dir))
    assert folders == [REPO / "node_modules", tmp_path / "proxy" / "node_modules"]
    installed = install(tmp_path / "proxy" / "node_modules")
    assert find_chart_js([tmp_path / "checkout" / "node_modules", folders[1]]) == installed
    assert find_chart_js([tmp_path / "nowhere"]) is None


def test_without_it_the_page_says_so_instead_of_drawing() -> None:
    missing = render(TEMPLATES, "charts.html", "en", prefix="/p/", chart_library=None)
    assert 'id="charts-missing"' in missing and "<canvas" not in missing
    assert "Chart.js) is not installed on the hub's host" in missing and "make setup" in missing
    assert "vendor/" not in missing
    korean = render(TEMPLATES, "charts.html", "ko", prefix="/p/", chart_library=None)
    assert "차트 라이브러리(Chart.js)가 설치되어 있지 않습니다" in korean
    present = render(TEMPLATES, "charts.html", "en", prefix="/p/", chart_library=SERVED_AT)
    assert f'src="/p/{SERVED_AT}"' in present and present.count("<canvas") == 4


def test_without_it_the_service_answers_503_where_the_script_would_be(tmp_path: Path) -> None:
    async def fetch(chart_js: Path | None, name: str):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        args = {"ledger": None, "inventory": None, "prefix": "/p/"}
        app = web.Application(chart_routes("/p/", args, chart_js))
        server = listen(app, port, address="127.0.0.1")
        try:
            return await AsyncHTTPClient().fetch(
                f"http://127.0.0.1:{port}/p/vendor/{name}", raise_error=False
            )
        finally:
            server.stop()

    missing = asyncio.run(fetch(None, CHART_JS.name))
    assert missing.code == 503 and missing.body.decode() == MISSING
    installed = install(tmp_path / "node_modules", "/*! the library */")
    served = asyncio.run(fetch(installed, CHART_JS.name))
    assert served.code == 200 and served.body == b"/*! the library */"
    assert asyncio.run(fetch(installed, "chart.js")).code == 404

"""The tutorials in a home on the local backend, through the real hub, proxy and server:
the first start copies the current tutorials into ~/tutorials; the user edits a notebook
(saved through Jupyter's contents API, as JupyterLab saves it); a new version of the
tutorials is published (one notebook changed, one the user edited changed too, one new);
the server restarts: the user's edit is kept, the untouched notebook is updated and the
new one is there, and JupyterLab (in Chromium) says so. When the tutorials cannot be
merged the server still starts and JupyterLab shows the failure. The hub names the
tutorials folder (SANDBOX_TUTORIALS), as an operator would; without it a local server
gets the checkout's notebooks/ (tests/extensions/test_tutorials.py)."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from spawners.core.server_env import ServerEnv
from tests.extensions.support import build_labextension, chromium, log_in
from tests.support.hub import Hub, wait_for

pytestmark = pytest.mark.integration

USER = "tutor1"


def notebook(source: str) -> dict:
    cell = {"cell_type": "code", "metadata": {}, "source": source, "outputs": [],
            "execution_count": None}  # fmt: skip
    return {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def publish(source: Path, files: dict[str, str]) -> None:
    for rel, code in files.items():
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_text(json.dumps(notebook(code)))


@pytest.fixture
def source() -> Iterator[Path]:
    # The users' own accounts read it: not under pytest's temp folders (mode 0700).
    folder = Path(tempfile.mkdtemp(prefix="sandbox-tutorials-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _api(hub: Hub, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(
        method,
        f"{hub.url}/user/{USER}/api/{path}",
        headers={"Authorization": f"token {hub.user_token(USER)}"},
        timeout=30,
        **kwargs,
    )


def start_and_merge(hub: Hub) -> dict:
    """Start the user's server; the tutorials' status once the merge beside it is over."""
    r = hub.spawn(USER, {"slice": "cpu"})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready(USER)

    def finished() -> dict | None:
        status = _api(hub, "GET", "sandbox/tutorials").json()
        return status if status["state"] in ("done", "failed") else None

    return wait_for(finished, 60, "the tutorials' merge at start")


def code_of(hub: Hub, name: str) -> str:
    r = _api(hub, "GET", f"contents/tutorials/{name}")
    assert r.status_code == 200, r.text
    return r.json()["content"]["cells"][0]["source"]


def test_first_start_copies_and_a_new_version_keeps_the_users_edit(make_hub, source: Path) -> None:
    publish(source, {"intro.ipynb": "x = 1", "domain/task.ipynb": "y = 1"})
    hub = make_hub(**{ServerEnv.TUTORIALS: str(source)})
    hub.ensure_user(USER)

    first = start_and_merge(hub)
    assert first["state"] == "done", first
    assert sorted(first["written"]) == ["domain/task.ipynb", "intro.ipynb"]
    listing = _api(hub, "GET", "contents/tutorials").json()
    assert sorted(f["name"] for f in listing["content"]) == ["domain", "intro.ipynb"]
    assert code_of(hub, "domain/task.ipynb") == "y = 1"

    # The user edits a tutorial and saves it, as JupyterLab does.
    saved = _api(
        hub, "PUT", "contents/tutorials/intro.ipynb",
        json={"type": "notebook", "format": "json", "content": notebook("x = 42  # mine")},
    )  # fmt: skip
    assert saved.status_code == 200, saved.text

    # A new version: both notebooks changed, one new; then the server restarts.
    publish(
        source,
        {"intro.ipynb": "x = 2", "domain/task.ipynb": "y = 2", "domain/new.ipynb": "z = 1"},
    )
    hub.stop_server(USER)
    second = start_and_merge(hub)
    assert second["state"] == "done", second
    assert second["kept"] == ["intro.ipynb"]
    assert sorted(second["written"]) == ["domain/new.ipynb", "domain/task.ipynb"]
    assert "Kept your edits of intro.ipynb." in second["message"]
    assert code_of(hub, "intro.ipynb") == "x = 42  # mine", "the user's edit is kept"
    assert code_of(hub, "domain/task.ipynb") == "y = 2", "the untouched notebook follows"
    assert code_of(hub, "domain/new.ipynb") == "z = 1", "the new notebook arrives"
    # The files are the user's own, in their home.
    home = hub.home(USER)
    assert (home / "tutorials" / "domain" / "new.ipynb").stat().st_uid == home.stat().st_uid

    build_labextension(if_changed=True)
    with chromium() as browser:
        page = log_in(browser, hub, USER)
        page.goto(f"{hub.url}/user/{USER}/lab")
        page.locator(".jp-DirListing-item[title*='tutorials']").wait_for()
        notice = page.locator(".jp-Notification-Toast-info", has_text="Kept your edits")
        notice.wait_for()
        assert "Kept your edits of intro.ipynb." in notice.inner_text()

        # The tutorials folder is gone (a broken installation): the server still starts,
        # the home is untouched, and JupyterLab shows why until the user dismisses it.
        source.rename(source.with_name(source.name + "-gone"))
        hub.stop_server(USER)
        third = start_and_merge(hub)
        assert third["state"] == "failed" and "no such folder" in third["message"], third
        assert code_of(hub, "intro.ipynb") == "x = 42  # mine"
        page.reload()
        error = page.locator(".jp-Notification-Toast-error", has_text="not updated")
        error.wait_for()
        assert "The tutorials were not updated: no such folder." in error.inner_text()
    source.with_name(source.name + "-gone").rename(source)
    hub.stop_server(USER)

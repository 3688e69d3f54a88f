"""An instructor publishes a lab; a student receives it at spawn, edits a notebook, pulls
an update without losing the edit, and hands in; the instructor sees the hand-in."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.extensions.support import build_labextension, chromium, log_in, running_hub
from tests.support.hub import Hub, wait_for

pytestmark = pytest.mark.integration

EDIT = "# my answer: 42"


def notebook(source: str) -> str:
    cell = {"cell_type": "code", "metadata": {}, "source": source, "outputs": [],
            "execution_count": None}  # fmt: skip
    # A kernelspec, so that JupyterLab opens it without asking which kernel to use.
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    meta = {"kernelspec": kernel}
    return json.dumps({"cells": [cell], "metadata": meta, "nbformat": 4, "nbformat_minor": 5})


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    build_labextension(if_changed=True)
    tmp = tmp_path_factory.mktemp("courses")
    v1, v2 = tmp / "notebooks" / "ml101" / "lab1", tmp / "notebooks" / "ml101" / "lab1-v2"
    for folder in (v1, v2):
        folder.mkdir(parents=True)
    (v1 / "intro.ipynb").write_text(notebook("answer = None"))
    (v2 / "intro.ipynb").write_text(notebook("answer = None  # hint: think of 6 x 7"))
    (v2 / "extra.ipynb").write_text(notebook("bonus = True"))
    with running_hub(tmp, notebooks=tmp / "notebooks") as hub:
        for user in ("prof", "stud"):
            hub.ensure_user(user)
        assert hub.post("/groups/ml101-students", json={"users": ["stud"]}).ok
        assert hub.post("/groups/ml101-instructors", json={"users": ["prof"]}).ok
        yield hub


def publish(page, folder: str, version: int) -> None:
    course = page.locator("section.course[data-course='ml101']")
    course.locator("select[name='repo_path']").select_option(folder)
    course.locator("input[name='name']").fill("lab1")
    course.locator("input[name='title']").fill("First lab")
    course.locator("input[name='due']").fill("2020-01-01T09:00")
    course.locator("button[type='submit']").click()
    # expect() names what the page said instead, when it says something else.
    expect(course.locator("form.publish + p.message")).to_have_text(
        f"Published lab1 version {version}.", timeout=60_000
    )


def test_publish_receive_edit_update_hand_in(hub: Hub) -> None:
    lab_dir: Path = hub.home("stud") / "ml101" / "lab1"
    with chromium() as browser:
        prof = log_in(browser, hub, "prof")
        prof.goto(f"{hub.url}/services/courses/")
        prof.locator("section.course[data-course='ml101'][data-role='instructor']").wait_for()
        publish(prof, "ml101/lab1", 1)

        # The student's next spawn brings the lab into their home.
        assert hub.spawn("stud", {"slice": "cpu"}).status_code in (201, 202)
        hub.wait_ready("stud")
        # The pull runs beside the start (it never delays it): the lab lands just after.
        wait_for(lambda: (lab_dir / "intro.ipynb").exists(), 30, "the lab pulled at start")
        stud = log_in(browser, hub, "stud")
        stud.goto(f"{hub.url}/user/stud/lab/tree/ml101/lab1")
        stud.locator(".jp-DirListing-item[title*='intro.ipynb']").wait_for()

        # Edit the notebook in JupyterLab and save.
        stud.goto(f"{hub.url}/user/stud/lab/tree/ml101/lab1/intro.ipynb")
        editor = stud.locator(".jp-Notebook .jp-Cell .cm-content").first
        editor.wait_for()
        editor.click()
        stud.keyboard.press("End")
        stud.keyboard.type(f"  {EDIT}")
        stud.keyboard.press("Control+s")
        wait_for(lambda: EDIT in (lab_dir / "intro.ipynb").read_text(), 30, "the saved edit")

        # The instructor publishes an update; the student pulls it from the Course labs panel.
        publish(prof, "ml101/lab1-v2", 2)
        stud.locator(".jp-SideBar .lm-TabBar-tab[data-id='sandbox-courses']").click()
        panel = stud.locator("#sandbox-courses")
        panel.locator("button[data-action='pull']:not([disabled])").click()
        message = panel.locator(".sandbox-Message")
        message.get_by_text("kept your edits in intro.ipynb").wait_for()
        assert "ml101/lab1 (version 2): 1 file(s) updated" in message.inner_text()
        assert EDIT in (lab_dir / "intro.ipynb").read_text()
        assert "bonus = True" in (lab_dir / "extra.ipynb").read_text()
        lab = panel.locator("li[data-course='ml101'][data-lab='lab1']")
        lab.get_by_text("edited by you: intro.ipynb").wait_for()

        # Hand in (past the due date: marked late).
        lab.locator("button[data-action='handin']:not([disabled])").click()
        message.get_by_text("Handed in ml101/lab1").wait_for()
        assert "(late)" in message.inner_text()

        # The instructor sees the hand-in and downloads it.
        prof.reload()
        row = prof.locator(".submissions-of[data-lab='lab1'] tr[data-student='stud']")
        row.wait_for()
        assert "late" in row.inner_text()
        assert "extra.ipynb" in row.inner_text() and "intro.ipynb" in row.inner_text()
        with prof.expect_download() as download:
            row.locator("a.download").click()
        with zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes())) as z:
            intro = next(n for n in z.namelist() if n.endswith("/intro.ipynb"))
            assert EDIT in z.read(intro).decode()
    hub.stop_server("stud")

"""The tutorials' merge at server start (extensions/sandbox_server/tutorials.py), on
folders: the course labs' nbgitpuller rule applied to a home across tutorial versions
(create, update what the user left alone, restore what they deleted, keep what they
changed), a failure reported in the status and never raised, and the local backend's
source of the current tutorials. Through a real hub: tests/integration/test_tutorials.py."""

from __future__ import annotations

import logging
from pathlib import Path

from traitlets.config import Config

from extensions.sandbox_server.tutorials import merge_tutorials, start_merge
from hub_config.backends import REPO, local_tutorials
from spawners.core.server_env import ServerEnv
from tests.support.hub import wait_for

LOG = logging.getLogger("test-tutorials")


def write(folder: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)


def test_versions_merge_without_losing_an_edit(tmp_path: Path) -> None:
    v1, home = tmp_path / "v1", tmp_path / "home"
    write(v1, {"a.ipynb": "a1", "b.ipynb": "b1", "c.ipynb": "c1", "sub/d.py": "d1"})
    first = merge_tutorials(v1, home)
    assert sorted(first["written"]) == ["a.ipynb", "b.ipynb", "c.ipynb", "sub/d.py"]
    assert (home / "tutorials" / "sub" / "d.py").read_text() == "d1"

    # The user edits a and deletes c; the next version changes a, b and c and adds e.
    (home / "tutorials" / "a.ipynb").write_text("mine")
    (home / "tutorials" / "c.ipynb").unlink()
    v2 = tmp_path / "v2"
    write(v2, {"a.ipynb": "a2", "b.ipynb": "b2", "c.ipynb": "c2", "sub/d.py": "d1", "e.ipynb": "e"})
    second = merge_tutorials(v2, home)
    assert second == {"written": ["b.ipynb", "c.ipynb", "e.ipynb"], "kept": ["a.ipynb"]}
    tutorials = home / "tutorials"
    assert (tutorials / "a.ipynb").read_text() == "mine", "the user's edit wins"
    assert (tutorials / "b.ipynb").read_text() == "b2", "an untouched file follows the version"
    assert (tutorials / "c.ipynb").read_text() == "c2", "a deleted file comes back"

    # Still recognised as the user's at the version after.
    assert merge_tutorials(v2, home) == {"written": [], "kept": ["a.ipynb"]}
    assert (tutorials / "a.ipynb").read_text() == "mine"


def test_no_source_named_means_nothing_to_do(tmp_path: Path) -> None:
    assert start_merge(LOG, {}, tmp_path) == {"state": "none", "message": ""}
    assert not (tmp_path / "tutorials").exists()


def test_the_merge_at_start_reports_success_and_failure(tmp_path: Path) -> None:
    source, home = tmp_path / "source", tmp_path / "home"
    write(source, {"a.ipynb": "a1"})
    home.mkdir()
    status = start_merge(LOG, {ServerEnv.TUTORIALS: str(source)}, home)
    assert status["state"] in ("running", "done")
    wait_for(lambda: status["state"] == "done", 30, "the merge")
    assert status["written"] == ["a.ipynb"] and status["kept"] == []
    assert status["message"] == "Tutorials in ~/tutorials: 1 file(s) copied or updated."

    # ~/tutorials that is not a folder: the server still starts; the user is told why.
    other = tmp_path / "other"
    other.mkdir()
    (other / "tutorials").write_text("not a folder")
    failed = start_merge(LOG, {ServerEnv.TUTORIALS: str(source)}, other)
    wait_for(lambda: failed["state"] != "running", 30, "the merge")
    assert failed == {
        "state": "failed",
        "message": "The tutorials were not updated: ~/tutorials is not a folder.",
        "merge_id": failed["merge_id"],
    }
    # Each start's merge has a name of its own (JupyterLab announces each one once).
    assert len({status["merge_id"], failed["merge_id"]}) == 2
    assert (other / "tutorials").read_text() == "not a folder"

    missing = start_merge(LOG, {ServerEnv.TUTORIALS: str(tmp_path / "gone")}, home)
    wait_for(lambda: missing["state"] != "running", 30, "the merge")
    assert missing["state"] == "failed" and "no such folder" in missing["message"]


def test_local_servers_get_the_checkouts_tutorials_unless_the_hub_names_others(
    tmp_path: Path,
) -> None:
    assert local_tutorials({}) == {ServerEnv.TUTORIALS: str(REPO / "notebooks")}
    assert (REPO / "notebooks" / "00-getting-started.ipynb").is_file()
    assert local_tutorials({ServerEnv.TUTORIALS: str(tmp_path)}) == {
        ServerEnv.TUTORIALS: str(tmp_path)
    }
    # configure() hands it to every local server in its environment.
    from hub_config.backends import configure_backend
    from hub_config.site import load_site

    (tmp_path / "site.yaml").write_text("site: {name: t}\n")
    c = Config()
    configure_backend(c, load_site(tmp_path / "site.yaml", env={}), tmp_path, env={})
    assert c.Spawner.environment.get_value({})[ServerEnv.TUTORIALS] == str(REPO / "notebooks")

"""sandbox-tutorials, the images' start-up step that brings the tutorials into the home,
run here on folders: the courses service's nbgitpuller rule, applied to a home across
image versions (create, update what the user left alone, restore what they deleted,
keep what they changed), and a clear refusal when ~/tutorials is not a folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import IMAGES_DIR

SCRIPT = IMAGES_DIR / "base" / "rootfs" / "usr" / "local" / "bin" / "sandbox-tutorials"
ROOT = IMAGES_DIR.parent


def sync(source: Path, target: Path) -> subprocess.CompletedProcess:
    # The image runs it with its venv's Python, where the project is installed; here
    # the checkout is on the path instead.
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(source), str(target)],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip


def write(folder: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)


def test_versions_merge_without_losing_an_edit(tmp_path: Path) -> None:
    image, home = tmp_path / "v1", tmp_path / "home" / "tutorials"
    write(image, {"a.ipynb": "a1", "b.ipynb": "b1", "c.ipynb": "c1", "sub/d.py": "d1"})
    first = sync(image, home)
    assert first.returncode == 0, first.stderr
    assert "4 file(s) written" in first.stderr
    assert (home / "sub" / "d.py").read_text() == "d1"

    # The user edits a and deletes c; the next image changes a, b and c.
    (home / "a.ipynb").write_text("mine")
    (home / "c.ipynb").unlink()
    image2 = tmp_path / "v2"
    write(image2, {"a.ipynb": "a2", "b.ipynb": "b2", "c.ipynb": "c2", "sub/d.py": "d1"})
    second = sync(image2, home)
    assert second.returncode == 0, second.stderr
    assert (home / "a.ipynb").read_text() == "mine", "the user's edit wins"
    assert (home / "b.ipynb").read_text() == "b2", "an untouched file follows the image"
    assert (home / "c.ipynb").read_text() == "c2", "a deleted file comes back"
    assert "kept your edits of a.ipynb" in second.stderr

    # Still recognised as the user's at the version after.
    third = sync(image2, home)
    assert third.returncode == 0 and (home / "a.ipynb").read_text() == "mine"
    assert "0 file(s) written" in third.stderr


def test_a_home_where_tutorials_is_a_file_is_refused_clearly(tmp_path: Path) -> None:
    image = tmp_path / "v1"
    write(image, {"a.ipynb": "a1"})
    target = tmp_path / "tutorials"
    target.write_text("not a folder")
    result = sync(image, target)
    assert result.returncode == 1
    assert (
        f"tutorials not merged into {target}" in result.stderr and "not a folder" in result.stderr
    )
    assert target.read_text() == "not a folder"

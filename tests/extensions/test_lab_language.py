"""JupyterLab in the user's language: the extension's catalogue is complete, JupyterLab
serves it with the ko-KR language pack, and a server started from a Korean page gets
Korean as JupyterLab's default language."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from jupyterlab_server.settings_utils import _get_overrides
from jupyterlab_server.translation_utils import get_language_pack

from extensions.sandbox_server.language import TRANSLATION_PLUGIN, lab_language_defaults
from spawners.i18n.extract import lab_source_catalog
from spawners.i18n.lab import DOMAIN, lab_catalogue_path, read_lab_catalogue, to_json
from tests.core.test_catalogue import problems


def test_every_lab_message_is_translated_with_the_same_placeholders() -> None:
    source = lab_source_catalog()
    ids = {m.id for m in source if m.id}
    assert {"Your GPU slice", "Course labs", "Hand in", "%1 left"} <= ids
    assert problems(source, read_lab_catalogue("ko_KR")) == []


def test_jupyterlab_serves_the_korean_catalogue_of_the_extension() -> None:
    # What build.sh installed is what the .po says now.
    built = to_json(read_lab_catalogue("ko_KR"), "ko_KR")
    assert lab_catalogue_path("ko_KR", "json").exists(), "run extensions/labextension/build.sh"
    data, message = get_language_pack("ko_KR")
    assert "jupyterlab" in data, f"the ko-KR language pack is not installed: {message}"
    assert data[DOMAIN] == built
    assert data[DOMAIN]["Your GPU slice"] == ["내 GPU 슬라이스"]


@pytest.mark.parametrize(("language", "locale"), [("ko", "ko_KR"), ("en", "en")])
def test_the_hub_language_becomes_jupyterlabs_default(tmp_path, language, locale) -> None:
    env = {"SANDBOX_LANGUAGE": language, "JUPYTER_CONFIG_PATH": "/somewhere"}
    folder = lab_language_defaults(env, tmp_path / "lang")
    assert env["JUPYTER_CONFIG_PATH"] == os.pathsep.join([str(folder), "/somewhere"])
    before = os.environ.get("JUPYTER_CONFIG_PATH")
    os.environ["JUPYTER_CONFIG_PATH"] = env["JUPYTER_CONFIG_PATH"]
    try:
        overrides, error = _get_overrides(str(tmp_path / "no-app-settings"))
    finally:
        if before is None:
            del os.environ["JUPYTER_CONFIG_PATH"]
        else:
            os.environ["JUPYTER_CONFIG_PATH"] = before
    assert not error
    assert overrides[TRANSLATION_PLUGIN] == {"locale": locale}


def test_no_language_or_an_unknown_one_changes_nothing(tmp_path) -> None:
    for env in ({}, {"SANDBOX_LANGUAGE": "xx"}):
        assert lab_language_defaults(env, tmp_path) is None
        assert "JUPYTER_CONFIG_PATH" not in env


def test_the_servers_own_language_folder_goes_with_the_server(tmp_path: Path) -> None:
    """A folder per server start: left behind, /tmp would fill with one per start."""
    code = (
        "from extensions.sandbox_server.language import lab_language_defaults; "
        "print(lab_language_defaults({'SANDBOX_LANGUAGE': 'ko'}))"
    )
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    folder = Path(out.stdout.strip())
    assert folder.parent == tmp_path and folder.name.startswith("sandbox-lab-language-")
    assert not folder.exists()

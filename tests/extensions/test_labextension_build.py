"""The JupyterLab extension builds from source (npm registry, @jupyterlab/builder), its
own unit tests (jest) pass, and the prebuilt package is installed where JupyterLab
finds it."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from tests.extensions.support import build_labextension

INSTALLED = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "sandbox-labextension"


def test_build_and_unit_tests() -> None:
    result = build_labextension(if_changed=False)
    output = result.stdout + result.stderr
    summary = re.search(r"Tests:\s+(.*)", output)
    assert summary is not None, output[-3000:]
    assert "failed" not in summary.group(1) and "passed" in summary.group(1)
    assert "webpack" in output and "compiled successfully" in output
    package = json.loads((INSTALLED / "package.json").read_text())
    assert package["name"] == "sandbox-labextension"
    assert any((INSTALLED / "static").glob("remoteEntry.*.js"))

"""The one rule for a component a test needs: missing, it skips on a developer's
machine and fails in CI, where a missing component must never pass as a skip."""

from __future__ import annotations

import pytest

from tests.support.requirements import missing, require_tool


@pytest.mark.parametrize("ci", ["true", "1", "TRUE"])
def test_in_ci_a_missing_component_fails(monkeypatch, ci: str) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match="CI must provide it"):
        missing("slurmd")
    with pytest.raises(pytest.fail.Exception, match="no-such-tool-here"):
        require_tool("sh", "no-such-tool-here", why="a test")


@pytest.mark.parametrize("ci", [None, "", "false"])
def test_elsewhere_a_missing_component_skips(monkeypatch, ci: str | None) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match="slurmd"):
        missing("slurmd")


def test_a_present_tool_asks_nothing(monkeypatch) -> None:
    monkeypatch.setenv("CI", "true")
    require_tool("sh")

"""What the hub and a user's server agree on (spawners/core/server_env.py): the binding
budget, the policy environment's format, the warning lead time, and that no module on
either side spells one of the shared variable names itself."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spawners.core.server_env import (
    Binding,
    ServerEnv,
    binding_budget,
    env_number,
    policy_environment,
    session_warn_before,
    warning_due,
)

REPO = Path(__file__).resolve().parents[2]
SIDES = ("spawners", "extensions", "hub_config")
"""The hub's code and the server's: both import the names. (notebooks/sandbox_tutorials
is installed into images without the hub's packages and names the ones it reads.)"""


def test_the_budget_with_less_left_binds() -> None:
    assert binding_budget(0.5, 2.0, 97.0, 100.0) == Binding(left=0.5, limit=2.0)
    assert binding_budget(5.0, 10.0, 1.0, 100.0) == Binding(left=1.0, limit=100.0)
    # A tie: the member's (their own figure is the one they can act on).
    assert binding_budget(3.0, 10.0, 3.0, 100.0) == Binding(left=3.0, limit=10.0)


def test_an_unlimited_side_never_binds() -> None:
    assert binding_budget(None, None, 4.0, 40.0) == Binding(left=4.0, limit=40.0)
    assert binding_budget(4.0, 8.0, None, None) == Binding(left=4.0, limit=8.0)
    assert binding_budget(None, None, None, None) is None
    # A left without its limit (a malformed answer) is no budget.
    assert binding_budget(1.0, None, None, None) is None


@given(
    st.one_of(st.none(), st.floats(-1e6, 1e6)),
    st.floats(0, 1e6),
    st.one_of(st.none(), st.floats(-1e6, 1e6)),
    st.floats(0, 1e6),
)
def test_the_binding_budget_has_the_least_left(
    member_left: float | None, member_limit: float, team_left: float | None, team_limit: float
) -> None:
    binding = binding_budget(member_left, member_limit, team_left, team_limit)
    lefts = [v for v in (member_left, team_left) if v is not None]
    if not lefts:
        assert binding is None
        return
    assert binding is not None and binding.left == min(lefts)
    assert binding.limit == (member_limit if binding.left == member_left else team_limit)


def test_policy_environment_carries_the_warning_lead_with_the_end() -> None:
    env = policy_environment(
        team="acme",
        role="member",
        ends_at=4000.7,
        warn_before=1200,
        budget=Binding(left=-0.25, limit=40.0),
    )
    assert env == {
        "SANDBOX_TEAM": "acme",
        "SANDBOX_ROLE": "member",
        "SANDBOX_SESSION_ENDS_AT": "4000",
        "SANDBOX_SESSION_WARN_BEFORE": "1200",
        "SANDBOX_GPU_HOURS_LEFT": "0.0000",  # overspent reads as none left
        "SANDBOX_GPU_HOURS_BUDGET": "40.0000",
    }
    unlimited = policy_environment(
        team="acme", role="member", ends_at=None, warn_before=600, budget=None
    )
    assert unlimited == {"SANDBOX_TEAM": "acme", "SANDBOX_ROLE": "member"}


@pytest.mark.parametrize("raw", ["", "soon", "nan", "inf", "-inf"])
def test_garbage_figures_read_as_none(raw: str) -> None:
    assert env_number({ServerEnv.GPU_HOURS_LEFT: raw}, ServerEnv.GPU_HOURS_LEFT) is None
    assert session_warn_before({ServerEnv.SESSION_WARN_BEFORE: raw}, 300) == 300


def test_the_lead_time_read_back_is_the_one_written() -> None:
    env = policy_environment(team="t", role="member", ends_at=10.0, warn_before=45, budget=None)
    assert session_warn_before(env, 300) == 45
    assert session_warn_before({}, 300) == 300
    assert session_warn_before({ServerEnv.SESSION_WARN_BEFORE: "-5"}, 300) == 300
    assert warning_due(45, 45) and warning_due(0, 45) and not warning_due(45.5, 45)


def _spelled_names(path: Path, names: frozenset[str]) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and node.value in names:
            found.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.value}")
    return found


def test_no_module_spells_a_shared_name_itself() -> None:
    names = frozenset(m.value for m in ServerEnv)
    home = REPO / "spawners" / "core" / "server_env.py"
    spelled = [
        hit
        for side in SIDES
        for path in sorted((REPO / side).rglob("*.py"))
        if path != home and "node_modules" not in path.parts
        for hit in _spelled_names(path, names)
    ]
    assert spelled == []


def test_the_scan_finds_a_spelled_name(tmp_path: Path) -> None:
    module = REPO / "tests" / "core" / "test_server_env.py"
    assert _spelled_names(module, frozenset({"SANDBOX_SESSION_WARN_BEFORE"}))


TUTORIALS_OWN = {
    "SANDBOX_LAB_GRADING": "set by an instructor's grading run (sandbox_tutorials/lab.py)",
    "SANDBOX_MODELS_LOCK": "the model store's lock file, for a store built outside the hub",
}
"""The tutorials' package's own variables, which no hub writes."""


def test_the_tutorials_package_reads_the_names_the_hub_writes() -> None:
    """notebooks/sandbox_tutorials runs in images without the hub's packages, so it spells
    the names it reads; each must be one the hub writes (or its own), so that a renamed
    variable cannot leave the tutorials reading one nobody sets."""
    package = REPO / "notebooks" / "sandbox_tutorials"
    spelled = {
        node.value
        for path in package.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and re.fullmatch(r"SANDBOX_[A-Z_]+", node.value)
    }
    assert spelled, "the tutorials' package reads the slice from its environment"
    assert spelled - set(TUTORIALS_OWN) <= {m.value for m in ServerEnv}

"""The server's view of its slice: environment, session time and GPU-hours, warnings."""

from __future__ import annotations

import pytest

from extensions.sandbox_server.session import slice_warnings
from extensions.sandbox_server.slice_info import slice_info

BASE = {
    "SANDBOX_SLICE": "1g.10gb",
    "SANDBOX_IMAGE": "base",
    "CUDA_VISIBLE_DEVICES": "MIG-x",
    "SANDBOX_SLICE_SIMULATED": "1",
    "SANDBOX_SLICE_MEMORY_GB": "10",
}


def test_without_policy_fields_nothing_is_invented() -> None:
    info = slice_info(BASE, now=1000.0, started_at=400.0)
    assert info["profile"] == "1g.10gb"
    assert info["session"] == {
        "started_at": 400.0,
        "elapsed_seconds": 600.0,
        "ends_at": None,
        "seconds_left": None,
        "warn_before": None,
    }
    assert info["budget"]["gpu_hours_left"] is None
    assert info["budget"]["weight"] == pytest.approx(1 / 7)
    assert info["next_slice_up"] == "1g.20gb"
    assert info["warnings"] == []


def test_session_end_and_budget_from_the_policy_environment() -> None:
    env = dict(
        BASE,
        SANDBOX_SESSION_ENDS_AT="4000",
        SANDBOX_GPU_HOURS_LEFT="2.0",
        SANDBOX_GPU_HOURS_BUDGET="40",
        SANDBOX_TEAM="acme",
    )
    info = slice_info(env, now=3700.0, started_at=100.0)
    assert info["session"]["seconds_left"] == 300.0
    # One hour on a 1g.10gb costs 1/7 GPU-hour.
    assert info["budget"]["gpu_hours_left"] == pytest.approx(2.0 - 1 / 7)
    assert info["budget"]["team"] == "acme"
    codes = [(w["code"], w["level"]) for w in info["warnings"]]
    assert codes == [("session-ending", "critical"), ("budget-low", "warning")]


@pytest.mark.parametrize("bad", ["soon", "nan", "inf", ""])
def test_garbage_policy_values_are_ignored(bad: str) -> None:
    info = slice_info(dict(BASE, SANDBOX_SESSION_ENDS_AT=bad), now=1.0, started_at=0.0)
    assert info["session"]["ends_at"] is None


def test_warnings_order_and_thresholds() -> None:
    info = {
        "session": {"seconds_left": 14 * 60, "warn_before": 15 * 60},
        "budget": {"gpu_hours_left": 0.0, "gpu_hours_budget": 10.0},
        "memory_used_bytes": 95,
        "memory_total_bytes": 100,
    }
    warnings = slice_warnings(info, "3g.40gb")
    assert [(w["code"], w["level"]) for w in warnings] == [
        ("budget-exhausted", "critical"),
        ("session-ending", "warning"),
        ("memory-high", "warning"),
    ]
    assert "3g.40gb" in warnings[-1]["message"]
    calm = {
        "session": {"seconds_left": 3600},
        "budget": {"gpu_hours_left": 5.0, "gpu_hours_budget": 10.0},
        "memory_used_bytes": 10,
        "memory_total_bytes": 100,
    }
    assert slice_warnings(calm) == []


def test_cpu_server_has_no_device_and_no_advice() -> None:
    info = slice_info({"SANDBOX_SLICE": "cpu", "CUDA_VISIBLE_DEVICES": ""}, now=1, started_at=0)
    assert info["device_uuid"] == ""
    assert info["memory_total_bytes"] == 0
    assert info["next_slice_up"] is None
    assert info["budget"]["weight"] == 0.0


def test_the_hubs_live_view_replaces_the_local_estimates() -> None:
    env = dict(
        BASE, SANDBOX_ALLOCATION_ID="7", SANDBOX_GPU_HOURS_LEFT="9", SANDBOX_SESSION_ENDS_AT="9000"
    )
    me = {
        "team": "ml101",
        "budget": {
            "left": 0.5,
            "member": {"used": 1.5, "limit": 2.0, "left": 0.5},
            "team": {"used": 3.0, "limit": 100.0, "left": 97.0},
        },
        "notices": [
            {"allocation_id": 7, "kind": "session-limit", "deadline": 1600.0, "due": False,
             "message": "Your server stops at 12:00 (session limit)."},
            {"allocation_id": 7, "kind": "member-budget", "deadline": 5000.0, "due": False,
             "message": "Your GPU-hours run out at 13:00."},
            {"allocation_id": 8, "kind": "session-limit", "deadline": 1.0, "due": True,
             "message": "another server of yours"},
            "garbage",
        ],
    }  # fmt: skip
    info = slice_info(env, now=1000.0, started_at=0.0, hub_view=me)
    assert info["hub_view"] is True
    assert info["budget"]["gpu_hours_left"] == 0.5
    assert info["budget"]["gpu_hours_budget"] == 2.0  # the member's limit binds
    assert info["budget"]["team"] == "ml101"
    assert info["session"]["ends_at"] == 1600.0 and info["session"]["seconds_left"] == 600.0
    assert [(w["code"], w["level"]) for w in info["warnings"]] == [
        ("session-limit", "warning"),
        ("member-budget", "warning"),
    ]
    assert slice_info(env, now=1.0, started_at=0.0, hub_view={})["budget"]["gpu_hours_left"] > 8


def test_the_server_shows_its_own_gpu_models_figures() -> None:
    """The hub's environment for a slice on an A100 40GB and on a whole H200 (what
    spawners.core.environment writes), read by the server: the GPU-hour weight and the
    memory are that model's, not those of the first model with the name."""
    from spawners.core.environment import slice_environment

    def served(slice_name: str, model: str) -> dict:
        env = slice_environment(
            slice_name=slice_name, image="base", device_uuid="GPU-1", gpu_uuid="GPU-1",
            gpu_index=0, simulated=True, allocation_id=1, gpu_model=model,
        )  # fmt: skip
        env["SANDBOX_GPU_HOURS_LEFT"] = "10"
        return slice_info(env, now=4600.0, started_at=1000.0)  # an hour in

    a100 = served("1g.10gb", "a100-40gb")
    assert a100["budget"]["weight"] == pytest.approx(1 / 4)  # an H100's 1g.10gb: 1/7
    assert a100["budget"]["gpu_hours_left"] == pytest.approx(10 - 1 / 4)
    assert a100["environment"]["SANDBOX_GPU_MODEL"] == "a100-40gb"
    h200 = served("gpu", "h200-141gb")
    assert h200["memory_total_bytes"] == 141 * 10**9  # not an H100's 80
    assert h200["budget"]["weight"] == pytest.approx(1.0)


@pytest.mark.parametrize("warn_before", [20 * 60, 10 * 60, 60])
def test_the_server_warns_at_its_teams_lead_time(warn_before: int) -> None:
    """The hub writes the team's warn_before beside the session's end; the server warns
    that long before the end, not earlier (the hub's own notices start then too)."""
    from spawners.core.server_env import policy_environment

    env = dict(
        BASE,
        **policy_environment(
            team="acme", role="member", ends_at=10_000, warn_before=warn_before, budget=None
        ),
    )

    def codes(now: float) -> list[str]:
        return [w["code"] for w in slice_info(env, now=now, started_at=0.0)["warnings"]]

    assert codes(10_000 - warn_before - 1) == []
    assert codes(10_000 - warn_before) == ["session-ending"]
    assert codes(10_000 - warn_before / 2) == ["session-ending"]


def test_without_a_lead_time_the_server_warns_in_the_last_minutes() -> None:
    """An environment with the end but no lead time (a hub of an earlier version): the
    warning comes in the last five minutes, critical, rather than never."""
    env = dict(BASE, SANDBOX_SESSION_ENDS_AT="10000")
    assert slice_info(env, now=10_000 - 301, started_at=0.0)["warnings"] == []
    [warning] = slice_info(env, now=10_000 - 300, started_at=0.0)["warnings"]
    assert (warning["code"], warning["level"]) == ("session-ending", "critical")

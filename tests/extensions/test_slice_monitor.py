"""SliceMonitor renders a reading, tracks the session's peak and gives advice."""

from __future__ import annotations

from extensions.widgets import SliceMonitor, after_oom


def reading(used: float | None, util: float | None, elapsed: float = 3600) -> dict:
    return {
        "profile": "3g.40gb",
        "image": "vision",
        "simulated": used is None,
        "memory_total_bytes": 40 * 10**9,
        "memory_used_bytes": used,
        "utilisation_percent": util,
        "session": {"elapsed_seconds": elapsed},
        "warnings": [{"code": "x", "level": "warning", "message": "careful <now>"}],
    }


def test_monitor_tracks_peak_and_mean_and_advises_a_smaller_slice() -> None:
    readings = iter([reading(2e9, 10), reading(5e9, 20), reading(1e9, 30)])
    monitor = SliceMonitor(info_source=lambda: next(readings), autostart=False)
    monitor.refresh()
    monitor.refresh()
    assert monitor.peak_memory_bytes == 5e9
    assert monitor.mean_utilisation == 20
    assert monitor.advice().slice == "1g.10gb"
    assert "3g.40gb" in monitor.title.value
    assert monitor.memory_text.value == "1.0 GB of 40.0 GB"
    assert monitor.memory.value == 1e9 / 40e9
    assert "careful &lt;now&gt;" in monitor.notes.value
    assert "1g.10gb" in monitor.notes.value
    assert monitor.after_oom() == after_oom("3g.40gb")


def test_monitor_on_a_simulated_slice_says_it_is_not_measured() -> None:
    monitor = SliceMonitor(info_source=lambda: reading(None, None, 30), autostart=False)
    assert monitor.memory_text.value == "? of 40.0 GB (not measured)"
    assert monitor.util_text.value == "not measured"
    assert "simulated" in monitor.title.value
    assert monitor.advice() is None


def test_monitor_reads_this_servers_environment_by_default() -> None:
    env = {
        "SANDBOX_SLICE": "1g.10gb",
        "SANDBOX_SLICE_SIMULATED": "1",
        "SANDBOX_SLICE_MEMORY_GB": "10",
    }
    monitor = SliceMonitor(env=env, autostart=False)
    assert monitor.info["profile"] == "1g.10gb"
    assert monitor.info["memory_total_bytes"] == 10 * 10**9

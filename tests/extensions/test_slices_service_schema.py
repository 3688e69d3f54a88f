"""The slices service reads the ledger as the hub's start-up hook left it and never
migrates it: against a ledger that is not at this version's schema it refuses to start,
with one clear line, and changes nothing (docs/operations.md)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from extensions.bootstrap import LedgerNotCurrent, current_ledger
from spawners.ledger.ledger import Ledger
from tests.extensions.support import run_service

SITE = "site: {name: Schema test}\n"


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


def test_a_migrated_ledger_is_used_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    Ledger(_url(path)).create_schema()  # what the start-up hook does
    ledger = current_ledger(_url(path), "slices service")
    try:
        assert ledger.live() == []
    finally:
        ledger.dispose()


def test_an_empty_ledger_is_refused_not_created(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with pytest.raises(LedgerNotCurrent, match="table sandbox_allocations is missing"):
        current_ledger(_url(path), "slices service")
    assert _tables(path) == []


def test_a_ledger_of_an_earlier_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    Ledger(_url(path)).create_schema()
    engine = create_engine(_url(path))
    with engine.begin() as conn:
        # What an earlier version had: its retired index, and not the current one.
        conn.execute(text("DROP INDEX uq_sandbox_serving_server"))
        conn.execute(text("CREATE INDEX uq_sandbox_live_server ON sandbox_allocations (user)"))
    engine.dispose()
    with pytest.raises(LedgerNotCurrent) as refused:
        current_ledger(_url(path), "slices service")
    assert "index uq_sandbox_serving_server is missing" in str(refused.value)
    assert "retired index uq_sandbox_live_server is still there" in str(refused.value)


def test_the_service_process_refuses_with_one_clear_line(tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(SITE)
    data = tmp_path / "data"
    data.mkdir()
    ledger = data / "ledger.sqlite"
    ledger.write_bytes(b"")  # a ledger file nobody migrated
    env = {
        **os.environ,
        "SANDBOX_SITE": str(site),
        "SANDBOX_DATA": str(data),
        "SANDBOX_SLICES_PORT": "1",
    }
    done = run_service("extensions.slices_service", env)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "the ledger is not at this version's schema" in done.stderr
    assert "start the hub" in done.stderr
    assert "Traceback" not in done.stderr
    assert _tables(ledger) == []  # nothing was created


def _tables(path: Path) -> list[str]:
    engine = create_engine(_url(path))
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))
            return [r[0] for r in rows]
    finally:
        engine.dispose()

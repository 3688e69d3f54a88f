"""Spreadsheet formula prefixes in CSV cells are neutralised; numbers stay numbers."""

from __future__ import annotations

import csv
import io

import pytest

from extensions.slices_service.accounting import CSV_FIELDS, usage_csv
from spawners.core.csvsafe import spreadsheet_safe
from spawners.core.usage import UsageRow


@pytest.mark.parametrize("text", ["=2*21", "+1", "-1", "@SUM(A1:A9)", "\tx", "\rx", "=", "-"])
def test_formula_prefixes_get_a_leading_quote(text: str) -> None:
    assert spreadsheet_safe(text) == "'" + text


@pytest.mark.parametrize("text", ["alice", "", "2*21", "a=b", " =1", "'=1", "team-a"])
def test_plain_text_is_unchanged(text: str) -> None:
    assert spreadsheet_safe(text) == text


@pytest.mark.parametrize("number", [-1, -1.5, 0, 42, 2.5])
def test_numbers_are_not_text(number: float) -> None:
    out = spreadsheet_safe(number)
    assert out == number and type(out) is type(number)


def test_usage_csv_neutralises_names_not_figures() -> None:
    rows = [
        UsageRow("=cmd|' /C calc'!A0", "=2*21", "@slice", 2, -1.0, 0.25),
        UsageRow("team-a", "alice", "1g.10gb", 1, 3600.0, 1.0),
    ]
    lines = list(csv.reader(io.StringIO(usage_csv(rows))))
    assert lines[0] == list(CSV_FIELDS)
    assert lines[1] == ["'=cmd|' /C calc'!A0", "'=2*21", "'@slice", "2", "-1.000", "0.250000"]
    assert lines[2] == ["team-a", "alice", "1g.10gb", "1", "3600.000", "1.000000"]

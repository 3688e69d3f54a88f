"""Numbers and moments written the way the reader's language writes them (CLDR, via
Babel): ``1,234.5`` and ``2026-12-01 21:00 UTC`` in English, ``2026년 12월 1일 21:00 UTC``
in Korean."""

from __future__ import annotations

from datetime import UTC, datetime

from babel.dates import format_datetime, format_skeleton
from babel.numbers import format_decimal

from spawners.core.policy import format_hours

from .catalogue import N_, SOURCE_LANGUAGE

PERIODS = {"day": N_("this day"), "week": N_("this week"), "month": N_("this month")}
"""A budget period as the refusals and the form name the current one."""


def format_gpu_hours(value: float, language: str) -> str:
    """GPU-hours as the form and the refusals show them (English: the core's own format)."""
    if language == SOURCE_LANGUAGE:
        return format_hours(value)
    pattern = "#,##0.00" if abs(value) >= 0.01 or value == 0 else "#,##0.0000"
    return format_decimal(value, format=pattern, locale=language)


def format_moment(ts: float, language: str) -> str:
    """A moment in UTC (budgets reset at UTC boundaries)."""
    moment = datetime.fromtimestamp(ts, UTC)
    if language == SOURCE_LANGUAGE:
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    day = format_skeleton("yMMMd", moment, tzinfo=UTC, locale=language)
    return f"{day} {format_datetime(moment, 'HH:mm', tzinfo=UTC, locale=language)} UTC"

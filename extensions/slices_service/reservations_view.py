"""The capacity page's list of lab-session reservations (templates/reservations.html):
those ahead or open now, read from the ledger when the page is drawn."""

from __future__ import annotations

from typing import Any

from spawners.i18n.formats import format_moment
from spawners.ledger.ledger import Ledger
from spawners.ledger.reservation_book import Reservations


def reservations_view(ledger: Ledger, language: str) -> list[dict[str, Any]]:
    now = ledger.clock()
    out = []
    for record in Reservations(ledger).upcoming(now):
        row = record.as_dict(now)
        row["start"] = format_moment(record.starts_at, language)
        row["end"] = format_moment(record.ends_at, language)
        row["grace_min"] = round(record.grace_s / 60, 1)
        out.append(row)
    return out

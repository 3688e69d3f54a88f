"""Content-Disposition for a download whose name may be any text (a student named
김철수): RFC 6266 with RFC 5987's filename*, plus an ASCII filename for old clients.
A header must be Latin-1, so a raw non-ASCII name would fail the whole response."""

from __future__ import annotations

from urllib.parse import quote


def ascii_fallback(name: str) -> str:
    # Printable ASCII only; quotes, backslashes and % (some clients decode it) become _.
    return "".join(c if " " <= c <= "~" and c not in '"\\%' else "_" for c in name)


def attachment(name: str) -> str:
    return (
        f"attachment; filename=\"{ascii_fallback(name)}\"; filename*=UTF-8''{quote(name, safe='')}"
    )

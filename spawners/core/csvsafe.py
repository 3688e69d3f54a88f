"""CSV cells that a spreadsheet will not run as formulas (OWASP "CSV injection").

A text cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is read by
Excel, LibreOffice and Sheets as a formula; a leading ``'`` makes it plain text. Only
``str`` cells are touched: numbers stay numbers. Pure, no I/O."""

from __future__ import annotations

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: object) -> object:
    """``cell`` with a leading ``'`` if a spreadsheet would take it for a formula."""
    if isinstance(cell, str) and cell.startswith(FORMULA_PREFIXES):
        return "'" + cell
    return cell

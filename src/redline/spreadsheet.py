"""CSV files people open in a spreadsheet: no text cell may run there as a formula.

A cell whose text starts with ``= + - @``, a tab or a carriage return is a formula (or becomes
one) in Excel, LibreOffice and Google Sheets, so a username like ``=HYPERLINK(...)`` in an export
would run on the reader's machine (OWASP, "CSV Injection"). Such text gets a leading ``'``, which
spreadsheets show as a text marker. Text that already starts with ``'`` gets one more, so the
quoting can be undone exactly (``unquote_cell``; ``redline audit verify --export`` does, to
recompute hashes from an exported copy).

Only text is quoted: numbers written as numbers (an ``int`` or ``float`` cell, such as ``-3``)
cannot carry a formula and stay as they are. A number already formatted into a string (``"-3"``)
is text and is quoted; redline's exports write their numbers as numbers.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, Protocol

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


class _Stream(Protocol):
    def write(self, text: str, /) -> Any: ...


def quote_cell(value: object) -> object:
    """``value`` safe to open in a spreadsheet: text that could start a formula gets a ``'``."""
    if isinstance(value, str) and value.startswith((*FORMULA_STARTS, QUOTE)):
        return QUOTE + value
    return value


def unquote_cell(cell: str) -> str:
    """The text ``quote_cell`` was given, from the cell it wrote."""
    if cell.startswith(QUOTE) and cell[1:].startswith((*FORMULA_STARTS, QUOTE)):
        return cell[1:]
    return cell


class SpreadsheetSafeWriter:
    """``csv.writer`` whose every text cell goes through ``quote_cell``: the one way redline
    writes a CSV file that a person may open (exports, reports, evidence packages)."""

    def __init__(self, stream: _Stream, **fmtparams: Any) -> None:
        self._writer = csv.writer(stream, **fmtparams)

    def writerow(self, row: Iterable[object]) -> None:
        """Write one row."""
        self._writer.writerow([quote_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        """Write rows."""
        for row in rows:
            self.writerow(row)

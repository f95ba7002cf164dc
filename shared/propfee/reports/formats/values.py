"""How a value is shown, shared by the formats: display widths, numbers as people read them, printable text."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import datetime

from propfee.reports.formats.tables import Cell, ColumnKind


def _display_width(text: str) -> int:
    """Columns a text takes in a spreadsheet or a monospaced label: CJK characters count two."""
    return sum(2 if unicodedata.east_asian_width(char) in ("W", "F") else 1 for char in text)


def _shown(value: Cell, kind: ColumnKind, grouped: bool = False) -> str:
    """A value as people read it: what a spreadsheet shows (to size a column), or with `grouped` thousands the
    page's cells."""
    if value is None:
        return ""
    if isinstance(value, str):
        if kind == "datetime":  # the minute is enough to read, the CSV and the workbook keep the seconds
            return f"{datetime.fromisoformat(value):%Y-%m-%d %H:%M}"
        return value
    if kind == "yuan":
        return f"{value:,.2f}" if grouped else f"{value:.2f}"
    if kind == "percent":
        return f"{value * 100:.2f}%"
    return str(value)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _printable(value: object) -> str:
    return _CONTROL.sub("\ufffd", str(value))


def _clip(text: str, width: int) -> str:
    """At most `width` display columns, with an ellipsis when cut."""
    if _display_width(text) <= width:
        return text
    kept = ""
    for char in text:
        if _display_width(kept + char) > width - 1:
            break
        kept += char
    return kept + "…"


def _percent(fraction: float | None, words: Mapping[str, str]) -> str:
    return words["no_bills"] if fraction is None else f"{fraction * 100:.1f}%"

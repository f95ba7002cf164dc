"""Spreadsheet cells kept inert: text that a spreadsheet would run as a formula gets a leading apostrophe."""

from __future__ import annotations

import re

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def safe_cell(value: object) -> object:
    """Neutralise spreadsheet formulas in text (CSV injection); plain numbers such as -12.50 stay numbers."""
    if isinstance(value, str) and value[:1] in FORMULA_START and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value

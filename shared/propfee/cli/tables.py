"""What staff read: lists as tables (rich) in the company's local time, or with --json one JSON object a line for
scripts (times in ISO 8601 with the local offset)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    justify: str = "left"


def local(when: datetime | None, tz: ZoneInfo) -> datetime | None:
    return when.astimezone(tz) if when is not None else None


def shown_time(when: datetime | None) -> str:
    """A table's time: the local minute, as people read it ('2026-11-11 09:45')."""
    return f"{when:%Y-%m-%d %H:%M}" if when is not None else ""


def last_digits(phone: str | None, full: bool = False) -> str:
    """A number as a list shows it: the last four digits only ('*******5678'), unless asked for in full."""
    if not phone or full:
        return phone or ""
    return "*" * max(len(phone) - 4, 0) + phone[-4:]


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def print_rows(
    rows: Sequence[dict[str, Any]], columns: Sequence[Column], title: str, as_json: bool, empty: str
) -> None:
    """The rows as one table, or (as_json) one JSON object a line with every field of each row."""
    if as_json:
        for row in rows:
            print(json.dumps({k: _json_value(v) for k, v in row.items()}, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    if not rows:
        console.print(empty)
        return
    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column.header, justify=column.justify, overflow="fold")  # type: ignore[arg-type]
    for row in rows:
        # Text, not markup: an owner's message may hold [brackets]
        values = (row[c.key] for c in columns)
        table.add_row(*(Text(shown_time(v) if isinstance(v, datetime) else _cell(v)) for v in values))
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)

"""Typed ledger and payment rows from the raw rows of an import file; every refused row says why.

A reason names the column as the file writes it and the problem ("应收金额: more than 2 decimal places"), never
the cell's value: reasons go into logs and summaries, the original cells only into the rejects file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, NonNegativeInt, ValidationError

from propfee.accounts.imports import fields as f
from propfee.accounts.imports.reading import ALIASES, ImportFileError, Layout, RawRow
from propfee.domain.models import Period


class ImportRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    line: int = Field(ge=1)
    community_id: str | None = None  # as the file writes it, an id or a name: the applier resolves it
    building: str = Field(min_length=1)  # as written ('3栋', '3号楼', 'B03'): the applier maps it to a building_id
    unit: str | None = None  # 单元, where the export has one
    room: str = Field(min_length=1)


class LedgerRow(ImportRow):
    """One bill line of a ledger export."""

    owner_name: str | None = Field(default=None, repr=False)
    phones: tuple[str, ...] = Field(default=(), repr=False)  # E.164; a contact cell may hold several
    area_m2: Decimal | None = Field(default=None, gt=0)
    rate_fen_per_m2: Decimal | None = Field(default=None, ge=0)  # may be a fraction of a fen
    period: Period
    amount_due_fen: NonNegativeInt
    due: date | None = None

    @property
    def phone(self) -> str | None:
        return self.phones[0] if self.phones else None


class PaymentRow(ImportRow):
    """One payment (or refund, when negative) of a payment export."""

    amount_fen: int
    paid_at: AwareDatetime
    reference: str = Field(min_length=1, max_length=128)
    period: Period | None = None
    method: str | None = None

    @property
    def is_refund(self) -> bool:
        return self.amount_fen < 0


@dataclass(frozen=True, slots=True)
class Rejected:
    """A row that was not accepted: its line, why, and the row as read (for the rejects file)."""

    line: int
    reason: str
    raw: RawRow


Converter = Callable[[object, ZoneInfo], object]
Spec = Mapping[str, tuple[str, Converter, bool]]  # model field -> (canonical column, converter, required)
RowT = TypeVar("RowT", LedgerRow, PaymentRow)


def _plain(convert: Callable[[object], object]) -> Converter:
    return lambda value, _tz: convert(value)


def _amount_due(value: object) -> int:
    fen = f.parse_amount_fen(value)
    if fen < 0:
        raise f.FieldError("negative: a credit note is not a bill")
    return fen


def _amount_paid(value: object) -> int:
    fen = f.parse_amount_fen(value)
    if fen == 0:
        raise f.FieldError("zero")
    return fen


_PLACE: Spec = {
    "community_id": ("community", _plain(f.parse_label), False),
    "building": ("building", _plain(f.parse_label), True),
    "unit": ("unit", _plain(f.parse_label), False),
    "room": ("room", _plain(f.parse_room), True),
}
LEDGER: Spec = {
    **_PLACE,
    "owner_name": ("owner_name", _plain(f.parse_text), False),
    "phones": ("phone", _plain(f.parse_phones), False),
    "area_m2": ("area", _plain(f.parse_area), False),
    "rate_fen_per_m2": ("rate", _plain(f.parse_rate_fen), False),
    "period": ("period", _plain(f.parse_period), True),
    "amount_due_fen": ("amount_due", _plain(_amount_due), True),
    "due": ("due_date", f.parse_date, False),
}
PAYMENTS: Spec = {
    **_PLACE,
    "amount_fen": ("amount_paid", _plain(_amount_paid), True),
    "paid_at": ("paid_at", f.parse_datetime, True),
    "reference": ("reference", _plain(f.parse_reference), True),
    "period": ("period", _plain(f.parse_period), False),
    "method": ("method", _plain(f.parse_method), False),
}
# columns without which no row could be accepted: the file is refused instead of every row
# (building may be written into the room: 3栋1单元1502)
LEDGER_COLUMNS = ("room", "period", "amount_due")
PAYMENT_COLUMNS = ("room", "amount_paid", "paid_at", "reference")


def parse_ledger(rows: Iterable[RawRow], tz: ZoneInfo) -> Iterator[LedgerRow | Rejected]:
    """Ledger rows in file order; an exact repeat of an earlier row (after conversion) is rejected."""
    return _parse(rows, tz, LEDGER, LEDGER_COLUMNS, LedgerRow, "row", lambda row: row.model_dump_json(exclude={"line"}))


def parse_payments(rows: Iterable[RawRow], tz: ZoneInfo) -> Iterator[PaymentRow | Rejected]:
    """Payment rows in file order; a reference seen earlier in the file is rejected from its second occurrence."""
    return _parse(rows, tz, PAYMENTS, PAYMENT_COLUMNS, PaymentRow, "reference", lambda row: row.reference)


def _parse(
    rows: Iterable[RawRow],
    tz: ZoneInfo,
    spec: Spec,
    required_columns: tuple[str, ...],
    model: type[RowT],
    what: str,
    key: Callable[[RowT], str],
) -> Iterator[RowT | Rejected]:
    seen = _FirstSeen()
    layout: Layout | None = None
    for raw in rows:
        if raw.layout is not layout:
            layout = raw.layout
            _require(layout, required_columns)
        values, problems = _convert(raw, spec, tz)
        if problems:
            yield Rejected(raw.line, "; ".join(problems), raw)
            continue
        try:
            row = model(line=raw.line, **values)
        except ValidationError as error:  # converters check each cell; this catches what they cannot
            reasons = (f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors(include_input=False))
            yield Rejected(raw.line, "; ".join(reasons), raw)
            continue
        first = seen.first(key(row), raw.line)
        yield row if first is None else Rejected(raw.line, f"duplicate {what}, first on line {first}", raw)


def _require(layout: Layout, columns: tuple[str, ...]) -> None:
    missing = [f"{ALIASES[column][0]} ({column})" for column in columns if column not in layout.columns]
    if missing:
        raise ImportFileError(f"missing columns: {', '.join(missing)}; found {list(layout.headers)}")


def _convert(raw: RawRow, spec: Spec, tz: ZoneInfo) -> tuple[dict[str, Any], list[str]]:
    cells = _with_building_from_room(raw.fields)
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name, (column, convert, required) in spec.items():
        value = cells.get(column)
        if f.is_blank(value):
            if required:
                problems.append(f"{raw.layout.label(column)}: missing")
            continue
        try:
            values[name] = convert(value, tz)
        except f.FieldError as error:
            problems.append(f"{raw.layout.label(column)}: {error}")
    return values, problems


def _with_building_from_room(cells: Mapping[str, object]) -> Mapping[str, object]:
    """Many exports have no building column and write the room as '3栋1单元1502' or '3-1-1502'."""
    if not f.is_blank(cells.get("building")) or f.is_blank(cells.get("room")):
        return cells
    parts = f.split_room(cells["room"])
    if parts is None:
        return cells
    building, unit, room = parts
    return {
        **cells,
        "building": building,
        "room": room,
        "unit": unit if f.is_blank(cells.get("unit")) else cells["unit"],
    }


class _FirstSeen:
    """The first line of each key, kept as 16-byte digests: memory grows with the rows, not their size."""

    def __init__(self) -> None:
        self._lines: dict[bytes, int] = {}

    def first(self, key: str, line: int) -> int | None:
        """None the first time a key is seen, else the line where it was first seen."""
        first = self._lines.setdefault(hashlib.blake2b(key.encode(), digest_size=16).digest(), line)
        return None if first == line else first

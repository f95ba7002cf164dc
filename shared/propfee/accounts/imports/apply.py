"""Applying an import file: each valid row to its unit (bills issued, payments allocated oldest bill first),
every refused row to the rejects file with its line and reason, and a summary of the whole.

Rows are read and applied in chunks, so memory stays bounded whatever the file's size. Within a chunk the
units are written in parallel, each unit's rows in file order by one worker (one unit's payments must not
race each other's optimistic version checks). The same file twice changes nothing: a bill is issued once
per unit and period, a payment reference is applied once.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, BinaryIO, Literal, Protocol, TextIO
from zoneinfo import ZoneInfo

from propfee.accounts.imports.reading import ImportFileError, RawRow, read_rows
from propfee.accounts.imports.report import RejectsCsv, keep_reject
from propfee.accounts.imports.rows import LedgerRow, PaymentRow, Rejected, parse_ledger, parse_payments
from propfee.accounts.ledger import RefundTooLarge
from propfee.domain.models import Bill, Building, Community, Payment, PaymentSource, Unit, room_key

Kind = Literal["ledger", "payments"]
CHUNK_ROWS = 500
DUE_DAY = 10  # a bill line without a due date falls due on this day of its period's month


class LedgerStore(Protocol):
    def communities(self) -> list[Community]: ...

    def buildings(self, community_id: str) -> list[Building]: ...

    def unit_in_room(self, building_id: str, room: str) -> Unit | None: ...

    def issue_bill(self, bill: Bill) -> bool: ...

    def record_payment(self, payment: Payment, unit: Unit | None = None) -> Any: ...


_FULL_ID = re.compile(r"[A-Z0-9]+-[A-Z0-9]+")


def _digits(label: str) -> str:
    found = re.findall(r"\d+", label)
    return str(int(found[-1])) if found else ""


class UnitDirectory:
    """Finds the unit a row names, as billing exports write it: the community by id or name, the building by
    id, name or number ('C01-B03', '3栋', '3号楼', 'B03', '3'), then the room."""

    def __init__(self, communities: list[Community], buildings: dict[str, list[Building]], default: str | None):
        self._communities = {c.community_id: c.community_id for c in communities} | {
            c.name: c.community_id for c in communities
        }
        self._default = default or (communities[0].community_id if len(communities) == 1 else None)
        # label -> the buildings it may mean: ids and names exactly, then the number alone ('3' for '3栋')
        self._exact: dict[str, dict[str, str]] = {}
        self._numbers: dict[str, dict[str, set[str]]] = {}
        for community_id, listed in buildings.items():
            exact: dict[str, str] = {}
            numbers: dict[str, set[str]] = defaultdict(set)
            for b in listed:
                for label in (b.building_id, b.building_id.split("-")[-1], b.name):
                    exact.setdefault(label.upper(), b.building_id)
                numbers[_digits(b.name) or _digits(b.building_id)].add(b.building_id)
            self._exact[community_id], self._numbers[community_id] = exact, numbers

    @classmethod
    def load(cls, store: LedgerStore, default: str | None = None) -> UnitDirectory:
        communities = store.communities()
        return cls(communities, {c.community_id: store.buildings(c.community_id) for c in communities}, default)

    def building_id(self, row: LedgerRow | PaymentRow) -> tuple[str | None, str]:
        """The building the row names, or None and why not (naming the column, never an owner's data)."""
        community = self._communities.get(row.community_id or "") if row.community_id else self._default
        if community is None:
            if row.community_id:
                return None, "community: not one of the company's communities"
            return None, "community: the file has no community column and the company has several"
        label = row.building.upper()
        building = self._exact.get(community, {}).get(label)
        if building is not None:
            return building, ""
        if _FULL_ID.fullmatch(label):  # another community's building id is not this one's by its number
            return None, "building: not a building of the community"
        candidates = self._numbers.get(community, {}).get(_digits(label), set())
        if len(candidates) > 1:
            return None, "building: the number fits several buildings; write the building's name"
        if not candidates:
            return None, "building: not a building of the community"
        return next(iter(candidates)), ""


Outcome = Literal["applied", "duplicate", "rejected"]


@dataclass
class ApplySummary:
    """What an import did, built row by row (constant memory apart from the first rejects)."""

    file: str
    kind: Kind
    applied: int = 0
    duplicates: int = 0  # already applied by an earlier import: the same file twice changes nothing
    rejected: int = 0
    applied_fen: int = 0  # billed (ledger), or paid net of refunds (payments), by the rows applied now
    rejects: list[dict[str, int | str]] = field(default_factory=list)
    error: str | None = None

    def reject(self, rejected: Rejected, rejects_file: RejectsCsv | None) -> None:
        self.rejected += 1
        keep_reject(self.rejects, rejected)
        if rejects_file is not None:
            rejects_file.write(rejected)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "kind": self.kind,
            "ok": self.error is None,
            "error": self.error,
            "rows_applied": self.applied,
            "rows_already_applied": self.duplicates,
            "rows_rejected": self.rejected,
            "rejects": self.rejects,
            "rejects_truncated": self.rejected > len(self.rejects),
            "applied_fen": self.applied_fen,
        }


def apply_file(
    source: BinaryIO,
    filename: str,
    kind: Kind,
    tz: ZoneInfo,
    store: LedgerStore,
    now: datetime,
    rejects_out: TextIO | None = None,
    default_community: str | None = None,
    workers: int = 8,
) -> ApplySummary:
    """Apply every valid row of a file; a file that cannot be read at all applies nothing."""
    summary = ApplySummary(file=filename, kind=kind)
    rejects_file = RejectsCsv(rejects_out) if rejects_out is not None else None
    directory = UnitDirectory.load(store, default_community)
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for chunk in _chunks(_with_raw(read_rows(source, filename), kind, tz), CHUNK_ROWS):
                by_unit: dict[tuple[str, str], list[tuple[LedgerRow | PaymentRow, Rejected]]] = defaultdict(list)
                refused: list[Rejected] = []
                for result, raw in chunk:
                    if isinstance(result, Rejected):
                        refused.append(result)
                        continue
                    building, problem = directory.building_id(result)
                    refusal = Rejected(result.line, problem, raw)
                    if building is None:
                        refused.append(refusal)
                    else:
                        by_unit[(building, room_key(result.room))].append((result, refusal))
                jobs = [pool.submit(_apply_unit, store, *place, rows, tz, now) for place, rows in by_unit.items()]
                for job in jobs:
                    for outcome, amount, refusal in job.result():
                        if outcome == "applied":
                            summary.applied += 1
                            summary.applied_fen += amount
                        elif outcome == "duplicate":
                            summary.duplicates += 1
                        else:
                            refused.append(refusal)
                for rejected in sorted(refused, key=lambda r: r.line):  # the rejects file in the file's order
                    summary.reject(rejected, rejects_file)
    except ImportFileError as error:
        summary.error = str(error)
    if rejects_file is not None:
        rejects_file.finish()
    return summary


def _with_raw(
    rows: Iterator[RawRow], kind: Kind, tz: ZoneInfo
) -> Iterator[tuple[LedgerRow | PaymentRow | Rejected, RawRow]]:
    """Each parsed row with the raw row it came from (the parser yields one result per raw row, in order)."""
    current: list[RawRow] = []

    def remembered() -> Iterator[RawRow]:
        for raw in rows:
            current[:] = [raw]
            yield raw

    parsed: Iterable[LedgerRow | PaymentRow | Rejected] = (
        parse_ledger(remembered(), tz) if kind == "ledger" else parse_payments(remembered(), tz)
    )
    for result in parsed:
        yield result, current[0]


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _apply_unit(
    store: LedgerStore,
    building_id: str,
    room: str,
    rows: list[tuple[LedgerRow | PaymentRow, Rejected]],
    tz: ZoneInfo,
    now: datetime,
) -> list[tuple[Outcome, int, Rejected]]:
    """One unit's rows, in file order."""
    unit = store.unit_in_room(building_id, room)
    if unit is None:
        return [("rejected", 0, _because(r, "room: no such unit in the building")) for _, r in rows]
    unit_id, community_id = unit.unit_id, unit.community_id
    latest: Unit | None = unit  # as last written here: saves the payment's own read of it
    results: list[tuple[Outcome, int, Rejected]] = []
    for row, refusal in rows:
        if isinstance(row, LedgerRow):
            bill = Bill(
                unit_id=unit_id,
                community_id=community_id,
                period=row.period,
                amount_fen=row.amount_due_fen,
                due=row.due or _default_due(row.period),
                issued_at=now,
            )
            issued = store.issue_bill(bill)
            results.append(("applied", bill.amount_fen, refusal) if issued else ("duplicate", 0, refusal))
            latest = None
            continue
        payment = Payment(
            reference=row.reference,
            unit_id=unit_id,
            community_id=community_id,
            amount_fen=row.amount_fen,
            paid_at=row.paid_at.astimezone(tz),
            method=row.method or "import",
            for_period=row.period,
            source=PaymentSource.IMPORT,
        )
        try:
            applied = store.record_payment(payment, latest)
        except RefundTooLarge:
            results.append(("rejected", 0, _because(refusal, "amount: a refund larger than the unit's payments")))
            latest = None
            continue
        latest = applied.unit_after if applied is not None else None
        results.append(("applied", row.amount_fen, refusal) if applied is not None else ("duplicate", 0, refusal))
    return results


def _because(rejected: Rejected, reason: str) -> Rejected:
    return Rejected(rejected.line, reason, rejected.raw)


def _default_due(period: str) -> date:
    year, month = (int(part) for part in period.split("-"))
    return date(year, month, DUE_DAY)

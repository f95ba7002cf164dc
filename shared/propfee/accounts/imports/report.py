"""The --check summary of an import file, and the rejects file that goes back to whoever sent it."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, BinaryIO, Literal, TextIO
from zoneinfo import ZoneInfo

from propfee.accounts.imports.fields import clean
from propfee.accounts.imports.reading import ImportFileError, read_rows
from propfee.accounts.imports.rows import LedgerRow, PaymentRow, Rejected, parse_ledger, parse_payments

Kind = Literal["ledger", "payments"]
REJECTS_IN_SUMMARY = 1_000
# OWASP CSV injection: a cell starting with one of these may run as a formula in Excel or LibreOffice
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class CheckSummary:
    """Counts and totals built row by row: constant memory apart from the first REJECTS_IN_SUMMARY rejects."""

    file: str
    kind: Kind
    accepted: int = 0
    rejected: int = 0
    due_fen: int = 0
    paid_fen: int = 0
    refunded_fen: int = 0  # positive: the sum of the refunds' absolute amounts
    rejects: list[dict[str, int | str]] = field(default_factory=list)
    error: str | None = None  # the file as a whole was refused

    def add(self, result: LedgerRow | PaymentRow | Rejected) -> None:
        if isinstance(result, Rejected):
            self.rejected += 1
            keep_reject(self.rejects, result)
        elif isinstance(result, LedgerRow):
            self.accepted += 1
            self.due_fen += result.amount_due_fen
        else:
            self.accepted += 1
            if result.amount_fen < 0:
                self.refunded_fen -= result.amount_fen
            else:
                self.paid_fen += result.amount_fen

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "kind": self.kind,
            "ok": self.error is None,
            "error": self.error,
            "rows_accepted": self.accepted,
            "rows_rejected": self.rejected,
            "rejects": self.rejects,
            "rejects_truncated": self.rejected > len(self.rejects),
            "totals_fen": {"due": self.due_fen, "paid": self.paid_fen, "refunded": self.refunded_fen},
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, indent=2)


def keep_reject(rejects: list[dict[str, int | str]], rejected: Rejected) -> None:
    """A summary lists the first REJECTS_IN_SUMMARY rejects (line and reason); the rejects file has them all."""
    if len(rejects) < REJECTS_IN_SUMMARY:
        rejects.append({"line": rejected.line, "reason": rejected.reason})


def check(source: BinaryIO, filename: str, kind: Kind, tz: ZoneInfo, rejects_out: TextIO | None = None) -> CheckSummary:
    """Validates a file without applying anything; with rejects_out, writes the rejects file on the way.

    A file-level problem gives a summary with `error` set and zero counts: nothing of that file may be applied (and
    a rejects file written so far is incomplete)."""
    summary = CheckSummary(file=filename, kind=kind)
    rejects = RejectsCsv(rejects_out) if rejects_out is not None else None
    try:
        rows = read_rows(source, filename)
        results = parse_ledger(rows, tz) if kind == "ledger" else parse_payments(rows, tz)
        for result in results:
            summary.add(result)
            if rejects is not None and isinstance(result, Rejected):
                rejects.write(result)
    except ImportFileError as error:
        return CheckSummary(file=filename, kind=kind, error=str(error))
    if rejects is not None:
        rejects.finish()
    return summary


def safe_cell(value: object) -> str:
    """A cell's text for a CSV that will be opened in a spreadsheet, formula injection neutralised.

    Anything starting with = + - @ tab or CR gets a leading apostrophe, negative amounts too ('-50.00 shows as
    text): telling a harmless number from '-1+cmd|...' is exactly the parsing that attacks slip through."""
    text = _text(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return clean(value)  # 1234.5, not 1234.5000000000002
    return str(value)


class RejectsCsv:
    """Writes rejected rows: line, reason, then the file's own columns with the cells as read."""

    def __init__(self, out: TextIO) -> None:
        """`out` is opened with newline="" (and encoding "utf-8-sig" so that Excel reads the Chinese)."""
        self._writer = csv.writer(out)
        self.count = 0

    def write(self, rejected: Rejected) -> None:
        if self.count == 0:
            self._writer.writerow(["line", "reason", *map(safe_cell, rejected.raw.layout.headers)])
        self._writer.writerow([rejected.line, safe_cell(rejected.reason), *map(safe_cell, rejected.raw.cells)])
        self.count += 1

    def finish(self) -> None:
        if self.count == 0:
            self._writer.writerow(["line", "reason"])


def write_rejects_csv(rejects: Iterable[Rejected], out: TextIO) -> int:
    """The rejects file (streamed: the rejects may be a generator); returns how many rows it holds."""
    writer = RejectsCsv(out)
    for rejected in rejects:
        writer.write(rejected)
    writer.finish()
    return writer.count

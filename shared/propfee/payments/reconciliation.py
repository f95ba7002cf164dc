"""The nightly reconciliation: each provider's trade bill for a day, read row by row, compared with the orders and
the ledger; a payment whose notification never came applied through the notifications' own exactly-once path
(noted as reconciled); unknown and mismatched transactions listed in one finance ticket per provider and day."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from itertools import islice
from typing import Protocol
from zoneinfo import ZoneInfo

from propfee.domain.models import Ticket
from propfee.domain.ports import ObjectStore
from propfee.feedback.intent_schema import Department
from propfee.feedback.responses import ticket_id_for
from propfee.payments.notifications import FINANCE_HOURS, NotificationStore, Outcome, apply_verified
from propfee.payments.orders import OrderStatus, PaymentOrder
from propfee.payments.ports import BillEntry, BillEntryKind, PaymentProvider, ProviderName, TradeState

log = logging.getLogger(__name__)
BATCH = 100  # bill rows whose orders are read together (one BatchGetItem)
MAX_LISTED = 200  # exceptions kept whole for the report and the evidence; beyond, only counted
TICKET_TEXT = 2000  # a ticket's message limit (domain.models.Ticket)


class Discrepancy(StrEnum):
    UNKNOWN = "unknown"  # no such order: money for something propfee never ordered
    AMOUNT = "amount"  # paid other than ordered
    PROVIDER = "provider"  # the order was made with the other provider
    STATE = "state"  # the provider's state and propfee's differ (a second payment of a paid order, ...)
    REFUND = "refund"  # refunded at the provider, not on the ledger


@dataclass(frozen=True)
class Finding:
    discrepancy: Discrepancy
    out_trade_no: str
    transaction_id: str
    kind: str  # payment / refund
    amount_fen: int  # the provider's (for a refund: the money given back)
    at: str | None
    detail: str


@dataclass
class Reconciliation:
    """One provider's day: what its bill held, what matched, what was applied now, what finance must look at."""

    provider: str
    day: str
    rows: int = 0
    payments: int = 0
    payments_fen: int = 0
    refunds: int = 0
    refunds_fen: int = 0
    matched: int = 0  # recorded as the bill says (its notification came)
    reconciled: int = 0  # applied from the bill: no notification came (counted again on a re-run: still true)
    reconciled_fen: int = 0
    unknown: int = 0
    mismatched: int = 0
    other_states: int = 0  # rows of orders not paid (closed, revoked): nothing to compare
    findings: list[Finding] = field(default_factory=list)  # the first MAX_LISTED
    ticket_id: str | None = None

    @property
    def exceptions(self) -> int:
        return self.unknown + self.mismatched

    def as_record(self) -> dict[str, object]:
        record = asdict(self)
        record["findings"] = [{**asdict(f), "discrepancy": f.discrepancy.value} for f in self.findings]
        return record


class ReconciliationStore(NotificationStore, Protocol):
    def orders_by_number(self, numbers: Sequence[str]) -> dict[str, PaymentOrder]:
        """The orders of these numbers that exist (at most BATCH numbers)."""
        ...

    def note_reconciled(self, order: PaymentOrder, day: date) -> None:
        """Mark the order as paid by the reconciliation of that bill day, not by a notification."""
        ...

    def has_payment_reference(self, reference: str) -> bool:
        """Whether the ledger holds a payment (or refund) of this reference."""
        ...

    def keep_reconciliation(self, record: Mapping[str, object]) -> None: ...


def _batches(entries: Iterable[BillEntry], size: int) -> Iterator[list[BillEntry]]:
    iterator = iter(entries)
    while batch := list(islice(iterator, size)):
        yield batch


def compare_bill(
    entries: Iterable[BillEntry],
    provider: ProviderName,
    store: ReconciliationStore,
    day: date,
    now: datetime,
    tz: ZoneInfo,
) -> Reconciliation:
    """Streams the bill (a batch of rows in memory at a time) and compares each row with the order it names."""
    result = Reconciliation(provider.value, day.isoformat())
    for batch in _batches(entries, BATCH):
        orders = store.orders_by_number(sorted({e.out_trade_no for e in batch}))
        for entry in batch:
            result.rows += 1
            finding = _compare(entry, orders.get(entry.out_trade_no), provider, store, day, now, tz, result)
            if finding is None:
                continue
            if finding.discrepancy is Discrepancy.UNKNOWN:
                result.unknown += 1
            else:
                result.mismatched += 1
            if len(result.findings) < MAX_LISTED:
                result.findings.append(finding)
    return result


def _finding(entry: BillEntry, discrepancy: Discrepancy, detail: str) -> Finding:
    refund = entry.kind is BillEntryKind.REFUND
    return Finding(
        discrepancy,
        entry.out_trade_no,
        entry.refund_id or entry.transaction_id if refund else entry.transaction_id,
        entry.kind.value,
        entry.refund_fen if refund else entry.amount_fen,
        entry.at.isoformat() if entry.at else None,
        detail,
    )


def _compare(
    entry: BillEntry,
    order: PaymentOrder | None,
    provider: ProviderName,
    store: ReconciliationStore,
    day: date,
    now: datetime,
    tz: ZoneInfo,
    result: Reconciliation,
) -> Finding | None:
    if entry.kind is BillEntryKind.REFUND:
        result.refunds += 1
        result.refunds_fen += entry.refund_fen
        if order is None:
            return _finding(entry, Discrepancy.UNKNOWN, "a refund of an order propfee does not know")
        if entry.refund_id and store.has_payment_reference(entry.refund_id):
            result.matched += 1
            return None
        return _finding(entry, Discrepancy.REFUND, f"refunded {entry.refund_fen} fen; not on the ledger")
    if entry.state is not TradeState.PAID:
        result.other_states += 1
        return None
    result.payments += 1
    result.payments_fen += entry.amount_fen
    if order is None:
        return _finding(entry, Discrepancy.UNKNOWN, "no such order")
    if order.provider is not provider:
        return _finding(entry, Discrepancy.PROVIDER, f"an order made with {order.provider.value}")
    if order.amount_fen != entry.amount_fen:
        return _finding(entry, Discrepancy.AMOUNT, f"paid {entry.amount_fen} fen for an order of {order.amount_fen}")
    if order.status is OrderStatus.HELD:
        return _finding(entry, Discrepancy.STATE, f"held for finance (ticket {order.ticket_id})")
    if order.status is OrderStatus.PAID:
        if order.transaction_id != entry.transaction_id:
            return _finding(entry, Discrepancy.STATE, f"the order was paid by {order.transaction_id}: paid twice")
        if order.reconciled_on is not None:
            result.reconciled += 1
            result.reconciled_fen += entry.amount_fen
        else:
            result.matched += 1
        return None
    # open or closed here, paid there: the notification never came (or came after the order was closed)
    handled = apply_verified(entry.as_notice(), store, now, tz)
    if handled.outcome not in (Outcome.APPLIED, Outcome.DUPLICATE):
        return _finding(entry, Discrepancy.STATE, f"not applied: {handled.outcome.value}")
    store.note_reconciled(order, day)
    result.reconciled += 1
    result.reconciled_fen += entry.amount_fen
    log.info("payment reconciled", extra={"provider": provider.value, "outcome": handled.outcome.value})
    return None


def finance_ticket(result: Reconciliation, now: datetime, evidence_key: str) -> Ticket:
    """One ticket per provider and day listing what finance must look at (as many as fit; the rest in the
    reconciliation file and the daily report)."""
    head = (
        f"Reconciliation of {result.provider} for {result.day}: {result.unknown} unknown, "
        f"{result.mismatched} mismatched of {result.rows} rows. Refund, apply by hand or correct each:"
    )
    lines, room = [], TICKET_TEXT - len(head) - 120
    for f in result.findings:
        line = f"\n- {f.discrepancy.value}: {f.kind} {f.transaction_id} order {f.out_trade_no}, {f.amount_fen} fen"
        line += f", {f.detail}"
        if len(line) > room:
            break
        lines.append(line)
        room -= len(line)
    rest = result.exceptions - len(lines)
    tail = f"\n(and {rest} more: {evidence_key})" if rest else f"\n({evidence_key})"
    source = f"reconciliation:{result.provider}"
    return Ticket(
        ticket_id=ticket_id_for(source, date.fromisoformat(result.day)),
        community_id="UNKNOWN",  # a bill spans communities
        department=Department.FINANCE.value,
        intent="payment_reconciliation",
        channel="payment",
        contact=result.provider,
        message=head + "".join(lines) + tail,
        created_at=now,
        due_by=now + timedelta(hours=FINANCE_HOURS),
        source_id=f"{source}:{result.day}",
    )


def evidence_key(provider: str, day: str) -> str:
    return f"reconciliation/{day}/{provider}.json"


def reconcile_day(
    provider: PaymentProvider,
    store: ReconciliationStore,
    evidence: ObjectStore,
    day: date,
    now: datetime,
    tz: ZoneInfo,
) -> Reconciliation:
    """Download, compare, ticket, keep. Re-running it changes nothing: payments are applied once by their
    transaction id, the ticket's id is the provider's and the day's, the record and the file say the same."""
    result = compare_bill(provider.trade_bill(day), provider.name, store, day, now, tz)
    key = evidence_key(result.provider, result.day)
    if result.exceptions:
        ticket = finance_ticket(result, now, key)
        store.hold_for_finance(ticket, None, "")  # opened once: a re-run finds it
        result.ticket_id = ticket.ticket_id
    record = result.as_record()
    evidence.put(key, json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True).encode(), "application/json")
    store.keep_reconciliation(record)
    log.info(
        "bill reconciled",
        extra={k: record[k] for k in ("provider", "day", "rows", "matched", "reconciled", "unknown", "mismatched")},
    )
    return result


class ReconciliationFailed(RuntimeError):
    """A provider's bill could not be reconciled (the others were): the run fails so that it is retried."""


def reconcile_providers(
    providers: Mapping[ProviderName, PaymentProvider],
    store: ReconciliationStore,
    evidence: ObjectStore,
    day: date,
    now: datetime,
    tz: ZoneInfo,
) -> list[Reconciliation]:
    """Every configured provider's bill; one failing does not stop the others, and fails the run at the end."""
    done, failed = [], []
    for name in providers:
        try:
            done.append(reconcile_day(providers[name], store, evidence, day, now, tz))
        except Exception:
            log.exception("bill not reconciled", extra={"provider": name.value, "day": day.isoformat()})
            failed.append(name.value)
    if failed:
        raise ReconciliationFailed(f"not reconciled: {', '.join(failed)} for {day.isoformat()}")
    return done

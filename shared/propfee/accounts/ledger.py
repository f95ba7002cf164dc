"""Bills and payments applied to a unit's open balance: pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from propfee.domain.models import Bill, Building, Community, Hold, HoldKind, OpenBill, Payment, PeriodTotal, Unit


@dataclass(frozen=True)
class Allocation:
    """How one payment settles bills, oldest first; what is left over becomes credit."""

    by_period: dict[str, int]
    credit_fen: int
    unit_after: Unit
    # the promises to pay (承诺缴费) this payment kept: it settled the unit by the promised date
    promises_kept: tuple[Hold, ...] = ()


def with_bill(unit: Unit, bill: Bill) -> Unit:
    """The unit after a new bill; existing credit pays it down first."""
    if bill.period in unit.open_bills:
        raise ValueError(f"{unit.unit_id} already has a bill for {bill.period}")
    from_credit = min(unit.credit_fen, bill.amount_fen)
    open_bills = dict(unit.open_bills)
    outstanding = bill.amount_fen - from_credit
    if outstanding > 0:
        open_bills[bill.period] = OpenBill(due=bill.due, outstanding_fen=outstanding)
    return unit.model_copy(
        update={
            "open_bills": open_bills,
            "credit_fen": unit.credit_fen - from_credit,
            "version": unit.version + 1,
        }
    )


AllocationOrder = Literal["oldest_first", "named_period_first"]


def allocate(unit: Unit, payment: Payment, order: AllocationOrder = "oldest_first") -> Allocation:
    """Settle the oldest bills first (by due date, then period); with named_period_first, the month the
    payer named is settled before the oldest. A refund goes through `refund`."""
    if payment.is_refund:
        raise ValueError("a refund re-opens paid bills: use refund() with the unit's bills")
    remaining = payment.amount_fen
    open_bills = dict(unit.open_bills)
    by_period: dict[str, int] = {}
    named = payment.for_period if order == "named_period_first" else None
    for period, bill in sorted(open_bills.items(), key=lambda item: (item[0] != named, item[1].due, item[0])):
        if remaining == 0:
            break
        applied = min(remaining, bill.outstanding_fen)
        remaining -= applied
        by_period[period] = applied
        left = bill.outstanding_fen - applied
        if left:
            open_bills[period] = bill.model_copy(update={"outstanding_fen": left})
        else:
            del open_bills[period]
    settled = not open_bills
    promises = tuple(h for h in unit.holds if h.kind is HoldKind.PROMISE_TO_PAY) if settled else ()
    paid_day = payment.paid_at.date()
    unit_after = unit.model_copy(
        update={
            "open_bills": open_bills,
            "credit_fen": unit.credit_fen + remaining,
            "version": unit.version + 1,
            # money arrived: an "I already paid" pause has done its job (the ladder goes on for what is left);
            # settled, a promise to pay is over too (kept, or paid late)
            "holds": tuple(h for h in unit.holds if h.kind is not HoldKind.PAID_CLAIM and h not in promises),
            # settled: the next arrears episode starts from the first step of the ladder, with claims of its own
            "steps_done": frozenset() if settled else unit.steps_done,
            "arrears_episode": unit.arrears_episode + 1 if settled else unit.arrears_episode,
        }
    )
    kept = tuple(h for h in promises if h.until is None or paid_day <= h.until)
    return Allocation(by_period=by_period, credit_fen=remaining, unit_after=unit_after, promises_kept=kept)


@dataclass(frozen=True)
class PaidBill:
    """A bill as the ledger holds it: what was billed and what has been paid of it."""

    period: str
    due: date
    amount_fen: int
    paid_fen: int


class RefundTooLarge(ValueError):
    pass


def refund(unit: Unit, paid_bills: Sequence[PaidBill], payment: Payment) -> Allocation:
    """Money paid back to the owner: first from the unit's credit, then it re-opens what was paid of the
    latest bills (a refund undoes the most recent money first). `by_period` holds negative amounts."""
    if not payment.is_refund:
        raise ValueError("a refund has a negative amount")
    owed_back = -payment.amount_fen
    from_credit = min(unit.credit_fen, owed_back)
    remaining = owed_back - from_credit
    open_bills = dict(unit.open_bills)
    by_period: dict[str, int] = {}
    for bill in sorted(paid_bills, key=lambda b: (b.due, b.period), reverse=True):
        if remaining == 0:
            break
        reopened = min(remaining, bill.paid_fen)
        if reopened == 0:
            continue
        remaining -= reopened
        by_period[bill.period] = -reopened
        outstanding = (open_bills[bill.period].outstanding_fen if bill.period in open_bills else 0) + reopened
        open_bills[bill.period] = OpenBill(due=bill.due, outstanding_fen=outstanding)
    if remaining:
        raise RefundTooLarge(f"refund of {owed_back} fen is more than the unit's credit and payments")
    unit_after = unit.model_copy(
        update={"open_bills": open_bills, "credit_fen": unit.credit_fen - from_credit, "version": unit.version + 1}
    )
    return Allocation(by_period=by_period, credit_fen=-from_credit, unit_after=unit_after)


@dataclass(frozen=True)
class LedgerSnapshot:
    """A whole ledger computed in memory (by a migration or the simulation), ready for a bulk load."""

    communities: Sequence[Community]
    buildings: Sequence[Building]
    units: Sequence[Unit]
    bills: Sequence[tuple[Bill, int]]  # with the amount paid of each
    payments: Sequence[tuple[Payment, Allocation]]
    period_totals: Sequence[PeriodTotal]

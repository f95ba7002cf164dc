"""A verified online payment applied in one read and one transaction: the order and its unit read together (the
unit named by the merchant data the provider echoes), then the payment with its ledger entry, the unit, its bills
and period totals, the order's status, the unit's open tasks closed as paid, a kept promise, the receipt (by
transaction and by token) and the planned message to the owner written all at once, exactly once by the
provider's transaction id. Whatever that transaction cannot settle (the billing system's import came first, the
order changed meanwhile) goes the general way (payments/notifications.py)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from propfee.accounts import ledger
from propfee.collection.tasks import finished, task_id_for
from propfee.domain.models import Payment, Task, TaskOutcome, Unit
from propfee.payments.effects import PaymentEffects
from propfee.payments.orders import PaymentOrder
from propfee.payments.ports import PaymentNotice
from propfee.payments.receipt_messages import MessagePlan
from propfee.payments.receipts import Receipt

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5  # a unit or a task changed between the read and the transaction: read both again


class Written(StrEnum):
    APPLIED = "applied"
    REPLAYED = "replayed"  # this exact signed message was claimed before: nothing written
    DUPLICATE = "duplicate"  # the transaction's payment (or its reference) exists: the general way decides
    CHANGED = "changed"  # the unit, a task or the order changed since the read: read again


@dataclass(frozen=True)
class PaidAtOnce:
    """Everything one applied payment writes, for one transaction."""

    payment: Payment
    unit: Unit  # as read (its version is the transaction's condition)
    allocation: ledger.Allocation
    order: PaymentOrder
    transaction_id: str
    tasks_done: tuple[Task, ...]
    receipt: Receipt | None
    message: MessagePlan | None
    replay: tuple[str, str, datetime] | None  # (provider, replay key, forget after)
    now: datetime


@runtime_checkable
class AtOnceStore(Protocol):
    def order_and_unit(
        self, out_trade_no: str, unit_id: str | None, task_ids: Sequence[str] = ()
    ) -> tuple[PaymentOrder | None, Unit | None, dict[str, Task | None]]:
        """The order, its unit and these tasks in one read (the unit named by `unit_id`, when it is the order's;
        each task id maps to None when there is no such task)."""
        ...

    def tasks_by_id(self, task_ids: Sequence[str]) -> list[Task]: ...

    def allocate(self, unit: Unit, payment: Payment) -> ledger.Allocation: ...

    def apply_paid(self, paid: PaidAtOnce) -> Written: ...


def task_guesses(unit_id: str | None, episode: int | None, effects: PaymentEffects | None) -> list[str]:
    """The tasks the unit may have in its arrears episode (as the provider echoed it), to read with the order:
    one per ladder step that makes tasks."""
    if unit_id is None or episode is None or effects is None:
        return []
    return [task_id_for(unit_id, step, episode) for step in sorted(effects.task_making_steps)]


def task_candidates(unit: Unit, paid_fen: int, taskless: frozenset[str]) -> list[str]:
    """The tasks the payment closes: those of the unit's current arrears episode, when it covers what the unit
    owes (as payments/effects.close_tasks_as_paid), but for the steps known to make none."""
    if paid_fen < unit.balance_fen or not unit.steps_done:
        return []
    steps = sorted(unit.steps_done - taskless)
    return [task_id_for(unit.unit_id, step, unit.arrears_episode) for step in steps]


def apply_at_once(
    store: AtOnceStore,
    notice: PaymentNotice,
    order: PaymentOrder,
    unit: Unit,
    payment: Payment,
    replay: tuple[str, str, datetime] | None,
    now: datetime,
    effects: PaymentEffects | None,
    read: dict[str, Task | None],
) -> tuple[Written, MessagePlan | None]:
    """One transaction (and a read again when something changed meanwhile). `read`: the tasks read with the order
    (None where there is none); others the payment closes are read apart (a key customer's visits, an episode
    that moved on). The message, when due now, is the caller's to send once the transaction is durable."""
    note = f"paid online: {notice.provider.value} {notice.transaction_id}"
    guesses = list(read)
    for _attempt in range(MAX_ATTEMPTS):
        taskless = effects.taskless_steps(unit) if effects is not None else frozenset()
        candidates = task_candidates(unit, notice.amount_fen, taskless)
        missing = [c for c in candidates if c not in read]
        found = {t.task_id: t for t in store.tasks_by_id(missing)} if missing else {}
        tasks = [t for c in candidates if (t := read.get(c) or found.get(c)) is not None]
        done = tuple(finished(t, TaskOutcome.PAID, None, note, now) for t in tasks if t.status == "open")
        allocation = store.allocate(unit, payment)
        receipt, message = (
            effects.prepare(order, notice, unit, allocation.by_period, now) if effects is not None else (None, None)
        )
        paid = PaidAtOnce(payment, unit, allocation, order, notice.transaction_id, done, receipt, message, replay, now)
        written = store.apply_paid(paid)
        if written is not Written.CHANGED:
            log.info("payment applied at once", extra={"outcome": written.value, "tasks_closed": len(done)})
            return written, message
        fresh_order, fresh_unit, read = store.order_and_unit(order.out_trade_no, order.unit_id, guesses)
        if fresh_order is None or fresh_unit is None or fresh_order.status is not order.status:
            return Written.CHANGED, None  # the order moved on: the general way decides
        unit = fresh_unit
    return Written.CHANGED, None

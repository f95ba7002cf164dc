"""What a verified online payment changes beyond the ledger: the unit's open collector tasks close as paid, an
e-receipt is kept and written once, and its link goes to the owner."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from propfee.collection.ladder import Ladder
from propfee.collection.tasks import finished, task_id_for
from propfee.domain.identity import CompanyIdentity
from propfee.domain.models import Building, Community, Task, TaskOutcome, Unit
from propfee.payments.orders import PaymentOrder
from propfee.payments.ports import PaymentNotice
from propfee.payments.receipt_messages import MessagePlan
from propfee.payments.receipts import Receipt, ReceiptFiles, ReceiptStore, compose_receipt, verify_url, write_receipt

log = logging.getLogger(__name__)


class PaidTaskStore(Protocol):
    def tasks_by_id(self, task_ids: Sequence[str]) -> list[Task]: ...

    def complete_task(self, done: Task, unit_after: Unit | None, unit_version: int) -> bool: ...


def close_tasks_as_paid(store: PaidTaskStore, unit: Unit, paid_fen: int, now: datetime, note: str) -> list[str]:
    """The open tasks of the unit's current arrears episode (a task's id is its unit, step and episode, and the
    unit lists the steps it claimed), closed as paid when the payment covers what the unit owes. Idempotent:
    a task already closed stays as it is. Returns the ids closed now."""
    if paid_fen < unit.balance_fen or not unit.steps_done:
        return []
    candidates = [task_id_for(unit.unit_id, step, unit.arrears_episode) for step in sorted(unit.steps_done)]
    closed: list[str] = []
    for task in store.tasks_by_id(candidates):
        if task.status != "open":
            continue
        # verified by the provider, so nothing is held: unlike an owner's "I paid" on a call (no PAID_CLAIM hold)
        if store.complete_task(finished(task, TaskOutcome.PAID, None, note, now), None, unit.version):
            closed.append(task.task_id)
    return closed


class ReceiptRecords(ReceiptStore, Protocol):
    def place_names(self, community_id: str, building_id: str) -> tuple[Community | None, Building | None]:
        """The community and the building of a unit (one read)."""
        ...

    def payment_allocations(self, unit_id: str, reference: str) -> dict[str, int]:
        """How an applied payment settled the unit's bills (its ledger item), for a receipt issued on a retry."""
        ...


class IdentitySource(Protocol):
    def identity_for(self, community_id: str) -> CompanyIdentity: ...


class LadderSource(Protocol):
    def ladder_for(self, community_id: str) -> Ladder: ...


class ReceiptMessenger(Protocol):
    def send_receipt(self, receipt: Receipt, unit: Unit, url: str, now: datetime) -> str:
        """Tell the owner where the receipt is; returns what was done (sent, scheduled, skipped: reason)."""
        ...

    def plan(self, receipt: Receipt, unit: Unit, url: str, now: datetime) -> MessagePlan:
        """What to tell the owner and when (kept with the payment, sent once it is durable)."""
        ...

    def send_planned(self, planned: MessagePlan) -> str: ...


@dataclass
class PaymentEffects:
    """The receipt and its message, after the ledger took the payment and before the order is marked paid: a
    notification retried after a crash anywhere here does what is left, and nothing twice."""

    records: ReceiptRecords
    files: ReceiptFiles
    identities: IdentitySource
    font: Path | None  # resolved lazily: find_font(settings.letter_font)
    base_url: str  # the bill page's public base URL: the verification page is /r/<token> there
    tz: ZoneInfo
    messenger: ReceiptMessenger | None = None
    ladders: LadderSource | None = None  # which steps make collectors' tasks (None: any step may have)
    task_making_steps: frozenset[str] = frozenset()  # of every ladder: the tasks read with the order

    def taskless_steps(self, unit: Unit) -> frozenset[str]:
        """The unit's ladder steps that make no collector's task (messages, letters): no task of theirs to look
        for. A key customer's every step is a visit; a step the ladder no longer has may have made one."""
        if self.ladders is None or unit.key_customer:
            return frozenset()
        steps = self.ladders.ladder_for(unit.community_id).steps  # a call's fallback is a visit: a task too
        return frozenset(s.step_id for s in steps if not any(c.is_task for c in s.channels))

    def prepare(
        self, order: PaymentOrder, notice: PaymentNotice, unit: Unit, by_period: dict[str, int], now: datetime
    ) -> tuple[Receipt, MessagePlan | None]:
        """The receipt of a payment about to be applied and the message that will tell the owner of it, both
        pure once the place's names are known (read once per container): written with the payment. Its PDF is
        made when first downloaded (payments/bill_page.py), from these same facts, to the same bytes."""
        community, building = self.records.place_names(unit.community_id, unit.building_id)
        identity = self.identities.identity_for(unit.community_id)
        receipt = compose_receipt(order, notice, unit, community, building, identity, by_period, now, self.tz)
        if self.messenger is None:
            return receipt, None
        return receipt, self.messenger.plan(receipt, unit, verify_url(self.base_url, receipt.token), now)

    def after_payment(
        self, order: PaymentOrder, notice: PaymentNotice, unit: Unit, by_period: dict[str, int] | None, now: datetime
    ) -> Receipt:
        from propfee.collection.cjk_pdf import find_font

        community, building = self.records.place_names(unit.community_id, unit.building_id)
        if by_period is None:  # applied before (a retry after a crash, or the billing system's import came first)
            by_period = self.records.payment_allocations(unit.unit_id, notice.transaction_id)
        identity = self.identities.identity_for(unit.community_id)
        drafted = compose_receipt(order, notice, unit, community, building, identity, by_period, now, self.tz)
        receipt, written = write_receipt(self.records, self.files, find_font(self.font), self.base_url, drafted)
        log.info("receipt", extra={"receipt": receipt.number, "written": written})
        if self.messenger is not None:
            outcome = self.messenger.send_receipt(receipt, unit, verify_url(self.base_url, receipt.token), now)
            log.info("receipt message", extra={"receipt": receipt.number, "outcome": outcome})
        return receipt

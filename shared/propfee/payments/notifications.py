"""A provider's payment notification, applied exactly once: verified (and decrypted) before anything else, then
recorded through the ledger's own path, keyed by the provider's transaction id, or held for finance."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from propfee.accounts.ledger import Allocation
from propfee.domain.models import Payment, Task, Ticket, Unit
from propfee.feedback.intent_schema import Department
from propfee.feedback.responses import ticket_id_for
from propfee.payments.at_once import AtOnceStore, Written, apply_at_once, task_guesses
from propfee.payments.effects import PaidTaskStore, PaymentEffects, close_tasks_as_paid
from propfee.payments.orders import OrderStatus, PaymentOrder, read_merchant_data
from propfee.payments.ports import NotificationRejected, PaymentNotice, PaymentProvider, TradeState
from propfee.payments.receipt_messages import MessagePlan

log = logging.getLogger(__name__)
FINANCE_HOURS = 24  # a payment held for finance is looked at within a working day
REPLAY_MEMORY = timedelta(days=2)  # longer than either provider's signed-timestamp window and retries


class Outcome(StrEnum):
    APPLIED = "applied"  # on the ledger now
    DUPLICATE = "duplicate"  # the same transaction was applied before (a retry, a duplicate, an import)
    HELD = "held"  # paid, but not as ordered (or for no order we know): a finance ticket, nothing applied
    NOT_PAID = "not_paid"  # a notice of another state: nothing to apply


class NotificationStore(PaidTaskStore, Protocol):
    def get_order(self, out_trade_no: str) -> PaymentOrder | None: ...

    def get_unit(self, unit_id: str) -> Unit | None: ...

    def claim_notification(self, provider: str, replay_key: str, expires_at: datetime) -> bool:
        """False when this exact signed message was seen before (a replay)."""
        ...

    def record_payment(self, payment: Payment, unit: Unit | None = None) -> Allocation | None: ...

    def settle_order(self, order: PaymentOrder, status: OrderStatus, transaction_id: str) -> None: ...

    def hold_for_finance(self, ticket: Ticket, order: PaymentOrder | None, transaction_id: str) -> bool:
        """Open the ticket (once: False when it exists) and mark the order held, in one transaction."""
        ...


@dataclass(frozen=True)
class Handled:
    outcome: Outcome
    notice: PaymentNotice
    ticket_id: str | None = None


def apply_notification(
    provider: PaymentProvider,
    store: NotificationStore,
    headers: dict[str, str],
    body: bytes,
    now: datetime,
    tz: ZoneInfo,
    effects: PaymentEffects | None = None,
) -> Handled:
    """Verify, then apply once. Raises NotificationRejected (forged, stale, altered, replayed: nothing written);
    returns once what it wrote is durable, so the caller may answer success."""
    notice = provider.verify_notification(headers, body)
    replay = (provider.name.value, notice.replay_key, now + REPLAY_MEMORY) if notice.replay_key else None
    return apply_verified(notice, store, now, tz, effects, replay)


def _claim(store: NotificationStore, replay: tuple[str, str, datetime] | None) -> None:
    if replay is not None and not store.claim_notification(*replay):
        raise NotificationRejected("replayed: this signed message was received before")


def apply_verified(
    notice: PaymentNotice,
    store: NotificationStore,
    now: datetime,
    tz: ZoneInfo,
    effects: PaymentEffects | None = None,
    replay: tuple[str, str, datetime] | None = None,
) -> Handled:
    """A notice the provider vouched for (a verified notification, or the SDK-verified answer of a query or the
    day's bill, when no notification came): applied once, or held for finance. `replay`: the signed message's
    claim (provider, key, forget after), refused when made before; written with the payment where it can be."""
    if notice.state is not TradeState.PAID:
        _claim(store, replay)
        return Handled(Outcome.NOT_PAID, notice)
    if not notice.transaction_id:
        raise NotificationRejected("a payment without the provider's transaction id")
    read: dict[str, Task | None] = {}
    if isinstance(store, AtOnceStore):
        unit_id, episode = read_merchant_data(notice.attach)
        guesses = task_guesses(unit_id, episode, effects)
        order, unit, read = store.order_and_unit(notice.out_trade_no, unit_id, guesses)
    else:
        order, unit = store.get_order(notice.out_trade_no), None
    if order is None or order.provider is not notice.provider or notice.amount_fen != order.amount_fen:
        _claim(store, replay)
        return _hold(store, notice, order, now, tz)
    payment = Payment(
        reference=notice.transaction_id,  # what the billing system's export carries as the serial: applied once
        unit_id=order.unit_id,
        community_id=order.community_id,
        amount_fen=notice.amount_fen,
        paid_at=(notice.paid_at or now).astimezone(tz),
        method=notice.provider.value,
    )
    tried_at_once = False  # tried and not done: the unit may have changed since it was read
    if isinstance(store, AtOnceStore) and unit is not None and order.status is OrderStatus.OPEN:
        tried_at_once = True
        written, message = apply_at_once(store, notice, order, unit, payment, replay, now, effects, read)
        if written is Written.REPLAYED:
            raise NotificationRejected("replayed: this signed message was received before")
        if written is Written.APPLIED:
            _send_now(effects, message, now)
            log.info("payment notice applied", extra={"provider": notice.provider.value, "outcome": "applied"})
            return Handled(Outcome.APPLIED, notice)
        order = store.get_order(notice.out_trade_no) or order  # the general way, from what is there now
    _claim(store, replay)
    if unit is None or unit.unit_id != order.unit_id or tried_at_once:  # else the one read with the order
        unit = store.get_unit(order.unit_id)
    if unit is not None and order.status is OrderStatus.OPEN:  # before the ledger: a retry still sees the tasks
        note = f"paid online: {notice.provider.value} {notice.transaction_id}"
        close_tasks_as_paid(store, unit, notice.amount_fen, now, note)
    applied = store.record_payment(payment, unit)
    if order.status is not OrderStatus.PAID:  # after the ledger: a retry after a crash here finishes the job
        if effects is not None and unit is not None:  # before the order is paid: a retry still issues it
            effects.after_payment(order, notice, unit, applied.by_period if applied else None, now)
        store.settle_order(order, OrderStatus.PAID, notice.transaction_id)
    outcome = Outcome.APPLIED if applied is not None else Outcome.DUPLICATE
    log.info("payment notice applied", extra={"provider": notice.provider.value, "outcome": outcome.value})
    return Handled(outcome, notice)


def _hold(
    store: NotificationStore, notice: PaymentNotice, order: PaymentOrder | None, now: datetime, tz: ZoneInfo
) -> Handled:
    """Money came that does not match what was ordered: finance decides; the ledger is not touched."""
    if order is None:
        reason = f"an order propfee does not know ({notice.out_trade_no})"
    elif order.provider is not notice.provider:
        reason = f"an order of another provider ({order.provider.value})"
    else:
        reason = f"paid {notice.amount_fen} fen for an order of {order.amount_fen} fen"
    source = f"{notice.provider.value}:{notice.transaction_id}"
    ticket = Ticket(
        ticket_id=ticket_id_for(source, (notice.paid_at or now).astimezone(tz).date()),  # duplicates: one ticket
        community_id=order.community_id if order else "UNKNOWN",
        unit_ids=(order.unit_id,) if order else (),
        department=Department.FINANCE.value,
        intent="payment_mismatch",
        channel="payment",
        contact=notice.provider.value,
        message=f"Online payment not applied: {reason}; transaction {notice.transaction_id}, "
        f"order {notice.out_trade_no}. Refund it or apply it by hand.",
        created_at=now,
        due_by=now + timedelta(hours=FINANCE_HOURS),
        source_id=source,
    )
    store.hold_for_finance(ticket, order, notice.transaction_id)
    log.warning("payment held for finance", extra={"provider": notice.provider.value, "ticket": ticket.ticket_id})
    return Handled(Outcome.HELD, notice, ticket_id=ticket.ticket_id)


def _send_now(effects: PaymentEffects | None, message: MessagePlan | None, now: datetime) -> None:
    """The receipt's message, once the payment is durable, when the window is open; else the hourly run sends it
    when the window opens (it is kept due with the payment). Whatever befalls the message, the payment stands."""
    if effects is None or effects.messenger is None or message is None or not message.sendable:
        return
    assert message.due_at is not None
    if message.due_at > now:
        return
    try:
        outcome = effects.messenger.send_planned(message)
    except Exception:  # the payment is applied: the provider must hear success; the hourly run retries the message
        log.exception("receipt message not sent now", extra={"receipt": message.number})
        return
    log.info("receipt message", extra={"receipt": message.number, "outcome": outcome})


MAX_BODY_BYTES = 64 * 1024  # a notification is a few kilobytes


def accept_notification(
    provider: PaymentProvider,
    store: NotificationStore,
    headers: dict[str, str],
    body: bytes,
    now: datetime,
    tz: ZoneInfo,
    effects: PaymentEffects | None = None,
) -> Handled | None:
    """The endpoint's decision: the result once durable (answer success), or None when refused (answer failure).
    A store error propagates: the function fails and the provider re-sends."""
    if len(body) > MAX_BODY_BYTES:
        log.warning("notification refused", extra={"provider": provider.name.value, "reason": "oversized body"})
        return None
    try:
        lowered = {k.lower(): v for k, v in headers.items()}
        return apply_notification(provider, store, lowered, body, now, tz, effects)
    except NotificationRejected as refused:
        log.warning("notification refused", extra={"provider": provider.name.value, "reason": str(refused)})
        return None

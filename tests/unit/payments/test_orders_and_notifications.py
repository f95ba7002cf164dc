"""Order numbers (deterministic, within both providers' limits, naming no unit), checkouts that never make a second
order, and notifications applied once or held for finance, with in-memory fakes."""

import re
from dataclasses import replace
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from propfee.accounts import ledger
from propfee.domain.models import Channel, Payment, Task, TaskOutcome, Ticket, Unit
from propfee.payments.notifications import Outcome, apply_notification
from propfee.payments.orders import (
    NothingToPay,
    OrderStatus,
    PaymentOrder,
    order_number,
    start_checkout,
)
from propfee.payments.ports import (
    Checkout,
    CheckoutKind,
    NotificationRejected,
    OrderRequest,
    PaymentNotice,
    ProviderName,
    TradeState,
)
from tests.support import SHANGHAI, at, bill, unit

WECHAT_OUT_TRADE_NO = re.compile(r"^[0-9A-Za-z_\-|*]{6,32}$")


@given(
    unit_id=st.text(min_size=1, max_size=80),
    periods=st.lists(st.from_regex(r"20[0-9]{2}-(0[1-9]|1[0-2])", fullmatch=True), min_size=1, max_size=60),
    attempt=st.integers(1, 99_999),
    provider=st.sampled_from(list(ProviderName)),
)
def test_order_numbers_fit_both_providers_and_name_no_unit(unit_id, periods, attempt, provider):
    number = order_number(provider, unit_id, tuple(periods), attempt)
    assert WECHAT_OUT_TRADE_NO.fullmatch(number) and len(number) <= 64
    assert number == order_number(provider, unit_id, tuple(reversed(periods)), attempt)  # the same bills
    assert unit_id not in number or len(unit_id) < 3


def test_order_numbers_differ_by_bills_attempt_and_provider():
    base = order_number(ProviderName.WECHAT_PAY, "C01-B01-0101", ("2026-10",), 1)
    assert base != order_number(ProviderName.WECHAT_PAY, "C01-B01-0101", ("2026-10", "2026-11"), 1)
    assert base != order_number(ProviderName.WECHAT_PAY, "C01-B01-0101", ("2026-10",), 2)
    assert base != order_number(ProviderName.ALIPAY, "C01-B01-0101", ("2026-10",), 1)
    assert base != order_number(ProviderName.WECHAT_PAY, "C01-B01-0102", ("2026-10",), 1)


class FakeProvider:
    name = ProviderName.WECHAT_PAY

    def __init__(self) -> None:
        self.created: list[OrderRequest] = []
        self.notices: dict[bytes, PaymentNotice] = {}

    def create_order(self, order: OrderRequest) -> Checkout:
        self.created.append(order)
        return Checkout(order.out_trade_no, qr_payload=f"weixin://{order.out_trade_no}")

    def verify_notification(self, headers, body: bytes) -> PaymentNotice:
        if body not in self.notices:
            raise NotificationRejected("bad signature")
        return self.notices[body]


class MemoryStore:
    def __init__(self, *units: Unit) -> None:
        self.units = {u.unit_id: u for u in units}
        self.orders: dict[str, PaymentOrder] = {}
        self.references: set[str] = set()
        self.payments: list[Payment] = []
        self.tickets: dict[str, Ticket] = {}
        self.claims: set[str] = set()
        self.tasks: dict[str, Task] = {}

    def tasks_by_id(self, task_ids):
        return [self.tasks[i] for i in task_ids if i in self.tasks]

    def complete_task(self, done, unit_after, unit_version):
        if self.tasks[done.task_id].status != "open":
            return False
        self.tasks[done.task_id] = done
        return True

    def get_order(self, out_trade_no):
        return self.orders.get(out_trade_no)

    def add_order(self, order):
        return self.orders.setdefault(order.out_trade_no, order)

    def get_unit(self, unit_id):
        return self.units.get(unit_id)

    def claim_notification(self, provider, replay_key, expires_at):
        if replay_key in self.claims:
            return False
        self.claims.add(replay_key)
        return True

    def record_payment(self, payment, unit=None):
        if payment.reference in self.references:
            return None
        self.references.add(payment.reference)
        self.payments.append(payment)
        allocation = ledger.allocate(self.units[payment.unit_id], payment)
        self.units[payment.unit_id] = allocation.unit_after
        return allocation

    def settle_order(self, order, status, transaction_id):
        self.orders[order.out_trade_no] = order.model_copy(update={"status": status, "transaction_id": transaction_id})

    def hold_for_finance(self, ticket, order, transaction_id):
        if ticket.ticket_id in self.tickets:
            return False
        self.tickets[ticket.ticket_id] = ticket
        if order is not None:
            self.settle_order(order, OrderStatus.HELD, transaction_id)
        return True


NOW = at("2026-12-02 10:00")


def owing_unit() -> Unit:
    owing = unit("C01-B01-0101")
    for period in ("2026-10", "2026-11"):
        owing = ledger.with_bill(owing, bill(owing.unit_id, period))
    return owing


def test_a_retried_checkout_names_the_same_order_and_a_closed_one_moves_to_the_next_attempt():
    store, provider = MemoryStore(owing_unit()), FakeProvider()
    first, _ = start_checkout(store, provider, owing_unit(), CheckoutKind.WECHAT_NATIVE, "物业费", NOW)
    again, _ = start_checkout(store, provider, owing_unit(), CheckoutKind.WECHAT_NATIVE, "物业费", NOW)
    assert again == first and len(store.orders) == 1 and first.amount_fen == 50000
    assert [r.out_trade_no for r in provider.created] == [first.out_trade_no] * 2  # the provider is idempotent too
    store.orders[first.out_trade_no] = first.model_copy(update={"status": OrderStatus.CLOSED})
    third, _ = start_checkout(store, provider, owing_unit(), CheckoutKind.WECHAT_NATIVE, "物业费", NOW)
    assert third.attempt == 2 and third.out_trade_no != first.out_trade_no


def test_nothing_to_pay_makes_no_order():
    with pytest.raises(NothingToPay):
        start_checkout(MemoryStore(), FakeProvider(), unit("C01-B01-0101"), CheckoutKind.WECHAT_NATIVE, "x", NOW)


def paid_notice(order: PaymentOrder, amount_fen: int | None = None, key: str | None = "sig-1") -> PaymentNotice:
    return PaymentNotice(
        provider=ProviderName.WECHAT_PAY,
        out_trade_no=order.out_trade_no,
        transaction_id="4200000001",
        state=TradeState.PAID,
        amount_fen=order.amount_fen if amount_fen is None else amount_fen,
        paid_at=datetime(2026, 12, 2, 10, 5, tzinfo=SHANGHAI),
        replay_key=key,
    )


@pytest.fixture()
def ordered():
    store, provider = MemoryStore(owing_unit()), FakeProvider()
    order, _ = start_checkout(store, provider, owing_unit(), CheckoutKind.WECHAT_NATIVE, "物业费", NOW)
    return store, provider, order


def test_a_verified_payment_is_applied_once_and_settles_the_order(ordered):
    store, provider, order = ordered
    provider.notices[b"first"] = paid_notice(order)
    provider.notices[b"resent"] = paid_notice(order, key="sig-2")  # WeChat Pay re-sends with a new signature
    assert apply_notification(provider, store, {}, b"first", NOW, SHANGHAI).outcome is Outcome.APPLIED
    assert apply_notification(provider, store, {}, b"resent", NOW, SHANGHAI).outcome is Outcome.DUPLICATE
    [payment] = store.payments
    assert (payment.reference, payment.amount_fen, payment.method) == ("4200000001", 50000, "wechat_pay")
    assert store.units[order.unit_id].balance_fen == 0
    assert store.orders[order.out_trade_no].status is OrderStatus.PAID


def test_a_replayed_or_forged_notification_is_refused_and_writes_nothing(ordered):
    store, provider, order = ordered
    provider.notices[b"first"] = paid_notice(order)
    apply_notification(provider, store, {}, b"first", NOW, SHANGHAI)
    before = (list(store.payments), dict(store.orders))
    with pytest.raises(NotificationRejected, match="replayed"):
        apply_notification(provider, store, {}, b"first", NOW, SHANGHAI)
    with pytest.raises(NotificationRejected, match="signature"):
        apply_notification(provider, store, {}, b"forged", NOW, SHANGHAI)
    assert (store.payments, store.orders) == before


def test_a_wrong_amount_opens_one_finance_ticket_and_applies_nothing(ordered):
    store, provider, order = ordered
    provider.notices[b"short"] = paid_notice(order, amount_fen=100)
    provider.notices[b"short again"] = paid_notice(order, amount_fen=100, key="sig-2")
    handled = apply_notification(provider, store, {}, b"short", NOW, SHANGHAI)
    apply_notification(provider, store, {}, b"short again", NOW, SHANGHAI)
    assert handled.outcome is Outcome.HELD and not store.payments
    [ticket] = store.tickets.values()
    assert ticket.ticket_id == handled.ticket_id and ticket.department == "finance" and ticket.channel == "payment"
    assert ticket.unit_ids == (order.unit_id,) and "4200000001" in ticket.message
    assert store.orders[order.out_trade_no].status is OrderStatus.HELD
    assert store.units[order.unit_id].balance_fen == 50000


def test_a_payment_for_an_unknown_order_is_held_and_a_notice_of_no_payment_changes_nothing(ordered):
    store, provider, order = ordered
    stranger = order.model_copy(update={"out_trade_no": "PF000000000000000000000000-1"})
    provider.notices[b"stranger"] = paid_notice(stranger)
    assert apply_notification(provider, store, {}, b"stranger", NOW, SHANGHAI).outcome is Outcome.HELD
    [ticket] = store.tickets.values()
    assert ticket.community_id == "UNKNOWN" and "does not know" in ticket.message
    provider.notices[b"closed"] = replace(paid_notice(order, key="sig-9"), state=TradeState.CLOSED)
    assert apply_notification(provider, store, {}, b"closed", NOW, SHANGHAI).outcome is Outcome.NOT_PAID
    assert not store.payments and store.orders[order.out_trade_no].status is OrderStatus.OPEN


def call_task(unit_id: str, step: str, episode: int) -> Task:
    return Task(
        task_id=f"{unit_id}.{step}.{episode}", unit_id=unit_id, community_id="C01", kind=Channel.CALL, step=step,
        collector_id="li", created_at=NOW, due_by=NOW, unit_label="1栋 0101", balance_fen=50000,
    )  # fmt: skip


def test_a_payment_that_settles_the_unit_closes_its_open_tasks_as_paid_once():
    owing = owing_unit().model_copy(update={"steps_done": frozenset({"call", "friendly_sms"})})
    store, provider = MemoryStore(owing), FakeProvider()
    store.tasks = {t.task_id: t for t in (call_task(owing.unit_id, "call", 1), call_task(owing.unit_id, "call", 0))}
    order, _ = start_checkout(store, provider, owing, CheckoutKind.WECHAT_NATIVE, "物业费", NOW)
    provider.notices[b"paid"] = paid_notice(order)
    provider.notices[b"again"] = paid_notice(order, key="sig-2")
    apply_notification(provider, store, {}, b"paid", NOW, SHANGHAI)
    apply_notification(provider, store, {}, b"again", NOW, SHANGHAI)
    closed = store.tasks[f"{owing.unit_id}.call.1"]
    assert closed.status == "done" and closed.outcome is TaskOutcome.PAID and "4200000001" in closed.note
    assert store.tasks[f"{owing.unit_id}.call.0"].status == "open"  # another arrears episode's task
    assert not any(h.kind.value == "paid_claim" for h in store.units[owing.unit_id].holds)


def test_a_held_payment_closes_no_task(ordered):
    store, provider, order = ordered
    unit_id = order.unit_id
    store.units[unit_id] = store.units[unit_id].model_copy(update={"steps_done": frozenset({"call"})})
    store.tasks = {f"{unit_id}.call.1": call_task(unit_id, "call", 1)}
    provider.notices[b"short"] = paid_notice(order, amount_fen=100)
    apply_notification(provider, store, {}, b"short", NOW, SHANGHAI)
    assert store.tasks[f"{unit_id}.call.1"].status == "open"

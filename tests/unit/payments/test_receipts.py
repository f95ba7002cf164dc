"""E-receipts of online payments: what the PDF states, its number and key, issued and written exactly once however
the notification is retried, and a promise to pay recorded as kept; in-memory fakes."""

from datetime import date, datetime

import pytest

from propfee.accounts import ledger
from propfee.collection.cjk_pdf import find_font
from propfee.domain.models import Building, Hold, HoldKind
from propfee.payments.effects import PaymentEffects
from propfee.payments.notifications import Outcome, apply_notification
from propfee.payments.orders import OrderStatus, start_checkout
from propfee.payments.ports import CheckoutKind, ProviderName
from propfee.payments.receipts import InMemoryReceipts, receipt_key, receipt_number
from tests.support import COMPANY, SHANGHAI, community, payment
from tests.support.pdf import pdf_text
from tests.unit.payments.test_orders_and_notifications import (
    NOW,
    FakeProvider,
    MemoryStore,
    owing_unit,
    paid_notice,
)

BASE = "https://pay.example.com"


class Identities:
    def identity_for(self, community_id):
        return COMPANY


class ReceiptRecords(InMemoryReceipts):
    def __init__(self, store: MemoryStore) -> None:
        super().__init__()
        self.store = store

    def place_names(self, community_id, building_id):
        return community(community_id), Building(
            community_id=community_id, building_id=building_id, name="1栋", floors=20
        )

    def payment_allocations(self, unit_id, reference):
        return {"2026-10": 25000, "2026-11": 25000}


@pytest.fixture()
def paying():
    store, provider = MemoryStore(owing_unit()), FakeProvider()
    order, _ = start_checkout(store, provider, owing_unit(), CheckoutKind.WECHAT_H5, "物业费", NOW)
    records = ReceiptRecords(store)
    effects = PaymentEffects(records, records, Identities(), find_font(), BASE, SHANGHAI)
    return store, provider, order, records, effects


def test_an_applied_payment_gets_one_receipt_stating_what_was_paid(paying):
    store, provider, order, records, effects = paying
    provider.notices[b"paid"] = paid_notice(order)
    assert apply_notification(provider, store, {}, b"paid", NOW, SHANGHAI, effects).outcome is Outcome.APPLIED
    [receipt] = records.by_transaction.values()
    [(key, pdf)] = records.files.items()
    assert key == f"receipts/2026-12/{receipt.number}.pdf" and "0101" not in key and "王" not in key
    text = pdf_text(pdf)
    for fact in (
        "电子收据", receipt.number, COMPANY.name, "锦绣花园1栋0101室", "王**", "2026年10月", "2026年11月",
        "250.00", "500.00", "微信支付", "4200000001", "2026年12月2日 10:05:00",
    ):  # fmt: skip
        assert fact in text, fact
    assert "王芳" not in text  # masked, as on the bill page
    assert receipt.token not in text  # the token is in the QR only


def test_a_retried_or_crashed_notification_keeps_the_first_receipt_and_writes_the_pdf_once(paying):
    store, provider, order, records, effects = paying
    provider.notices[b"paid"] = paid_notice(order)
    provider.notices[b"resent"] = paid_notice(order, key="sig-2")
    crash = {"left": 1}
    settle = store.settle_order

    def settle_after_a_crash(*args):
        if crash["left"]:
            crash["left"] -= 1
            raise RuntimeError("the function timed out before the order was marked paid")
        settle(*args)

    store.settle_order = settle_after_a_crash
    with pytest.raises(RuntimeError):
        apply_notification(provider, store, {}, b"paid", NOW, SHANGHAI, effects)
    first = next(iter(records.by_transaction.values()))
    handled = apply_notification(provider, store, {}, b"resent", NOW, SHANGHAI, effects)
    assert handled.outcome is Outcome.DUPLICATE and store.orders[order.out_trade_no].status is OrderStatus.PAID
    assert list(records.by_transaction.values()) == [first] and records.writes == 1
    provider.notices[b"late"] = paid_notice(order, key="sig-3")  # a late duplicate after the order is paid
    apply_notification(provider, store, {}, b"late", NOW, SHANGHAI, effects)
    assert records.writes == 1 and len(store.payments) == 1


def test_receipt_numbers_are_derived_from_the_transaction_and_keys_are_s3_safe():
    paid = datetime(2026, 12, 3, 0, 30, tzinfo=SHANGHAI)
    number = receipt_number(ProviderName.ALIPAY, "2026120322001", paid)
    assert number == receipt_number(ProviderName.ALIPAY, "2026120322001", paid)
    assert number != receipt_number(ProviderName.WECHAT_PAY, "2026120322001", paid)
    assert number.startswith("R20261203-") and len(number) == 20
    assert all(ch.isalnum() or ch in "-/._" for ch in receipt_key(number, paid))


def test_a_payment_that_settles_the_unit_by_the_promised_date_keeps_the_promise():
    promised = owing_unit().model_copy(
        update={"holds": (Hold(kind=HoldKind.PROMISE_TO_PAY, until=date(2026, 12, 10), reason="下月交"),)}
    )
    on_time = ledger.allocate(promised, payment(promised.unit_id, 50000, "2026-12-09 18:00"))
    assert [h.until for h in on_time.promises_kept] == [date(2026, 12, 10)]
    assert not on_time.unit_after.holds
    late = ledger.allocate(promised, payment(promised.unit_id, 50000, "2026-12-11 09:00"))
    assert late.promises_kept == () and not late.unit_after.holds  # paid, if late: the hold is over
    part = ledger.allocate(promised, payment(promised.unit_id, 20000, "2026-12-09 18:00"))
    assert part.promises_kept == () and part.unit_after.holds == promised.holds  # still owing: still promised


class Downloads(InMemoryReceipts):
    def presigned_get(self, key, expires_in_seconds, filename=None):
        return f"https://bucket.example/{key}?expires={expires_in_seconds}&name={filename}"


def test_the_bill_page_links_each_receipt_and_its_page_states_the_facts_or_a_plain_404(paying):
    from propfee.payments.bill_http import BillHttp, BillRequest
    from propfee.payments.bill_page import BillPage
    from propfee.payments.links import BillLinks, InMemoryBillLinks, new_token
    from propfee.rules import load_rules
    from propfee.web.limits import InMemoryRateCounter, RateLimiter
    from tests.support.bill_page import MemoryReader

    store, provider, order, records, effects = paying
    provider.notices[b"paid"] = paid_notice(order)
    apply_notification(provider, store, {}, b"paid", NOW, SHANGHAI, effects)
    [receipt] = records.by_transaction.values()
    reader = MemoryReader(store.units)
    reader.payments[order.unit_id] = [
        {"paid_at": receipt.paid_at.isoformat(), "amount_fen": 50000, "method": "wechat_pay",
         "receipt_token": receipt.token},
    ]  # fmt: skip
    links = BillLinks(InMemoryBillLinks(), BASE)
    downloads = Downloads()
    page = BillPage(links, reader, {}, None, load_rules(), store, records, downloads)  # type: ignore[arg-type]
    http = BillHttp(page, RateLimiter(InMemoryRateCounter()), lambda: b"k" * 32, SHANGHAI)
    bill_token = links.issue(order.unit_id, "C01", NOW).token
    shown = str(http.show(BillRequest(bill_token, "203.0.113.7", NOW)).body)
    assert f'href="{BASE}/r/{receipt.token}"' in shown and "¥500.00" in shown

    answer = http.receipt(BillRequest(receipt.token, "203.0.113.7", NOW, accept_language="zh-CN"))
    html = str(answer.body)
    assert answer.status == 200 and answer.headers["Cache-Control"] == "no-store"
    for fact in (receipt.number, "锦绣花园1栋0101室", "王**", "微信支付", "4200000001", "2026年12月2日 10:05:00",
                 "2026年10月", "¥250.00", "¥500.00"):  # fmt: skip
        assert fact in html, fact
    assert "王芳" not in html
    pdf = http.receipt_pdf(BillRequest(receipt.token, "203.0.113.7", NOW))
    assert pdf.status == 303 and receipt.key in pdf.headers["Location"]
    # made on the first download from the receipt kept, the same bytes as when issued; never written again
    assert downloads.files[receipt.key] == records.files[receipt.key] and downloads.writes == 1
    assert http.receipt_pdf(BillRequest(receipt.token, "203.0.113.7", NOW)).status == 303 and downloads.writes == 1
    for unknown in (new_token(), "short", bill_token):
        assert http.receipt(BillRequest(unknown, "203.0.113.7", NOW)).status == 404
        assert http.receipt_pdf(BillRequest(unknown, "203.0.113.7", NOW)).status == 404

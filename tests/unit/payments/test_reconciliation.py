"""The trade bills' parsers on real-format samples (backticks and the summary block, GBK zips with '#' lines and
padded fields, refunds), and the comparison of a bill with the orders and the ledger, with an in-memory store."""

import gzip
import hashlib
import io
import zipfile
from datetime import UTC, date, datetime

import pytest

from propfee.local.emulators import alipay as alipay_emulator
from propfee.local.emulators import wechat_pay as wechat_emulator
from propfee.payments.orders import OrderStatus, PaymentOrder
from propfee.payments.ports import BillEntry, BillEntryKind, BillUnreadable, CheckoutKind, ProviderName, TradeState
from propfee.payments.reconciliation import MAX_LISTED, Discrepancy, compare_bill, finance_ticket
from propfee.providers.alipay import count_trade_bill
from propfee.providers.alipay import parse_trade_bill as parse_alipay
from propfee.providers.wechat_pay import check_bill_hash
from propfee.providers.wechat_pay import parse_trade_bill as parse_wechat

SHANGHAI = wechat_emulator.SHANGHAI
DAY = date(2026, 11, 11)
PAID_AT = datetime(2026, 11, 11, 9, 30, tzinfo=SHANGHAI)
WECHAT_SAMPLE = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,"
    "应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,"
    "手续费,费率,订单金额,申请退款金额,费率备注\n"
    "`2026-11-11 09:30:00,`wx8888888888888888,`1900000109,`0,`,`4200001,`PFA-1,`oUser,`NATIVE,`SUCCESS,`OTHERS,"
    "`CNY,`250.00,`0.00,`0,`0,`0.00,`0.00,`,`,`物业费,`C01-B01-0101,`1.50000,`0.60%,`250.00,`0.00,`\n"
    "`2026-11-11 15:00:00,`wx8888888888888888,`1900000109,`0,`,`4200001,`PFA-1,`oUser,`NATIVE,`REFUND,`OTHERS,"
    "`CNY,`0.00,`0.00,`5000001,`PFA-1R1,`50.00,`0.00,`ORIGINAL,`SUCCESS,`物业费,`C01-B01-0101,`-0.30000,`0.60%,"
    "`250.00,`50.00,`\n"
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n"
    "`2,`250.00,`50.00,`0.00,`1.20000,`250.00,`50.00\n"
)


def test_wechat_rows_to_the_summary_block_payments_and_refunds_in_fen():
    payment, refund = parse_wechat(io.StringIO(WECHAT_SAMPLE))
    assert payment == BillEntry(
        ProviderName.WECHAT_PAY, BillEntryKind.PAYMENT, "PFA-1", "4200001", 25000, PAID_AT, TradeState.PAID
    )
    assert (refund.kind, refund.refund_id, refund.refund_fen, refund.amount_fen) == (
        BillEntryKind.REFUND, "5000001", 5000, 25000,
    )  # fmt: skip


def test_a_wechat_bill_whose_summary_disagrees_or_is_missing_is_refused():
    with pytest.raises(BillUnreadable, match="summary"):
        list(parse_wechat(io.StringIO(WECHAT_SAMPLE.replace("`2,`250.00", "`3,`250.00"))))
    truncated = WECHAT_SAMPLE.split("总交易单数")[0]
    with pytest.raises(BillUnreadable, match="truncated"):
        list(parse_wechat(io.StringIO(truncated)))


def test_the_wechat_hash_is_over_the_bill_before_gzip():
    content = gzip.compress(WECHAT_SAMPLE.encode())
    check_bill_hash(content, "SHA1", hashlib.sha1(WECHAT_SAMPLE.encode()).hexdigest())
    with pytest.raises(BillUnreadable, match="SHA1"):
        check_bill_hash(content, "SHA1", hashlib.sha1(content).hexdigest())
    with pytest.raises(BillUnreadable, match="gzip"):
        check_bill_hash(content[:-20], "SHA1", hashlib.sha1(WECHAT_SAMPLE.encode()).hexdigest())


def _alipay_order(no: str, amount: str) -> alipay_emulator.Order:
    order = alipay_emulator.Order(
        no, amount, "锦绣花园 物业费", "https://x", "", "TRADE_SUCCESS", "2026111122001", PAID_AT
    )
    order.refunded, order.refunded_at = {"R1": "10.00"}, {"R1": datetime(2026, 11, 11, 16, 0, tzinfo=SHANGHAI)}
    return order


def test_alipay_gbk_zip_with_comment_lines_padded_fields_and_a_refund():
    order = _alipay_order("PFB-1", "123.45")
    content = io.BytesIO(alipay_emulator.trade_bill_zip("2021000000000001", DAY, [order], [(order, "R1")]))
    assert count_trade_bill(content) == 2
    content.seek(0)
    payment, refund = parse_alipay(content)
    assert (payment.kind, payment.out_trade_no, payment.transaction_id, payment.amount_fen, payment.at) == (
        BillEntryKind.PAYMENT, "PFB-1", "2026111122001", 12345, PAID_AT,
    )  # fmt: skip
    assert (refund.kind, refund.refund_id, refund.refund_fen) == (BillEntryKind.REFUND, "2026111122001#R1", 1000)


def test_an_alipay_bill_whose_totals_disagree_is_refused():
    order = _alipay_order("PFB-1", "123.45")
    lines = [*alipay_emulator.bill_head("2021000000000001", DAY), alipay_emulator.bill_row(order)]
    lines += alipay_emulator.bill_tail(2, 0)  # says two payments, holds one
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("2021000000000001_20261111_业务明细.csv", "\r\n".join(lines).encode("gbk"))
    with pytest.raises(BillUnreadable, match="totals"):
        count_trade_bill(buffer)


# ---------------------------------------------------------------------------------------------- the comparison
class Store:
    """The orders, the ledger's references and tickets in memory; applying records what was applied."""

    def __init__(self, *orders: PaymentOrder) -> None:
        self.orders = {o.out_trade_no: o for o in orders}
        self.references: set[str] = set()
        self.payments: list = []
        self.tickets: dict[str, object] = {}
        self.kept: list = []

    def orders_by_number(self, numbers):
        return {n: self.orders[n] for n in numbers if n in self.orders}

    def get_order(self, no):
        return self.orders.get(no)

    def get_unit(self, unit_id):
        return None

    def record_payment(self, payment, unit=None):
        if payment.reference in self.references:
            return None
        self.references.add(payment.reference)
        self.payments.append(payment)
        return object()

    def settle_order(self, order, status, transaction_id):
        self.orders[order.out_trade_no] = order.model_copy(update={"status": status, "transaction_id": transaction_id})

    def note_reconciled(self, order, day):
        current = self.orders[order.out_trade_no]
        self.orders[order.out_trade_no] = current.model_copy(update={"reconciled_on": day})

    def has_payment_reference(self, reference):
        return reference in self.references

    def hold_for_finance(self, ticket, order, transaction_id):
        return self.tickets.setdefault(ticket.ticket_id, ticket) is ticket

    def keep_reconciliation(self, record):
        self.kept.append(record)


def order(no: str, amount: int = 25000, **changes) -> PaymentOrder:
    fields = dict(
        out_trade_no=f"PF{no * 24}-1", provider=ProviderName.WECHAT_PAY, checkout=CheckoutKind.WECHAT_NATIVE,
        unit_id="C01-B01-0101", community_id="C01", periods=("2026-11",), amount_fen=amount, attempt=1,
        created_at=datetime(2026, 11, 11, tzinfo=UTC),
    )  # fmt: skip
    return PaymentOrder(**{**fields, **changes})


def paid(o: PaymentOrder, tx: str, amount: int | None = None) -> BillEntry:
    kind = BillEntryKind.PAYMENT
    return BillEntry(ProviderName.WECHAT_PAY, kind, o.out_trade_no, tx, amount or o.amount_fen, PAID_AT)


def compare(store, entries):
    return compare_bill(entries, ProviderName.WECHAT_PAY, store, DAY, datetime(2026, 11, 12, 2, tzinfo=UTC), SHANGHAI)


def test_each_row_is_matched_applied_or_listed_and_a_second_run_changes_nothing():
    notified = order("A", status=OrderStatus.PAID, transaction_id="T-A")
    dropped = order("B")
    twice = order("C", status=OrderStatus.PAID, transaction_id="T-C1")
    short = order("D")
    alipay = order("E", provider=ProviderName.ALIPAY, checkout=CheckoutKind.ALIPAY_WAP)
    store = Store(notified, dropped, twice, short, alipay)
    store.references.add("T-A")
    refund = BillEntry(
        ProviderName.WECHAT_PAY, BillEntryKind.REFUND, notified.out_trade_no, "T-A", 25000, PAID_AT,
        TradeState.REFUNDED, refund_id="RF-1", refund_fen=5000,
    )  # fmt: skip
    ghost = BillEntry(ProviderName.WECHAT_PAY, BillEntryKind.PAYMENT, "MANUAL", "T-X", 100, PAID_AT)
    bill = [paid(notified, "T-A"), paid(dropped, "T-B"), paid(twice, "T-C2"), paid(short, "T-D", 100)]
    bill += [paid(alipay, "T-E"), refund, ghost]

    first = compare(store, bill)
    assert (first.rows, first.matched, first.reconciled, first.unknown, first.mismatched) == (7, 1, 1, 1, 4)
    assert [p.reference for p in store.payments] == ["T-B"]  # the dropped notification's payment, once
    assert store.orders[dropped.out_trade_no].reconciled_on == DAY
    assert {f.discrepancy: f.transaction_id for f in first.findings} == {
        Discrepancy.STATE: "T-C2", Discrepancy.AMOUNT: "T-D", Discrepancy.PROVIDER: "T-E",
        Discrepancy.REFUND: "RF-1", Discrepancy.UNKNOWN: "T-X",
    }  # fmt: skip

    second = compare(store, bill)
    assert second == first and [p.reference for p in store.payments] == ["T-B"]

    store.references.add("RF-1")  # finance records the refund on the ledger: the refund now matches
    assert compare(store, bill).mismatched == 3


def test_the_ticket_lists_what_fits_and_counts_the_rest():
    store = Store()
    ghosts = [
        BillEntry(ProviderName.WECHAT_PAY, BillEntryKind.PAYMENT, f"M{n}", f"T{n}", 100, PAID_AT) for n in range(500)
    ]
    result = compare(store, ghosts)
    assert result.unknown == 500 and len(result.findings) == MAX_LISTED
    ticket = finance_ticket(result, datetime(2026, 11, 12, tzinfo=UTC), "reconciliation/2026-11-11/wechat_pay.json")
    assert len(ticket.message) <= 2000 and "more: reconciliation/2026-11-11/wechat_pay.json" in ticket.message
    assert ticket.ticket_id.startswith("T20261111-") and ticket.department == "finance"

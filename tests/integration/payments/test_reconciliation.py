"""The nightly reconciliation against moto and both emulators, SDKs unpatched: the reconcile_payments handler
downloads each provider's trade bill of the day, applies once a payment whose notification was never delivered,
opens one finance ticket per provider for an unknown transaction or an unrecorded refund, keeps the findings for
the daily report and the evidence file, and a second run changes nothing."""

import json

import boto3
import pytest

from propfee.local.emulators.wechat_pay import Order as WeChatOrder
from propfee.local.sandbox.runtime import LambdaContext, load_module
from propfee.payments.orders import OrderStatus
from propfee.payments.ports import CheckoutKind, ProviderName
from propfee.reports.publishing import report_files
from propfee.reports.summary import CompanyDay
from tests.integration.payments.test_payment_notifications import OTHER, ROOT, SHANGHAI, UNIT, checkout
from tests.integration.payments.test_payment_notifications import stack as stack

BUCKET = "propfee-reports"


@pytest.fixture()
def reconcile(stack, monkeypatch):
    boto3.client("s3").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": boto3.session.Session().region_name}
    )
    monkeypatch.setenv("PROPFEE_REPORT_BUCKET", BUCKET)
    monkeypatch.setenv("PROPFEE_ONLINE_PAYMENT_PROVIDERS", "wechat_pay,alipay")
    handler = load_module(ROOT / "functions" / "reconcile_payments" / "app.py", "reconcile_payments_app")
    context = LambdaContext("reconcile_payments", 1024, "arn:aws:lambda:ap-northeast-1:123456789012:function:r", 600)
    day = stack.clock.now().astimezone(SHANGHAI).date()
    return lambda: handler.lambda_handler({"date": day.isoformat()}, context)


def state(stack):
    """What a re-run must not move: the ledger, the orders, the finance tickets."""
    orders = {n: stack.table.get_order(n) for n in (*stack.wechat.orders, *stack.alipay.orders)}
    return stack.paid_fen(), stack.table.get_unit(UNIT).balance_fen, orders, stack.table.tickets("finance")


def test_a_dropped_notification_is_applied_once_and_an_unknown_transaction_opens_one_ticket(stack, reconcile):
    # WeChat Pay: the owner paid, the notification never arrived (not delivered at all)
    order, _ = checkout(stack, ProviderName.WECHAT_PAY, CheckoutKind.WECHAT_NATIVE)
    stack.wechat.pay(order.out_trade_no)
    # and money for an order propfee never made (made in the merchant platform by hand)
    stack.wechat.orders["MANUAL0001"] = WeChatOrder("MANUAL0001", "native", 777, "手工收款", "https://x", "")
    stack.wechat.pay("MANUAL0001")
    # Alipay: paid and notified as usual, then refunded in Alipay's console: the ledger does not know the refund
    paid, _ = checkout(stack, ProviderName.ALIPAY, CheckoutKind.ALIPAY_QR, unit_id=OTHER)
    stack.alipay.pay(paid.out_trade_no)
    assert stack.alipay.deliver_due() == 1 and stack.paid_fen() == 50000
    alipay = stack.provider(ProviderName.ALIPAY)
    alipay.refund(alipay.query(paid.out_trade_no), "R1", 1000, "多收")

    first = reconcile()

    assert first["providers"] == {
        "alipay": {"rows": 2, "reconciled": 0, "exceptions": 1},
        "wechat_pay": {"rows": 2, "reconciled": 1, "exceptions": 1},
    }
    assert stack.paid_fen() == 100000 and stack.table.get_unit(UNIT).balance_fen == 0
    settled = stack.table.get_order(order.out_trade_no)
    assert settled.status is OrderStatus.PAID and settled.reconciled_on is not None  # noted: not notified
    tickets = {t.contact: t for t in stack.table.tickets("finance")}
    assert sorted(tickets) == ["alipay", "wechat_pay"] and sorted(first["tickets"]) == sorted(
        t.ticket_id for t in tickets.values()
    )
    assert "unknown" in tickets["wechat_pay"].message and "MANUAL0001" in tickets["wechat_pay"].message
    assert "refund" in tickets["alipay"].message
    kept = {r["provider"]: r for r in stack.table.reconciliations(settled.reconciled_on)}
    assert [f["discrepancy"] for f in kept["wechat_pay"]["findings"]] == ["unknown"]
    assert [f["discrepancy"] for f in kept["alipay"]["findings"]] == ["refund"]
    evidence = boto3.client("s3").get_object(
        Bucket=BUCKET, Key=f"reconciliation/{settled.reconciled_on}/wechat_pay.json"
    )
    assert json.loads(evidence["Body"].read())["reconciled"] == 1

    # the report's reconciliation section and its tables
    files = report_files(settled.reconciled_on, stack.clock.now(), [], CompanyDay(reconciliations=tuple(kept.values())))
    summary = json.loads(files["summary.json"])
    assert [r["reconciled"] for r in summary["totals"]["reconciliation"]] == [0, 1]
    assert b"MANUAL0001" in files["reconciliation_findings.csv"]

    before = state(stack)
    second = reconcile()
    assert second == first and state(stack) == before

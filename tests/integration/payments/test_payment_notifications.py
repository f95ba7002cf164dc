"""From an order to the ledger, for both providers, against moto and the emulators with the SDKs unpatched: the
notification reaches the payment_notify handler in-process as an API Gateway HTTP API (payload 2.0) event, built
from AWS's sample; the payment is applied once whatever the provider re-sends, refused when forged or replayed,
held for finance when the amount is wrong, and recognised when the billing system's export brings it again."""

import base64
import copy
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from urllib.request import urlopen

import boto3
import pytest
from moto import mock_aws

from propfee.accounts.imports.apply import apply_file
from propfee.aws.clients import reset_clients
from propfee.aws.dynamo_payments import PaymentsTable
from propfee.aws.dynamo_tasks import task_to_item
from propfee.aws.secrets import forget_secrets
from propfee.domain import clock
from propfee.domain.clock import SimulatedClock, SystemClock
from propfee.domain.config import Settings
from propfee.domain.models import Building, Channel, Collector, Task, TaskOutcome
from propfee.local.emulators.alipay import AlipayEmulator
from propfee.local.emulators.payments import start_payment_emulators
from propfee.local.emulators.wechat_pay import WeChatPayEmulator
from propfee.local.sandbox.runtime import LambdaContext, load_module
from propfee.payments.notifications import Outcome, apply_verified
from propfee.payments.orders import OrderStatus, start_checkout
from propfee.payments.ports import CheckoutKind, ProviderName
from propfee.wiring import build_payment_provider
from tests.support import ROOT, SHANGHAI, bill, community, create_table_from_template, unit

SAMPLE = json.loads((ROOT / "events" / "aws" / "apiGatewayProxyV2Event.json").read_text())
UNIT = "C01-B01-0101"
OTHER = "C01-B01-0102"


def http_api_event(path: str, headers: dict[str, str], body: bytes, base64_encoded: bool = False) -> dict:
    """AWS's HTTP API sample with the notification's path, lowercased headers and body."""
    event = copy.deepcopy(SAMPLE)
    event.update(rawPath=path, rawQueryString="", routeKey="$default", cookies=[], queryStringParameters=None)
    event["requestContext"]["http"].update(method="POST", path=path)
    event["headers"] = {k.lower(): v for k, v in headers.items()}
    event["body"] = base64.b64encode(body).decode() if base64_encoded else body.decode()
    event["isBase64Encoded"] = base64_encoded
    return event


def open_call(unit_id: str) -> Task:
    """The collector's call task the ladder made for the unit in its current arrears episode (the first)."""
    made = datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI)
    return Task(
        task_id=f"{unit_id}.call.1", unit_id=unit_id, community_id="C01", kind=Channel.CALL, step="call",
        collector_id="li", created_at=made, due_by=made + timedelta(days=3), unit_label="1栋 0101", balance_fen=50000,
    )  # fmt: skip


class Stack:
    """moto with the table and the merchants' secrets, the emulators, and the handler loaded as Lambda would."""

    def __init__(self, monkeypatch) -> None:
        self.clock = SimulatedClock(datetime.now(UTC).replace(microsecond=0))  # the SDKs sign with real time
        clock.install(self.clock)
        dynamodb = boto3.client("dynamodb")
        name = create_table_from_template(dynamodb)
        self.table = PaymentsTable(name, SHANGHAI, dynamodb)
        self.table.put_community(community())
        self.table.put_buildings_and_units(
            [Building(community_id="C01", building_id="C01-B01", name="1栋", floors=18)],
            [unit(UNIT, steps_done=frozenset({"call"})), unit(OTHER, steps_done=frozenset({"call"}))],
        )
        self.table.put_collectors([Collector(collector_id="li", name="李师傅", communities=("C01",), open_tasks=2)])
        self.table.batch_put([task_to_item(open_call(u), SHANGHAI) for u in (UNIT, OTHER)])
        for unit_id in (UNIT, OTHER):
            self.table.issue_bill(bill(unit_id, "2026-10"))
            self.table.issue_bill(bill(unit_id, "2026-11"))
        self.base64_bodies = False
        self.emulators = start_payment_emulators(self.clock.now, "https://pay.example.com", transport=self.deliver)
        self.wechat, self.alipay = self.emulators.wechat_pay, self.emulators.alipay
        monkeypatch.setenv("PROPFEE_TABLE", name)
        for key, value in self.emulators.environment.items():
            monkeypatch.setenv(key, value)
        self.settings = Settings()  # type: ignore[call-arg]
        self.handler = load_module(ROOT / "functions" / "payment_notify" / "app.py", "payment_notify_app")
        self.context = LambdaContext("payment_notify", 256, "arn:aws:lambda:ap-northeast-1:123456789012:function:x", 10)
        self.answers: list[tuple[int, bytes]] = []

    def deliver(self, url: str, headers, body: bytes) -> tuple[int, bytes]:
        path = "/" + url.split("/", 3)[3]
        event = http_api_event(path, dict(headers), body, self.base64_bodies)
        response = self.handler.lambda_handler(event, self.context)
        answer = (int(response["statusCode"]), str(response.get("body") or "").encode())
        self.answers.append(answer)
        return answer

    def provider(self, name: ProviderName):
        return build_payment_provider(self.settings, name)

    def close(self) -> None:
        self.emulators.stop()

    def paid_fen(self) -> int:
        return sum(total.paid_fen for total in self.table.period_totals("C01"))


@pytest.fixture()
def stack(monkeypatch):
    with mock_aws():
        reset_clients()
        forget_secrets()
        running = Stack(monkeypatch)
        try:
            yield running
        finally:
            running.close()
            clock.install(SystemClock())
            reset_clients()
            forget_secrets()


def checkout(stack: Stack, name: ProviderName, kind: CheckoutKind, unit_id: str = UNIT, **extra):
    provider = stack.provider(name)
    return start_checkout(
        stack.table, provider, stack.table.get_unit(unit_id), kind, "锦绣花园 物业费", stack.clock.now(), **extra
    )


def import_payments(stack: Stack, reference: str, amount: str) -> dict:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(
        [
            ["楼栋", "房号", "实收金额", "缴费日期", "流水号", "支付方式"],
            ["1栋", "0101", amount, "2026-12-01", reference, "微信"],
        ]
    )
    summary = apply_file(
        io.BytesIO(buffer.getvalue().encode("utf-8-sig")), "export.csv", "payments", SHANGHAI, stack.table,
        stack.clock.now(),
    )  # fmt: skip
    return summary.as_dict()


def test_wechat_pay_applied_once_through_retries_duplicates_replays_and_a_later_import(stack):
    order, first = checkout(stack, ProviderName.WECHAT_PAY, CheckoutKind.WECHAT_NATIVE)
    again, second = checkout(stack, ProviderName.WECHAT_PAY, CheckoutKind.WECHAT_NATIVE)
    assert again.out_trade_no == order.out_trade_no and second == first and len(stack.wechat.orders) == 1
    assert order.amount_fen == 50000 and order.periods == ("2026-10", "2026-11")

    # the first delivery fails on the way (a gateway error): WeChat Pay re-sends 15 s later, not before
    delivery = stack.wechat.pay(order.out_trade_no)
    handler_transport = stack.wechat.notifications.transport
    stack.wechat.notifications.transport = lambda url, headers, body: (502, b"")
    assert stack.wechat.deliver_due() == 1 and stack.paid_fen() == 0
    stack.wechat.notifications.transport = handler_transport
    stack.clock.set(stack.clock.now() + timedelta(seconds=14))
    assert stack.wechat.deliver_due() == 0
    stack.clock.set(stack.clock.now() + timedelta(seconds=1))
    assert stack.wechat.deliver_due() == 1
    assert delivery.done and stack.answers[-1][0] == 204
    assert stack.table.get_unit(UNIT).balance_fen == 0 and stack.paid_fen() == 50000
    transaction_id = stack.wechat.orders[order.out_trade_no].transaction_id
    assert stack.table.get_order(order.out_trade_no).status is OrderStatus.PAID
    task = stack.table.get_task(f"{UNIT}.call.1")
    assert task.status == "done" and task.outcome is TaskOutcome.PAID and transaction_id in task.note
    assert [c.open_tasks for c in stack.table.collectors()] == [1]

    # duplicates, one delivered late and out of order, and base64-encoded bodies: answered success, nothing moves
    stack.base64_bodies = True
    stack.wechat.notify(order.out_trade_no, delay=timedelta(minutes=5))
    stack.wechat.notify(order.out_trade_no)
    assert stack.wechat.deliver_due() == 1
    stack.clock.set(stack.clock.now() + timedelta(minutes=5))
    assert stack.wechat.deliver_due() == 1
    assert [status for status, _ in stack.answers[-2:]] == [204, 204] and stack.paid_fen() == 50000

    # the exact signed request sent again (a replay): refused, nothing written
    headers, body = delivery.sent[-1]
    assert stack.deliver("https://pay.example.com/notify/wechat_pay", headers, body)[0] == 400
    assert stack.paid_fen() == 50000

    # the billing system's export of the same payment: recognised, not counted twice
    summary = import_payments(stack, transaction_id, "500.00")
    assert (summary["rows_applied"], summary["rows_already_applied"]) == (0, 1)
    assert stack.paid_fen() == 50000


def test_wechat_pay_forged_altered_and_oversized_notifications_are_refused_and_write_nothing(stack):
    order, _ = checkout(stack, ProviderName.WECHAT_PAY, CheckoutKind.WECHAT_H5, client_ip="203.0.113.9")
    stack.wechat.pay(order.out_trade_no)
    genuine_headers, genuine_body = stack.wechat.notifications.deliveries[0].make()
    forger = WeChatPayEmulator(stack.clock.now)
    forger.public_key_id, forger.apiv3_key = stack.wechat.public_key_id, stack.wechat.apiv3_key
    forged = forger.signed_notification("EV-x", stack.wechat._resource(stack.wechat.orders[order.out_trade_no]))
    altered = genuine_body.replace(b"TRANSACTION.SUCCESS", b"TRANSACTION.SUCCES5")
    url = "https://pay.example.com/notify/wechat_pay"
    for headers, body in (forged, (genuine_headers, altered), (genuine_headers, genuine_body + b" " * 70_000)):
        status, answer = stack.deliver(url, headers, body)
        assert status == 400 and json.loads(answer)["code"] == "FAIL"
    assert stack.paid_fen() == 0 and stack.table.get_order(order.out_trade_no).status is OrderStatus.OPEN


def test_a_wrong_amount_is_held_for_finance_and_never_applied(stack):
    order, _ = checkout(stack, ProviderName.WECHAT_PAY, CheckoutKind.WECHAT_NATIVE, unit_id=OTHER)
    stack.wechat.pay(order.out_trade_no, amount_fen=100)
    stack.wechat.notify(order.out_trade_no)  # and its duplicate
    assert stack.wechat.deliver_due() == 2
    assert [status for status, _ in stack.answers] == [204, 204]  # taken: finance decides, no re-sends
    assert stack.paid_fen() == 0 and stack.table.get_unit(OTHER).balance_fen == 50000
    [ticket] = stack.table.tickets("finance")
    assert ticket.unit_ids == (OTHER,) and "100 fen for an order of 50000 fen" in ticket.message
    assert stack.table.get_task(f"{OTHER}.call.1").status == "open"  # nothing paid: the call still stands
    held = stack.table.get_order(order.out_trade_no)
    assert held.status is OrderStatus.HELD and held.ticket_id == ticket.ticket_id


def test_alipay_wap_paid_once_whatever_alipay_resends_and_a_later_import_is_recognised(stack):
    order, checkout_page = checkout(
        stack, ProviderName.ALIPAY, CheckoutKind.ALIPAY_WAP, return_url="https://pay.example.com/bill"
    )
    assert "¥500.00" in urlopen(checkout_page.redirect_url).read().decode()  # the owner's browser opens it
    delivery = stack.alipay.pay(order.out_trade_no)
    handler_transport = stack.alipay.notifications.transport
    stack.alipay.notifications.transport = lambda url, headers, body: (200, b"fail")
    stack.alipay.deliver_due()
    stack.alipay.notifications.transport = handler_transport
    stack.clock.set(stack.clock.now() + timedelta(minutes=4))  # Alipay's first re-send
    assert stack.alipay.deliver_due() == 1 and delivery.done
    assert stack.answers[-1] == (200, b"success") and stack.paid_fen() == 50000
    stack.alipay.notify(order.out_trade_no)
    stack.base64_bodies = True
    stack.deliver("https://pay.example.com/notify/alipay", *delivery.sent[0])  # the same notify_id again
    stack.alipay.deliver_due()
    assert stack.answers[-2:] == [(200, b"success"), (200, b"success")] and stack.paid_fen() == 50000
    trade_no = stack.alipay.orders[order.out_trade_no].trade_no
    summary = import_payments(stack, trade_no, "500.00")
    assert (summary["rows_applied"], summary["rows_already_applied"]) == (0, 1)


def test_alipay_forged_or_tampered_notifications_get_failure_and_write_nothing(stack):
    order, _ = checkout(stack, ProviderName.ALIPAY, CheckoutKind.ALIPAY_QR)
    delivery = stack.alipay.pay(order.out_trade_no)
    headers, body = delivery.make()
    tampered = body.replace(b"total_amount=500.00", b"total_amount=5.00")
    forger = AlipayEmulator(stack.clock.now, app_id=stack.alipay.app_id)
    forged = (
        body.split(b"&sign=")[0]
        + b"&sign="
        + base64.b64encode(forger.alipay_key.sign(b"x", *_pkcs1()))
        + b"&sign_type=RSA2"
    )
    stack.base64_bodies = True  # API Gateway base64-encodes a body that is not text
    for sent in (tampered, forged, b"not a form \xff"):
        assert stack.deliver("https://pay.example.com/notify/alipay", headers, sent) == (200, b"failure")
    assert stack.paid_fen() == 0 and stack.table.tickets("finance") == []


def _pkcs1():
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return padding.PKCS1v15(), hashes.SHA256()


def test_a_payment_whose_notification_never_came_is_applied_from_the_query_and_the_late_one_changes_nothing(stack):
    order, _ = checkout(stack, ProviderName.WECHAT_PAY, CheckoutKind.WECHAT_JSAPI, openid="oOwner")
    stack.wechat.pay(order.out_trade_no)  # its notification is still queued: not delivered
    provider = stack.provider(ProviderName.WECHAT_PAY)
    handled = apply_verified(provider.query(order.out_trade_no), stack.table, stack.clock.now(), SHANGHAI)
    assert handled.outcome is Outcome.APPLIED and stack.paid_fen() == 50000
    assert stack.wechat.deliver_due() == 1 and stack.answers[-1][0] == 204  # late: answered, nothing moves
    assert stack.paid_fen() == 50000


def test_a_verified_payment_is_one_read_of_order_and_unit_and_one_transaction(stack):
    """The handler's table calls for an applied payment: the order with its unit (named by the attach WeChat Pay
    echoes), the unit's call task (its ladder step makes tasks), then everything in one transaction; a duplicate
    afterwards reads and writes no more than the claim of its signed message."""
    from propfee.aws import clients

    calls: list[str] = []

    def observe(made) -> None:
        service = made.meta.service_model.service_name
        made.meta.events.register("before-call.*.*", lambda model, **_: calls.append(f"{service}:{model.name}"))

    order, _ = checkout(stack, ProviderName.WECHAT_PAY, CheckoutKind.WECHAT_NATIVE)
    stack.wechat.pay(order.out_trade_no)
    clients.client_observers.append(observe)
    reset_clients()
    try:
        assert stack.wechat.deliver_due() == 1 and stack.answers[-1][0] == 204
        table_calls = [c for c in calls if c.startswith("dynamodb:")]
        assert table_calls == ["dynamodb:BatchGetItem", "dynamodb:BatchGetItem", "dynamodb:TransactWriteItems"]
        assert stack.table.get_task(f"{UNIT}.call.1").outcome is TaskOutcome.PAID
        assert stack.table.get_order(order.out_trade_no).status is OrderStatus.PAID
        calls.clear()
        stack.wechat.notify(order.out_trade_no)  # a duplicate, signed afresh: the order is paid, nothing to apply
        assert stack.wechat.deliver_due() == 1 and stack.answers[-1][0] == 204
        assert [c for c in calls if c.startswith("dynamodb:")] == [
            "dynamodb:BatchGetItem",  # the order (paid) and the unit
            "dynamodb:PutItem",  # the signed message's claim
            "dynamodb:TransactWriteItems",  # refused: the payment exists (what it left pending would follow)
        ]
        assert stack.table.get_unit(UNIT).balance_fen == 0 and stack.paid_fen() == 50000
    finally:
        clients.client_observers.remove(observe)

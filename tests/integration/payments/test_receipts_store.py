"""E-receipts against moto: a WeChat Pay notification through the payment_notify handler keeps one receipt (by
transaction and by token), links it from the payment's ledger item, and writes its PDF to S3 once (SSE, a key
without personal data), whatever the provider re-sends."""

from urllib.request import urlopen

import boto3
import pytest
from moto import mock_aws

from propfee.aws.clients import reset_clients
from propfee.aws.secrets import forget_secrets
from propfee.aws.storage import S3Store
from propfee.domain import clock
from propfee.domain.clock import SystemClock
from propfee.payments.ports import CheckoutKind, ProviderName
from propfee.payments.receipts import pdf_on_first_download, verify_url
from tests.integration.payments.test_payment_notifications import UNIT, Stack, checkout
from tests.support.pdf import pdf_text

BUCKET = "propfee-reports-test"
SENDER = "billing@jxwy.example.com"


@pytest.fixture()
def stack(monkeypatch):
    with mock_aws():
        reset_clients()
        forget_secrets()
        boto3.client("s3").create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
        )
        monkeypatch.setenv("PROPFEE_REPORT_BUCKET", BUCKET)
        monkeypatch.setenv("PROPFEE_PUBLIC_BASE_URL", "https://pay.example.com")
        monkeypatch.setenv("PROPFEE_SENDER_EMAIL", SENDER)
        boto3.client("ses").verify_email_identity(EmailAddress=SENDER)
        running = Stack(monkeypatch)
        try:
            yield running
        finally:
            running.close()
            clock.install(SystemClock())
            reset_clients()
            forget_secrets()


def test_one_receipt_per_transaction_in_s3_linked_from_the_ledger(stack):
    s3 = boto3.client("s3")
    order, _ = checkout(stack, ProviderName.WECHAT_PAY, CheckoutKind.WECHAT_NATIVE)
    stack.wechat.pay(order.out_trade_no)
    assert stack.wechat.deliver_due() == 1 and stack.answers[-1][0] == 204
    transaction_id = stack.wechat.orders[order.out_trade_no].transaction_id
    [payment] = stack.table.unit_payments(UNIT, 10)
    receipt = stack.table.receipt_by_token(payment["receipt_token"])
    assert receipt is not None and receipt.transaction_id == transaction_id and receipt.total_fen == 50000
    # the PDF is made from the receipt kept with the payment when the owner first downloads it (the bill page)
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="receipts/")
    files = S3Store(BUCKET)
    url = verify_url("https://pay.example.com", receipt.token)
    assert pdf_on_first_download(files, receipt, None, url) and not pdf_on_first_download(files, receipt, None, url)
    [listed] = s3.list_objects_v2(Bucket=BUCKET, Prefix="receipts/")["Contents"]
    assert listed["Key"] == receipt.key and UNIT not in listed["Key"]
    head = s3.head_object(Bucket=BUCKET, Key=receipt.key)
    assert head["ServerSideEncryption"] == "AES256" and head["ContentType"] == "application/pdf"
    assert receipt.number in pdf_text(s3.get_object(Bucket=BUCKET, Key=receipt.key)["Body"].read())

    written = s3.get_object(Bucket=BUCKET, Key=receipt.key)["ETag"]
    stack.wechat.notify(order.out_trade_no)  # a duplicate, signed afresh: answered, nothing rewritten
    assert stack.wechat.deliver_due() == 1 and stack.answers[-1][0] == 204
    assert s3.get_object(Bucket=BUCKET, Key=receipt.key)["ETag"] == written
    versions = s3.list_object_versions(Bucket=BUCKET, Prefix="receipts/").get("Versions", [])
    assert len(versions) <= 1 and len(s3.list_objects_v2(Bucket=BUCKET, Prefix="receipts/")["Contents"]) == 1


def test_a_receipt_kept_before_comes_back_with_its_number_and_token(stack):
    order, _ = checkout(stack, ProviderName.WECHAT_PAY, CheckoutKind.WECHAT_NATIVE)
    stack.wechat.pay(order.out_trade_no)
    stack.wechat.deliver_due()
    [payment] = stack.table.unit_payments(UNIT, 10)
    first = stack.table.receipt_by_token(payment["receipt_token"])
    redrafted = first.model_copy(update={"token": "A" * 22})
    assert stack.table.claim_receipt(redrafted) == first
    assert stack.table.receipt_by_token("A" * 22) is None


def test_the_owner_is_told_of_the_receipt_once_and_the_message_is_kept(stack):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    from propfee.aws import keys
    from propfee.aws.dynamo_table import from_attributes, to_attributes

    order, _ = checkout(stack, ProviderName.WECHAT_PAY, CheckoutKind.WECHAT_NATIVE)
    stack.wechat.pay(order.out_trade_no)
    stack.wechat.notify(order.out_trade_no)  # and a duplicate
    assert stack.wechat.deliver_due() == 2
    [payment] = stack.table.unit_payments(UNIT, 10)
    receipt = stack.table.receipt_by_token(payment["receipt_token"])
    key = to_attributes(keys.receipt_message_item(receipt.number))
    kept = from_attributes(stack.table.db.get_item(TableName=stack.table.name, Key=key)["Item"])
    sent = [m for m in ses_backends[DEFAULT_ACCOUNT_ID]["ap-northeast-1"].sent_messages if SENDER in str(m.source)]
    # the SDKs sign with the real clock: at night in Shanghai the message waits for the window
    if kept["outcome"] == "scheduled":
        assert sent == [] and kept["due_at"].endswith("T08:00:00+08:00")
    else:
        assert kept["outcome"] == "sent" and kept["channel"] == "email" and kept["message_id"]
        [mail] = sent
        assert f"/r/{receipt.token}" in str(mail.body) and mail.destinations["ToAddresses"] == ["wang@example.net"]


def test_a_message_planned_outside_the_window_waits_in_the_due_index_until_the_hourly_run_sends_it(stack):
    """Planned with the payment at night (kept in its transaction), it is not due before the window opens; the
    hourly run then sends it once and records it; one the provider refused stays due for the next run."""
    from datetime import datetime, timedelta

    from propfee.aws import keys
    from propfee.aws.dynamo_paid import message_item
    from propfee.aws.dynamo_table import from_attributes, to_attributes
    from propfee.domain.ports import ProviderRejected, ProviderUnavailable
    from propfee.payments.receipt_messages import MessagePlan, ReceiptMessages
    from propfee.rules import load_rules
    from tests.support import SHANGHAI

    class Outbox:
        def __init__(self, fail: bool = False) -> None:
            self.sent: list[tuple[str, str]] = []
            self.fail = fail

        def send_email(self, to, subject, body, context=None):
            if self.fail:
                raise ProviderUnavailable("SES throttled")
            self.sent.append((to, subject))
            return f"mail-{len(self.sent)}"

    night = datetime(2026, 12, 2, 22, 31, tzinfo=SHANGHAI)
    opening = datetime(2026, 12, 3, 8, 0, tzinfo=SHANGHAI)
    table = stack.table
    for number in ("R20261202-AAAAAAAAAA", "R20261202-BBBBBBBBBB"):
        planned = MessagePlan(number, UNIT, "due", "email", "wang@example.net", f"电子收据 {number}", "…", opening)
        table.db.put_item(TableName=table.name, Item=to_attributes(message_item(planned, night)))
    assert table.receipt_messages_due(opening - timedelta(minutes=1)) == []
    [first, _] = table.receipt_messages_due(opening + timedelta(minutes=5))
    assert first.due_at == opening and first.to == "wang@example.net" and first.channel == "email"

    failing = ReceiptMessages(table, load_rules(), SHANGHAI, email=Outbox(fail=True))
    assert failing.send_due(table, opening + timedelta(minutes=5)) == {"failed": 2}
    outbox = Outbox()
    assert ReceiptMessages(table, load_rules(), SHANGHAI, email=outbox).send_due(table, opening) == {"sent": 2}
    assert [subject for _, subject in outbox.sent] == ["电子收据 R20261202-AAAAAAAAAA", "电子收据 R20261202-BBBBBBBBBB"]
    assert table.receipt_messages_due(opening + timedelta(hours=1)) == []
    key = to_attributes(keys.receipt_message_item("R20261202-AAAAAAAAAA"))
    kept = from_attributes(table.db.get_item(TableName=table.name, Key=key)["Item"])
    assert kept["outcome"] == "sent" and kept["message_id"] == "mail-1" and "inbox_pk" not in kept

    class Refusing(Outbox):
        def send_email(self, to, subject, body, context=None):
            raise ProviderRejected("MessageRejected")

    refused = MessagePlan("R20261202-CCCCCCCCCC", UNIT, "due", "email", "x@example.net", "s", "…", opening)
    table.db.put_item(TableName=table.name, Item=to_attributes(message_item(refused, night)))
    sender = ReceiptMessages(table, load_rules(), SHANGHAI, email=Refusing())
    assert sender.send_due(table, opening) == {"failed": 1} and table.receipt_messages_due(opening) == []


def test_with_receipts_a_payment_reads_its_order_unit_and_tasks_at_once_and_writes_once(stack):
    """The provider echoes the unit and its arrears episode (the order's merchant data): the order, the unit and
    the episode's possible tasks are one read; the payment with the task closed, the receipt and its message one
    transaction; the places' names are read once per container; the message, in the window, one send and one
    record. No PDF is written until the owner downloads it."""
    from datetime import timedelta

    from propfee.aws import clients
    from propfee.aws.dynamo_tasks import task_to_item
    from propfee.domain.models import Building, Channel, Task, TaskOutcome
    from tests.support import SHANGHAI, bill, unit

    called = "C01-B01-0103"
    stack.table.put_buildings_and_units(
        [Building(community_id="C01", building_id="C01-B01", name="1栋", floors=18)],
        [unit(called, steps_done=frozenset({"sms_d1", "call_d15"}))],
    )
    made = stack.clock.now() - timedelta(days=2)
    task = Task(
        task_id=f"{called}.call_d15.1", unit_id=called, community_id="C01", kind=Channel.CALL, step="call_d15",
        collector_id="li", created_at=made, due_by=made + timedelta(days=3), unit_label="1栋 0103", balance_fen=50000,
    )  # fmt: skip
    stack.table.batch_put([task_to_item(task, SHANGHAI)])
    for period in ("2026-10", "2026-11"):
        stack.table.issue_bill(bill(called, period))
    calls: list[str] = []

    def observe(made) -> None:
        service = made.meta.service_model.service_name
        made.meta.events.register("before-call.*.*", lambda model, **_: calls.append(f"{service}:{model.name}"))

    order, page = checkout(
        stack, ProviderName.ALIPAY, CheckoutKind.ALIPAY_WAP, unit_id=called, return_url="https://pay.example.com/b"
    )
    urlopen(page.redirect_url).read()  # the owner's browser opens the signed order
    stack.alipay.pay(order.out_trade_no)
    clients.client_observers.append(observe)
    reset_clients()
    try:
        assert stack.alipay.deliver_due() == 1 and stack.answers[-1] == (200, b"success")
    finally:
        clients.client_observers.remove(observe)
    made_calls = [c for c in calls if not c.startswith("secretsmanager:")]
    expected = ["dynamodb:BatchGetItem", "dynamodb:BatchGetItem", "dynamodb:TransactWriteItems"]
    assert made_calls[:3] == expected  # the order with its unit and task; the places' names (once); all at once
    # the window: now (marked "sending", sent, recorded), or the hourly run
    assert made_calls[3:] in ([], ["dynamodb:UpdateItem", "sesv2:SendEmail", "dynamodb:UpdateItem"])
    done = stack.table.get_task(task.task_id)
    assert done.status == "done" and done.outcome is TaskOutcome.PAID
    assert stack.table.get_unit(called).balance_fen == 0
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="receipts/")


def test_a_receipt_the_provider_cannot_take_is_tried_three_times_over_the_hourly_runs_then_given_up(stack):
    """Each hourly run (the simulated clock) tries it again, the third attempt gives up and keeps the reason; and a
    run that died between SendEmail and its record is not sent again: the next run records it unconfirmed."""
    from datetime import timedelta

    from propfee.aws import keys
    from propfee.aws.dynamo_paid import message_item
    from propfee.aws.dynamo_table import from_attributes, to_attributes
    from propfee.domain.ports import ProviderUnavailable
    from propfee.payments.receipt_messages import MAX_ATTEMPTS, UNCONFIRMED, MessagePlan, ReceiptMessages
    from propfee.rules import load_rules
    from tests.support import SHANGHAI

    class Outbox:
        def __init__(self, fail: type[Exception] | None = None, after_send: bool = False) -> None:
            self.sent: list[str] = []
            self.fail, self.after_send = fail, after_send

        def send_email(self, to, subject, body, context=None):
            if self.fail is not None and not self.after_send:
                raise self.fail("SES throttled")
            self.sent.append(subject)
            if self.fail is not None:
                raise self.fail("the function's time ran out after SES took the message")
            return f"mail-{len(self.sent)}"

    def kept(number: str) -> dict:
        key = to_attributes(keys.receipt_message_item(number))
        return from_attributes(stack.table.db.get_item(TableName=stack.table.name, Key=key)["Item"])

    night = stack.clock.now()
    opening = night + timedelta(hours=1)
    table = stack.table
    throttled = MessagePlan("R20261202-DDDDDDDDDD", UNIT, "due", "email", "wang@example.net", "s", "…", opening)
    table.db.put_item(TableName=table.name, Item=to_attributes(message_item(throttled, night)))
    failing = ReceiptMessages(table, load_rules(), SHANGHAI, email=Outbox(fail=ProviderUnavailable))
    stack.clock.set(opening)
    outcomes = []
    for _ in range(MAX_ATTEMPTS + 1):
        outcomes.append(failing.send_due(table, stack.clock.now()))
        stack.clock.set(stack.clock.now() + timedelta(hours=1))
    assert MAX_ATTEMPTS == 3 and outcomes == [{"failed": 1}, {"failed": 1}, {"gave up": 1}, {}]
    record = kept(throttled.number)
    assert record["outcome"] == "gave up after 3 attempts: ProviderUnavailable" and record["attempts"] == "3"
    assert "inbox_pk" not in record  # no longer due: the reason is the message's evidence

    crashed = MessagePlan("R20261202-EEEEEEEEEE", UNIT, "due", "email", "wang@example.net", "s", "…", opening)
    table.db.put_item(TableName=table.name, Item=to_attributes(message_item(crashed, night)))
    dying = Outbox(fail=TimeoutError, after_send=True)
    with pytest.raises(TimeoutError):
        ReceiptMessages(table, load_rules(), SHANGHAI, email=dying).send_due(table, stack.clock.now())
    assert dying.sent == ["s"] and kept(crashed.number)["outcome"] == "sending"
    stack.clock.set(stack.clock.now() + timedelta(hours=1))
    outbox = Outbox()
    assert ReceiptMessages(table, load_rules(), SHANGHAI, email=outbox).send_due(table, stack.clock.now()) == {
        "unconfirmed": 1
    }
    assert outbox.sent == []  # not sent twice
    record = kept(crashed.number)
    assert record["outcome"] == UNCONFIRMED and "inbox_pk" not in record

"""The receipt's link to the owner: by email within the lawful hours, scheduled for the window's opening outside
them, once per receipt, and skipped with the reason where only mainland SMS could reach the owner."""

from datetime import datetime

import pytest

from propfee.collection.policy import ContactPolicy
from propfee.domain.models import Owner
from propfee.payments.ports import ProviderName
from propfee.payments.receipt_messages import NO_APPROVED_SMS, ReceiptMessages
from propfee.payments.receipts import Receipt, ReceiptLine
from tests.support import SHANGHAI, unit

URL = "https://pay.example.com/r/" + "A" * 22


class Store:
    def __init__(self):
        self.claimed: set[str] = set()
        self.records: dict[str, dict] = {}

    def claim_receipt_message(self, number, unit_id, at):
        if number in self.claimed:
            return False
        self.claimed.add(number)
        return True

    def finish_receipt_message(self, number, **fields):
        self.records.setdefault(number, {}).update(fields)


class Policies:
    def policy_for(self, community_id):
        return ContactPolicy()


class Outbox:
    def __init__(self):
        self.sent: list[tuple[str, str, str]] = []

    def send_email(self, to, subject, body, context=None):
        self.sent.append((to, subject, body))
        return f"mail-{len(self.sent)}"

    def send_sms(self, phone, body, context=None, template=None):
        self.sent.append((phone, "", body))
        return f"sms-{len(self.sent)}"


def receipt() -> Receipt:
    paid = datetime(2026, 12, 2, 22, 30, tzinfo=SHANGHAI)
    return Receipt(
        number="R20261202-ABCDEFGHIJ", token="A" * 22, language="zh-CN", unit_id="C01-B01-0101", community_id="C01",
        company="锦绣物业", address="锦绣花园1栋0101室", owner_masked="王*",
        lines=(ReceiptLine(period="2026-11", amount_fen=25000),),
        provider=ProviderName.ALIPAY, transaction_id="2026120222001", out_trade_no="PF" + "0" * 24 + "-1",
        paid_at=paid, issued_at=paid,
    )  # fmt: skip


@pytest.fixture()
def messages():
    store, outbox = Store(), Outbox()
    return store, outbox, ReceiptMessages(store, Policies(), SHANGHAI, email=outbox)


def test_within_the_window_the_owner_gets_one_email_with_the_receipts_link(messages):
    store, outbox, sender = messages
    owner = unit("C01-B01-0101")
    at_noon = datetime(2026, 12, 3, 12, 0, tzinfo=SHANGHAI)
    assert sender.send_receipt(receipt(), owner, URL, at_noon) == "sent"
    assert sender.send_receipt(receipt(), owner, URL, at_noon) == "duplicate"  # a retried notification
    [(to, subject, body)] = outbox.sent
    assert to == "wang@example.net" and "R20261202-ABCDEFGHIJ" in subject and URL in body and "250.00" in body
    assert store.records["R20261202-ABCDEFGHIJ"] == {
        "channel": "email",
        "outcome": "sent",
        "message_id": "mail-1",
        "attempts": "1",
    }


def test_at_night_the_message_waits_for_the_windows_opening(messages):
    store, outbox, sender = messages
    late = datetime(2026, 12, 2, 22, 31, tzinfo=SHANGHAI)
    assert sender.send_receipt(receipt(), unit("C01-B01-0101"), URL, late) == "scheduled 2026-12-03T08:00:00+08:00"
    assert outbox.sent == [] and store.records["R20261202-ABCDEFGHIJ"]["due_at"] == "2026-12-03T08:00:00+08:00"


def test_with_only_a_mainland_phone_the_receipt_message_is_skipped_with_the_reason(messages):
    _, outbox, sender = messages
    phone_only = unit("C01-B01-0101", owners=(Owner(name="王芳", phone="+8613812345678"),))
    noon = datetime(2026, 12, 3, 12, 0, tzinfo=SHANGHAI)
    assert sender.send_receipt(receipt(), phone_only, URL, noon) == NO_APPROVED_SMS
    assert outbox.sent == []


def test_the_message_is_planned_with_the_payment_whole_and_sent_later_by_its_plan_alone(messages):
    store, outbox, sender = messages
    late = datetime(2026, 12, 2, 22, 31, tzinfo=SHANGHAI)
    planned = sender.plan(receipt(), unit("C01-B01-0101"), URL, late)
    assert (planned.outcome, planned.channel, planned.to) == ("due", "email", "wang@example.net")
    assert planned.due_at == datetime(2026, 12, 3, 8, 0, tzinfo=SHANGHAI) and URL in planned.body
    assert outbox.sent == [] and store.claimed == set()  # pure: nothing sent, nothing claimed
    assert sender.send_planned(planned) == "sent"
    assert outbox.sent == [("wang@example.net", planned.subject, planned.body)]
    assert store.records[planned.number] == {
        "channel": "email",
        "outcome": "sent",
        "message_id": "mail-1",
        "attempts": "1",
    }
    noon = datetime(2026, 12, 3, 11, 0, tzinfo=SHANGHAI)
    assert sender.plan(receipt(), unit("C01-B01-0101"), URL, noon).due_at == noon  # in the window: at once
    phone_only = unit("C01-B01-0101", owners=(Owner(name="王芳", phone="+8613812345678"),))
    skipped = sender.plan(receipt(), phone_only, URL, noon)
    assert skipped.outcome == NO_APPROVED_SMS and not skipped.sendable

"""Owners answer their reminders by SMS: the reply comes back through End User Messaging's topic, is
understood, acted on, routed to the right department's inbox and queue, and acknowledged."""

import json
import uuid
from email.message import EmailMessage

import pytest

from propfee.accounts.ledger import with_bill
from propfee.aws.feedback import FeedbackTable
from propfee.domain.models import HoldKind, Owner, TicketStatus
from propfee.feedback.ticketing import resolve_ticket
from propfee.local.sandbox import Sandbox
from tests.support import SHANGHAI, at, bill, community, unit
from tests.support.sandbox import START, assert_calls_allowed, dead_letters

pytestmark = pytest.mark.e2e

LEAK, OPTS_OUT, PAID, STRANGER = "+8613900000001", "+8613900000002", "+8613900000003", "+8613900000999"


@pytest.fixture()
def replies():
    with Sandbox(start=START) as running:
        table = FeedbackTable(running.resources["PropfeeTable"], SHANGHAI)
        table.put_community(community())
        owners = {
            "C01-B01-0101": Owner(name="李雷", phone=LEAK),
            "C01-B01-0102": Owner(name="韩梅梅", phone=OPTS_OUT, email="han@example.net"),
            "C01-B01-0103": Owner(name="张伟", phone=PAID),
        }
        units = [with_bill(unit(u, owners=(o,)), bill(u, "2026-10")) for u, o in owners.items()]
        table.put_buildings_and_units([], units)
        running.table = table
        yield running


def reply(sandbox: Sandbox, phone: str, text: str, answers: str | None = None, message_id: str | None = None) -> str:
    message_id = message_id or str(uuid.uuid4())
    payload = {
        "originationNumber": phone,
        "destinationNumber": "+8610690000",
        "messageKeyword": "KEYWORD_0123",
        "messageBody": text,
        "inboundMessageId": message_id,
        "previousPublishedMessageId": answers,
    }
    sandbox.client("sns").publish(TopicArn=sandbox.resources["InboundSmsTopic"], Message=json.dumps(payload))
    return message_id


def sms_to(sandbox, phone):
    return [(mid, text) for mid, to, text in sandbox.sent_sms() if to == phone]


def emails_to(sandbox, address):
    return [(subject, body) for _, to, subject, body in sandbox.sent_email() if address in to]


def queued(sandbox, logical_id):
    response = sandbox.client("sqs").receive_message(QueueUrl=sandbox.resources[logical_id], MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in response.get("Messages", [])]


def test_a_complaint_reaches_engineering_holds_reminders_and_escalates_when_nobody_acts(replies):
    replies.advance(at("2026-11-11 09:45"))  # the morning's reminders went out
    [(reminder_id, _)] = sms_to(replies, LEAK)
    reply(replies, LEAK, "楼上漏水三个月了没人修，修好再交", answers=reminder_id)
    replies.advance(at("2026-11-11 10:00"))

    [ticket] = replies.table.tickets("engineering")
    assert (ticket.intent, ticket.category, ticket.unit_ids) == ("complaint", "leak", ("C01-B01-0101",))
    [(subject, body)] = emails_to(replies, "engineering@example.com")
    assert ticket.ticket_id in subject and "楼上漏水三个月了没人修" in body
    assert [t["ticket_id"] for t in queued(replies, "EngineeringTicketsQueue")] == [ticket.ticket_id]
    held = replies.table.get_unit("C01-B01-0101")
    assert [(h.kind, h.ticket) for h in held.holds] == [(HoldKind.COMPLAINT, ticket.ticket_id)]
    [(_, ack)] = sms_to(replies, LEAK)[1:]
    assert ticket.ticket_id in ack and "工程维修部" in ack

    # no reminder while the complaint is open; a day later nobody has acted: the site manager hears of it
    replies.advance(at("2026-11-12 12:10"))
    assert len(sms_to(replies, LEAK)) == 2
    [(escalation, _)] = emails_to(replies, "manager@example.com")
    assert ticket.ticket_id in escalation and "overdue" in escalation
    replies.advance(at("2026-11-12 15:10"))
    assert len(emails_to(replies, "manager@example.com")) == 1  # escalated once

    done, resumed = resolve_ticket(replies.table, ticket.ticket_id, "修好了，业主确认", at("2026-11-12 16:00"))
    assert done.status is TicketStatus.RESOLVED and resumed == ["C01-B01-0101"]
    assert replies.table.get_unit("C01-B01-0101").holds == ()
    assert {"ReceiveFunction", "TicketsFunction"} <= {function for function, _ in replies.function_calls}
    assert_calls_allowed(replies.function_calls)


def test_an_opt_out_stops_sms_at_once_and_is_confirmed_once(replies):
    replies.advance(at("2026-11-11 09:45"))
    reply(replies, OPTS_OUT, "TD")
    reply(replies, OPTS_OUT, "退订!!")  # the owner insists: one confirmation is enough
    replies.advance(at("2026-11-11 10:00"))

    owner = replies.table.get_unit("C01-B01-0102").owners[0]
    assert owner.sms_opt_out and not owner.email_opt_out
    confirmations = sms_to(replies, OPTS_OUT)[1:]
    assert len(confirmations) == 1 and "退订" in confirmations[0][1]
    # the next step goes by email, the other lawful channel
    replies.advance(at("2026-11-17 10:00"))
    assert len(sms_to(replies, OPTS_OUT)) == 2
    assert emails_to(replies, "han@example.net")


def test_a_paid_claim_asks_finance_to_verify_and_pauses_reminders_meanwhile(replies):
    replies.advance(at("2026-11-11 09:45"))
    reply(replies, PAID, "我昨天已经在app上交过了")
    replies.advance(at("2026-11-11 10:00"))

    [ticket] = replies.table.tickets("finance")
    assert ticket.intent == "paid_claim" and ticket.hold is HoldKind.PAID_CLAIM
    held = replies.table.get_unit("C01-B01-0103")
    assert held.balance_fen > 0  # a text never marks anything paid
    assert [h.kind for h in held.holds] == [HoldKind.PAID_CLAIM]
    assert emails_to(replies, "finance@example.com")


def test_a_reply_at_night_is_acknowledged_when_the_contact_window_opens(replies):
    replies.advance(at("2026-11-11 22:00"))
    reply(replies, LEAK, "电梯又坏了，困了人！")
    replies.advance(at("2026-11-11 22:30"))
    [ticket] = replies.table.tickets("engineering")
    assert ticket.priority == "urgent"
    assert not [text for _, text in sms_to(replies, LEAK) if ticket.ticket_id in text]

    replies.advance(at("2026-11-12 08:10"))
    [ack] = [text for _, text in sms_to(replies, LEAK) if ticket.ticket_id in text]
    assert "工程维修部" in ack


def test_unknown_senders_floods_and_bad_payloads_are_handled_and_nothing_is_lost(replies):
    replies.advance(at("2026-11-11 10:00"))
    reply(replies, STRANGER, "我家水管爆了")
    for n in range(9):
        reply(replies, LEAK, f"收到 {n}")  # an auto-responder
    topic = replies.resources["InboundSmsTopic"]
    replies.client("sns").publish(TopicArn=topic, Message="not json")
    replies.client("sns").publish(TopicArn=topic, Message=json.dumps({"messageBody": "hi"}))
    reply(replies, PAID, "")  # an empty message (a keyword-only reply with the body stripped)
    reply(replies, PAID, "物业费" * 700)  # 2,100 characters: kept cut to 2,000, understood from its start and end
    repeated = reply(replies, STRANGER, "我家水管爆了")
    reply(replies, STRANGER, "我家水管爆了", message_id=repeated)  # a redelivery
    replies.advance(at("2026-11-11 10:30"))

    # the stranger learns nothing about any account; customer service gets the ticket
    stranger_acks = [text for _, text in sms_to(replies, STRANGER)]
    assert len(stranger_acks) == 1 and "C01" not in stranger_acks[0] and "元" not in stranger_acks[0]
    # two messages, two tickets: the redelivered one acted once
    stranger_tickets = [t for t in replies.table.tickets("customer_service") if t.contact == STRANGER]
    assert [(t.community_id, t.unit_ids) for t in stranger_tickets] == [("UNKNOWN", ())] * 2
    # the responder: six messages acted on in the hour, the rest kept; one acknowledgement, no loop
    outcomes = [
        i["outcome"]["S"]
        for i in replies.client("dynamodb").scan(TableName=replies.table.name)["Items"]
        if i["pk"]["S"].startswith("INBOUND#") and i.get("sender", {}).get("S") == LEAK
    ]
    assert sorted(outcomes) == ["acted"] * 6 + ["flood"] * 3
    assert len(sms_to(replies, LEAK)) <= 2
    paid_records = [
        i
        for i in replies.client("dynamodb").scan(TableName=replies.table.name)["Items"]
        if i["pk"]["S"].startswith("INBOUND#") and i.get("sender", {}).get("S") == PAID
    ]
    assert sorted(len(i["body"]["S"]) for i in paid_records) == [0, 2000]
    assert all(i["outcome"]["S"] == "acted" for i in paid_records)
    reasons = [
        m["MessageAttributes"]["reason"]["StringValue"] for m in dead_letters(replies, "ReceiveFunctionDeadLetterQueue")
    ]
    assert len(reasons) == 2 and all("malformed inbound SMS" in r for r in reasons)
    assert "+8613900000999" not in replies.function_logs()


def mail(sender: str, subject: str, body: str, **headers: str) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "feedback@example.com", subject
    message["Date"] = "Wed, 11 Nov 2026 10:05:00 +0800"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


def test_an_owners_email_to_the_feedback_address_is_routed_like_an_sms_reply(replies):
    replies.advance(at("2026-11-11 10:00"))
    bucket = replies.resources["InboundMailBucket"]
    s3 = replies.client("s3")
    written = "小区垃圾三天没人清理，臭气熏天\n\n> 在 2026-11-11 写道：\n> 【物业服务中心】您的物业费..."
    s3.put_object(Bucket=bucket, Key="incoming/mail/ses-0001", Body=mail("Han@Example.net", "Re: 物业费", written))
    s3.put_object(
        Bucket=bucket,
        Key="incoming/mail/ses-0002",
        Body=mail("han@example.net", "自动回复: 物业费", "我正在休假", Auto_Submitted="auto-replied"),
    )
    replies.advance(at("2026-11-11 10:05"))

    [ticket] = replies.table.tickets("environment")
    assert (ticket.channel, ticket.unit_ids, ticket.contact) == ("email", ("C01-B01-0102",), "han@example.net")
    assert "在 2026-11-11 写道" not in ticket.message and "垃圾" in ticket.message  # the quoted reminder is cut
    assert emails_to(replies, "environment@example.com")
    [(_, ack)] = emails_to(replies, "han@example.net")
    assert ticket.ticket_id in ack
    # the out-of-office reply is not acted on (no loop), and the reason is kept beside it
    reason = s3.get_object(Bucket=bucket, Key="rejected/incoming/mail/ses-0002.txt")["Body"].read().decode()
    assert reason == "automatic reply, not acted on"
    assert "FeedbackMailFunction" in {function for function, _ in replies.function_calls}
    assert_calls_allowed(replies.function_calls)

"""Delivery events published by the providers come back through the topic and change what propfee does."""

import json
from datetime import date

import pytest

from propfee.ladder import Ladder, Step, decide
from propfee.models import Channel
from tests.e2e.conftest import dead_letters
from tests.support import SHANGHAI, at

pytestmark = pytest.mark.e2e


def _reminder(sandbox, unit_id, step):
    item = sandbox.client("dynamodb").get_item(
        TableName=sandbox.table.name, Key={"pk": {"S": f"EVIDENCE#{unit_id}"}, "sk": {"S": f"REMINDER#{step}#1"}}
    )["Item"]
    return item["status"]["S"], [e["M"]["status"]["S"] for e in item["timeline"]["L"]]


def test_receipts_and_bounces_update_the_evidence_and_the_owners_reachable_channels(sandbox):
    sandbox.advance(at("2026-11-11 09:45"))  # the plan ran at 09:30: one SMS per unit
    assert len(sandbox.sent_sms()) == 7
    topic = sandbox.resources["DeliveryEventsTopic"]
    sns = sandbox.client("sns")
    sms_receipt = {
        "eventType": "TEXT_DELIVERED",
        "eventTimestamp": 1794800000000,
        "messageId": "eum-1",
        "destinationPhoneNumber": "+8613812345678",
        "context": {"unit_id": "C01-B01-0101", "claim": "REMINDER.sms_d30.1"},
    }
    bounce = {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": "wang@example.net"}],
        },
        "mail": {
            "messageId": "ses-1",
            "timestamp": "2026-11-11T02:00:00.000Z",
            "tags": {"unit_id": ["C01-B01-0102"], "claim": ["REMINDER.sms_d30.1"]},
        },
    }
    for event in (sms_receipt, bounce, {"eventType": "Open"}):
        sns.publish(TopicArn=topic, Message=json.dumps(event))
    sandbox.drain()

    assert _reminder(sandbox, "C01-B01-0101", "sms_d30") == ("delivered", ["claimed", "sent", "delivered"])
    assert _reminder(sandbox, "C01-B01-0102", "sms_d30")[0] == "failed"
    # the bounced mailbox is not written to again: an email step falls back to SMS
    owner = sandbox.table.get_unit("C01-B01-0102").owners[0]
    assert owner.email_disabled and not owner.email_opt_out
    later = sandbox.table.get_unit("C01-B01-0102").model_copy(update={"steps_done": frozenset(), "recent_contacts": ()})
    action = decide(later, date(2026, 11, 17), SHANGHAI, _email_first()).action
    assert action.channel is Channel.SMS
    [rejected] = dead_letters(sandbox, "DeliveryEventsFunctionDeadLetterQueue")
    assert "unreadable delivery event" in rejected["MessageAttributes"]["reason"]["StringValue"]


def _email_first():
    return Ladder(steps=(Step(step_id="email", days_overdue=1, channel=Channel.EMAIL, template="reminder_notice"),))

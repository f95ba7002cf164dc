"""Delivery events published by the providers come back through the topic and change what propfee does."""

import json
from datetime import date

import pytest

from propfee.collection.ladder import decide
from propfee.collection.message_tags import encode_tag
from propfee.domain.models import Channel
from tests.support import SHANGHAI, at
from tests.support.sandbox import EMAIL_FIRST, dead_letters, delivery_outcomes, email_reminders, reminder_timeline

pytestmark = pytest.mark.e2e


def _reminder(sandbox, unit_id, step):
    status, timeline = reminder_timeline(sandbox, unit_id, f"REMINDER#{step}#1")
    return status, [entry for entry, _ in timeline]


def _publish(sandbox, *events):
    for event in events:
        sandbox.client("sns").publish(TopicArn=sandbox.resources["DeliveryEventsTopic"], Message=json.dumps(event))
    sandbox.drain()


def _sms_receipt(kind, message_id, unit_id=None, claim=None, stamp=1794800000000):
    receipt = {"eventType": kind, "eventTimestamp": stamp, "messageId": message_id,
               "destinationPhoneNumber": "+8613812345678"}  # fmt: skip
    if unit_id:  # End User Messaging carries the context given on send (SNS publish carries none)
        receipt["context"] = {"unit_id": unit_id, "claim": claim}
    return receipt


def test_receipts_and_bounces_update_the_evidence_and_the_owners_reachable_channels(sandbox):
    sandbox.advance(at("2026-11-11 09:45"))  # the plan ran at 09:30: one SMS per unit
    assert len(sandbox.sent_sms()) == 7
    sms_receipt = _sms_receipt("TEXT_DELIVERED", "eum-1", "C01-B01-0101", "REMINDER#sms_d30#1")
    bounce = {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": "wang@example.net"}],
            "timestamp": "2026-11-11T02:00:05.000Z",
            "feedbackId": "feedback-1",
        },
        "mail": {
            "messageId": "ses-1",
            "timestamp": "2026-11-11T02:00:00.000Z",
            "tags": {"unit_id": ["C01-B01-0102"], "claim": [encode_tag("REMINDER#sms_d30#1")]},
        },
    }
    _publish(sandbox, sms_receipt, bounce, {"eventType": "Open"})

    assert _reminder(sandbox, "C01-B01-0101", "sms_d30") == ("delivered", ["claimed", "sent", "delivered"])
    assert _reminder(sandbox, "C01-B01-0102", "sms_d30")[0] == "failed"
    # the bounced mailbox is not written to again: an email step falls back to SMS
    owner = sandbox.table.get_unit("C01-B01-0102").owners[0]
    assert owner.email_disabled and not owner.email_opt_out
    later = sandbox.table.get_unit("C01-B01-0102").model_copy(update={"steps_done": frozenset(), "recent_contacts": ()})
    action = decide(later, date(2026, 11, 17), SHANGHAI, EMAIL_FIRST).action
    assert action.channel is Channel.SMS
    [rejected] = dead_letters(sandbox, "DeliveryEventsFunctionDeadLetterQueue")
    assert "unreadable delivery event" in rejected["MessageAttributes"]["reason"]["StringValue"]


def test_an_email_bounce_and_a_complaint_switch_the_address_off_whatever_its_case(sandbox):
    sandbox.advance(at("2026-11-11 09:45"))
    sent = email_reminders(sandbox, {"C01-B02-0901": "Owner9@Example.NET", "C01-B02-0902": "owner9@example.net"})
    # SES's configuration set publishes what the receiving side said, with the message's tags
    assert sandbox.ses_event(sent["C01-B02-0901"][0], "Bounce", recipients=("owner9@example.net",)) == 1
    assert sandbox.ses_event(sent["C01-B02-0902"][0], "Complaint", recipients=("Owner9@Example.NET",)) == 1
    sandbox.drain()

    assert reminder_timeline(sandbox, "C01-B02-0901", sent["C01-B02-0901"][1])[0] == "failed"
    assert reminder_timeline(sandbox, "C01-B02-0902", sent["C01-B02-0902"][1])[0] == "complained"
    for unit_id, stored in (("C01-B02-0901", "Owner9@Example.NET"), ("C01-B02-0902", "owner9@example.net")):
        [owner] = sandbox.table.get_unit(unit_id).owners
        assert owner.email == stored and owner.email_disabled, unit_id  # off, and kept as the owner gave it
        later = sandbox.table.get_unit(unit_id).model_copy(update={"steps_done": frozenset(), "recent_contacts": ()})
        assert decide(later, date(2026, 11, 17), SHANGHAI, EMAIL_FIRST).action is None  # no other channel
    assert delivery_outcomes(sandbox) == ["recorded_and_address_disabled"] * 2
    assert dead_letters(sandbox, "DeliveryEventsFunctionDeadLetterQueue") == []


def test_duplicated_and_reordered_receipts_leave_one_entry_each_and_the_right_final_status(sandbox):
    sandbox.advance(at("2026-11-11 09:45"))
    [(message_id, claim)] = email_reminders(sandbox, {"C01-B02-0903": "li@example.net"}).values()
    # the complaint arrives before the delivery it implies, and SNS delivers both twice
    sandbox.ses_event(message_id, "Complaint", feedback_id="complaint-1")
    sandbox.ses_event(message_id, "Delivery")
    sandbox.ses_event(message_id, "Complaint", feedback_id="complaint-1")
    sandbox.ses_event(message_id, "Delivery")
    sandbox.drain()
    assert reminder_timeline(sandbox, "C01-B02-0903", claim) == (
        "complained",
        [("claimed", ""), ("sent", ""), ("complained", ""), ("delivered", "conflict")],
    )

    # SMS: a number that does not exist, then a late (and repeated) delivered receipt for the same message
    sms_ids = {
        r.unit_id: r.provider_message_id for r in sandbox.table.day_activity("C01", date(2026, 11, 11)).reminders
    }
    invalid, delivered = (_sms_receipt(kind, sms_ids["C01-B01-0101"]) for kind in ("TEXT_INVALID", "TEXT_DELIVERED"))
    late = {**delivered, "eventTimestamp": 1794800090000}
    _publish(sandbox, invalid, late, late, invalid)
    # one delivered receipt, twice: one entry
    twice = _sms_receipt("TEXT_DELIVERED", sms_ids["C01-B01-0103"], "C01-B01-0103", "REMINDER#sms_d30#1")
    _publish(sandbox, twice, twice)

    assert reminder_timeline(sandbox, "C01-B01-0101", "REMINDER#sms_d30#1") == (
        "failed",
        [("claimed", ""), ("sent", ""), ("failed", ""), ("delivered", "conflict")],
    )
    assert _reminder(sandbox, "C01-B01-0103", "sms_d30") == ("delivered", ["claimed", "sent", "delivered"])
    assert sandbox.table.get_unit("C01-B01-0101").owners[0].sms_disabled  # the number does not exist
    outcomes = delivery_outcomes(sandbox)
    # the second copy of each: the complaint and the number that does not exist find their addresses already off
    assert sorted(o for o in outcomes if o.startswith("duplicate")) == [
        "duplicate",
        "duplicate",
        "duplicate",
        "duplicate_and_address_already_disabled",
        "duplicate_and_address_already_disabled",
    ]
    assert outcomes.count("conflict") == 2


def test_an_identity_notification_without_tags_finds_its_reminder_by_the_message_id(sandbox):
    sandbox.advance(at("2026-11-11 09:45"))
    [(message_id, claim)] = email_reminders(sandbox, {"C01-B02-0904": "zhao@example.net"}).values()
    topic = sandbox.resources["DeliveryEventsTopic"]
    assert sandbox.ses_event(message_id, "Bounce", recipients=("zhao@EXAMPLE.net",), notification_topic=topic) == 1
    sandbox.drain()
    assert reminder_timeline(sandbox, "C01-B02-0904", claim)[0] == "failed"
    assert sandbox.table.get_unit("C01-B02-0904").owners[0].email_disabled
    assert delivery_outcomes(sandbox) == ["recorded_and_address_disabled"]


def test_log_lines_say_what_was_done_for_an_unknown_unit_or_an_address_the_unit_does_not_hold(sandbox):
    sandbox.advance(at("2026-11-11 09:45"))
    [(message_id, _claim)] = email_reminders(sandbox, {"C01-B02-0905": "sun@example.net"}).values()
    sandbox.ses_event(message_id, "Bounce", recipients=("someone.else@example.net",))
    stranger = {
        "eventType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": "x@example.net"}],
            "timestamp": "2026-11-11T02:00:05.000Z",
            "feedbackId": "complaint-9",
        },
        "mail": {
            "messageId": "ses-9",
            "timestamp": "2026-11-11T02:00:00.000Z",
            "tags": {"unit_id": ["C09-B09-0909"], "claim": [encode_tag("REMINDER#email#1")]},
        },
    }
    _publish(sandbox, stranger)
    assert delivery_outcomes(sandbox) == [
        "recorded_and_address_not_on_unit",
        "unknown_reminder_and_unknown_unit",
    ]
    assert not sandbox.table.get_unit("C01-B02-0905").owners[0].email_disabled

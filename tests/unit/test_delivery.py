"""Provider delivery events read correctly, and acted on."""

import json
from pathlib import Path

import pytest

from propfee.delivery import UnreadableEvent, apply_delivery_event, parse_delivery_event
from propfee.models import Channel, ReminderStatus

EVENTS = Path(__file__).parents[2] / "events"
SMS_DELIVERED, EMAIL_BOUNCE = (
    json.loads(json.loads((EVENTS / name).read_text(encoding="utf-8"))["Records"][0]["Sns"]["Message"])
    for name in ("delivery_events.json", "delivery_events_email_bounce.json")
)


def _sms(kind, **extra):
    return json.dumps({**SMS_DELIVERED, "eventType": kind, **extra})


def test_an_sms_receipt_leads_back_to_its_evidence_record():
    event = parse_delivery_event(json.dumps(SMS_DELIVERED))
    assert (event.channel, event.status, event.disable) == (Channel.SMS, ReminderStatus.DELIVERED, ())
    assert (event.unit_id, event.claim_key) == ("C01-B03-1502", "REMINDER#sms_d1#1")
    assert event.provider_message_id == SMS_DELIVERED["messageId"]
    assert event.at.isoformat() == "2026-11-18T11:06:40+00:00"


@pytest.mark.parametrize(
    ("kind", "status", "disabled"),
    [
        ("TEXT_SUCCESSFUL", None, ()),
        ("TEXT_TTL_EXPIRED", ReminderStatus.FAILED, ()),
        ("TEXT_CARRIER_UNREACHABLE", ReminderStatus.FAILED, ()),
        ("TEXT_INVALID", ReminderStatus.FAILED, ("+8613812345678",)),
        ("TEXT_BLOCKED", ReminderStatus.FAILED, ("+8613812345678",)),
    ],
)
def test_only_a_number_that_cannot_work_is_switched_off(kind, status, disabled):
    event = parse_delivery_event(_sms(kind))
    assert (event.status, event.disable) == (status, disabled)


def test_a_permanent_bounce_switches_the_address_off_and_a_transient_one_does_not():
    event = parse_delivery_event(json.dumps(EMAIL_BOUNCE))
    assert (event.channel, event.status, event.disable) == (
        Channel.EMAIL,
        ReminderStatus.FAILED,
        ("owner@example.net",),
    )
    assert event.claim_key == "REMINDER#email_d7#1"
    transient = {**EMAIL_BOUNCE, "bounce": {**EMAIL_BOUNCE["bounce"], "bounceType": "Transient"}}
    assert parse_delivery_event(json.dumps(transient)).disable == ()


def test_a_complaint_is_recorded_and_the_address_is_not_written_to_again():
    complaint = {
        "notificationType": "Complaint",
        "mail": EMAIL_BOUNCE["mail"],
        "complaint": {"complainedRecipients": [{"emailAddress": "owner@example.net"}]},
    }
    event = parse_delivery_event(json.dumps(complaint))
    assert (event.status, event.disable) == (ReminderStatus.COMPLAINED, ("owner@example.net",))


@pytest.mark.parametrize("body", ["", "[]", "{}", '{"mail": {}}', '{"eventType": "Open"}', "not json"])
def test_unreadable_events_are_refused_with_a_reason(body):
    with pytest.raises(UnreadableEvent):
        parse_delivery_event(body)


class Store:
    def __init__(self, known=True):
        self.known = known
        self.recorded, self.disabled = [], []

    def record_delivery(self, event):
        self.recorded.append(event)
        return self.known

    def disable_addresses(self, unit_id, channel, addresses, reason):
        self.disabled.append((unit_id, channel, addresses))
        return True


def test_applying_events():
    store = Store()
    assert apply_delivery_event(parse_delivery_event(json.dumps(SMS_DELIVERED)), store) == "recorded"
    assert (
        apply_delivery_event(parse_delivery_event(json.dumps(EMAIL_BOUNCE)), store) == "recorded_and_address_disabled"
    )
    assert store.disabled == [("C01-B03-1502", Channel.EMAIL, ("owner@example.net",))]
    assert apply_delivery_event(parse_delivery_event(_sms("TEXT_SUCCESSFUL")), store) == "ignored"
    assert apply_delivery_event(parse_delivery_event(_sms("TEXT_DELIVERED", context={})), store) == "not_ours"
    assert apply_delivery_event(parse_delivery_event(json.dumps(SMS_DELIVERED)), Store(known=False)) == (
        "unknown_reminder"
    )

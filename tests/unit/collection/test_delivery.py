"""Provider delivery events read correctly (AWS's own samples included), refused with a reason when they do not
fit, and acted on once and only forward."""

import json
from pathlib import Path

import pytest

from propfee.collection.delivery import (
    Disabled,
    Recorded,
    UnreadableEvent,
    addresses_meant,
    apply_delivery_event,
    parse_delivery_event,
)
from propfee.collection.message_tags import encode_tag
from propfee.domain.models import Channel, ReminderStatus

EVENTS = Path(__file__).parents[3] / "events"
SMS_DELIVERED, EMAIL_BOUNCE = (
    json.loads(json.loads((EVENTS / name).read_text(encoding="utf-8"))["Records"][0]["Sns"]["Message"])
    for name in ("delivery_events.json", "delivery_events_email_bounce.json")
)


def aws_sample(name):
    return json.loads((EVENTS / "aws" / f"{name}.json").read_text(encoding="utf-8"))


def _sms(kind, **extra):
    return json.dumps({**SMS_DELIVERED, "eventType": kind, **extra})


def test_an_sms_receipt_leads_back_to_its_evidence_record():
    event = parse_delivery_event(json.dumps(SMS_DELIVERED))
    assert (event.channel, event.status, event.disable) == (Channel.SMS, ReminderStatus.DELIVERED, ())
    # a receipt of a message sent before the claim was carried as is (`.` for `#`) still finds its record
    assert (event.unit_id, event.claim_key) == ("C01-B03-1502", "REMINDER#sms_d1#1")
    assert event.provider_message_id == SMS_DELIVERED["messageId"]
    assert event.at.isoformat() == "2026-11-18T11:06:40+00:00"
    now_carried = {**SMS_DELIVERED, "context": {"unit_id": "C01-B03-1502", "claim": "REMINDER#sms_d1-r2#1"}}
    assert parse_delivery_event(json.dumps(now_carried)).claim_key == "REMINDER#sms_d1-r2#1"


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


@pytest.mark.parametrize("claim", ["REMINDER#sms_d30#1", "REMINDER#notice_d7-email#2", "REMINDER#a_b-c#d#1"])
def test_an_email_event_finds_the_claim_its_tags_carry(claim):
    tags = {"claim": [encode_tag(claim)], "unit_id": [encode_tag("C01#B_3")]}
    tagged = {**EMAIL_BOUNCE, "mail": {**EMAIL_BOUNCE["mail"], "tags": tags}}
    event = parse_delivery_event(json.dumps(tagged))
    assert (event.unit_id, event.claim_key) == ("C01#B_3", claim)


def test_a_permanent_bounce_switches_the_address_off_and_a_transient_one_does_not():
    event = parse_delivery_event(json.dumps(EMAIL_BOUNCE))
    assert (event.channel, event.status, event.disable) == (
        Channel.EMAIL,
        ReminderStatus.FAILED,
        ("owner@example.net",),
    )
    assert event.claim_key == "REMINDER#email_d7#1"
    assert event.event_id == "ses:bounce:0100017c-bounce"
    transient = {**EMAIL_BOUNCE, "bounce": {**EMAIL_BOUNCE["bounce"], "bounceType": "Transient"}}
    assert parse_delivery_event(json.dumps(transient)).disable == ()


# what each AWS-documented event means, when it is about one of propfee's messages (the samples carry no propfee
# tags: the reminder is found by the message id)
AWS_SAMPLES = {
    "ses_event_bounce": (ReminderStatus.FAILED, ("recipient@example.com",)),
    "ses_event_complaint": (ReminderStatus.COMPLAINED, ("recipient@example.com",)),
    "ses_event_delivery": (ReminderStatus.DELIVERED, ()),
    "ses_event_reject": (ReminderStatus.FAILED, ()),
    "ses_event_rendering_failure": (ReminderStatus.FAILED, ()),
    "ses_notification_bounce": (ReminderStatus.FAILED, ("jane@example.com",)),
    "ses_notification_complaint": (ReminderStatus.COMPLAINED, ("richard@example.com",)),
    "ses_notification_delivery": (ReminderStatus.DELIVERED, ()),
    "sms_event_text_successful": (None, ()),
}


@pytest.mark.parametrize(("name", "expected"), AWS_SAMPLES.items())
def test_aws_documented_events_are_read(name, expected):
    sample = aws_sample(name)
    event = parse_delivery_event(json.dumps(sample))
    assert (event.status, event.disable) == expected
    assert (event.unit_id, event.claim_key) == (None, None)
    message_id = sample["messageId"] if name.startswith("sms") else sample["mail"]["messageId"]
    assert event.provider_message_id == message_id


def test_one_provider_event_has_one_id_and_two_events_two():
    bounce = parse_delivery_event(json.dumps(aws_sample("ses_event_bounce")))
    notified = parse_delivery_event(json.dumps(aws_sample("ses_event_bounce")))
    delivery = parse_delivery_event(json.dumps(aws_sample("ses_event_delivery")))
    assert bounce.event_id == notified.event_id != delivery.event_id
    assert parse_delivery_event(_sms("TEXT_DELIVERED")).event_id != parse_delivery_event(_sms("TEXT_INVALID")).event_id


def _bounce_with(**changes):
    return {**aws_sample("ses_event_bounce"), **changes}


MALFORMED = {
    "bounce as a string": (_bounce_with(bounce="Permanent"), "bounce"),
    "complaint as a string": ({**aws_sample("ses_event_complaint"), "complaint": "abuse"}, "complaint"),
    "an unknown bounce type": (
        _bounce_with(bounce={**aws_sample("ses_event_bounce")["bounce"], "bounceType": "Hard"}),
        "bounce.bounceType",
    ),
    "a non-ISO mail.timestamp": (
        _bounce_with(mail={**aws_sample("ses_event_bounce")["mail"], "timestamp": "Sat, 05 Aug 2017 00:40:02 GMT"}),
        "mail.timestamp",
    ),
    "a timestamp without its offset": (
        _bounce_with(mail={**aws_sample("ses_event_bounce")["mail"], "timestamp": "2017-08-05T00:40:02"}),
        "mail.timestamp",
    ),
    "no mail.messageId": (_bounce_with(mail={"timestamp": "2017-08-05T00:40:02.012Z"}), "mail.messageId"),
    "a bounce without its bounce object": (
        {"eventType": "Bounce", "mail": aws_sample("ses_event_bounce")["mail"]},
        "bounce",
    ),
    "no event type": ({"mail": aws_sample("ses_event_bounce")["mail"]}, "eventType"),
    "a tag this encoding cannot have made": (
        _bounce_with(mail={**aws_sample("ses_event_bounce")["mail"], "tags": {"claim": ["bad_"]}}),
        "mail.tags.claim",
    ),
    "a string eventTimestamp": (
        {**aws_sample("sms_event_text_successful"), "eventTimestamp": "1686975103470"},
        "eventTimestamp",
    ),
    "no SMS messageId": ({**aws_sample("sms_event_text_successful"), "messageId": ""}, "messageId"),
    "a context that is not a map": ({**aws_sample("sms_event_text_successful"), "context": ["unit"]}, "context"),
}


@pytest.mark.parametrize(("event", "field"), MALFORMED.values(), ids=MALFORMED.keys())
def test_events_of_the_wrong_shape_are_refused_naming_the_field(event, field):
    with pytest.raises(UnreadableEvent) as refused:
        parse_delivery_event(json.dumps(event))
    assert field in str(refused.value)
    assert "recipient@example.com" not in str(refused.value)  # reasons name fields, never addresses


@pytest.mark.parametrize("body", ["", "[]", "{}", '{"eventType": "Open"}', "not json"])
def test_unreadable_events_are_refused_with_a_reason(body):
    with pytest.raises(UnreadableEvent):
        parse_delivery_event(body)


@pytest.mark.parametrize(
    ("stored", "reported", "meant"),
    [
        (["owner9@example.net"], ["owner9@Example.NET"], {"owner9@example.net"}),
        (["Owner9@Example.NET"], ["owner9@example.net"], {"Owner9@Example.NET"}),
        (["Wang@example.net", "wang@example.net"], ["wang@EXAMPLE.net"], {"wang@example.net"}),
        (["owner9@example.net"], ["owner9@example.org"], set()),
        (["owner9@example.net"], ["other@example.net"], set()),
    ],
    ids=["domain case", "local part case", "the exact local part first", "another domain", "another mailbox"],
)
def test_the_addresses_a_report_means(stored, reported, meant):
    assert addresses_meant(stored, reported) == meant


class Store:
    def __init__(self, recorded=Recorded.RECORDED, disabled=Disabled.DISABLED, messages=None):
        self.result, self.disabled_result, self.messages = recorded, disabled, messages or {}
        self.recorded, self.disabled = [], []

    def reminder_of_message(self, provider_message_id):
        return self.messages.get(provider_message_id)

    def record_delivery(self, event):
        self.recorded.append(event)
        return self.result

    def disable_addresses(self, unit_id, channel, addresses, reason):
        self.disabled.append((unit_id, channel, addresses))
        return self.disabled_result


def test_applying_events_says_what_was_done():
    store = Store()
    assert apply_delivery_event(parse_delivery_event(json.dumps(SMS_DELIVERED)), store) == "recorded"
    assert apply_delivery_event(parse_delivery_event(json.dumps(EMAIL_BOUNCE)), store) == (
        "recorded_and_address_disabled"
    )
    assert store.disabled == [("C01-B03-1502", Channel.EMAIL, ("owner@example.net",))]
    assert apply_delivery_event(parse_delivery_event(_sms("TEXT_SUCCESSFUL")), store) == "ignored"
    assert apply_delivery_event(parse_delivery_event(_sms("TEXT_DELIVERED", context={})), store) == "not_ours"
    assert apply_delivery_event(parse_delivery_event(json.dumps(SMS_DELIVERED)), Store(Recorded.DUPLICATE)) == (
        "duplicate"
    )
    nothing = Store(Recorded.UNKNOWN_REMINDER, Disabled.UNKNOWN_UNIT)
    assert apply_delivery_event(parse_delivery_event(json.dumps(EMAIL_BOUNCE)), nothing) == (
        "unknown_reminder_and_unknown_unit"
    )
    elsewhere = Store(disabled=Disabled.NOT_ON_UNIT)
    assert apply_delivery_event(parse_delivery_event(json.dumps(EMAIL_BOUNCE)), elsewhere) == (
        "recorded_and_address_not_on_unit"
    )


def test_an_untagged_notification_finds_its_reminder_by_the_message_id():
    sample = aws_sample("ses_notification_bounce")
    store = Store(messages={sample["mail"]["messageId"]: ("C01-B01-0101", "REMINDER#email_d7#1")})
    assert apply_delivery_event(parse_delivery_event(json.dumps(sample)), store) == "recorded_and_address_disabled"
    [recorded] = store.recorded
    assert (recorded.unit_id, recorded.claim_key, recorded.status) == (
        "C01-B01-0101",
        "REMINDER#email_d7#1",
        ReminderStatus.FAILED,
    )
    assert apply_delivery_event(parse_delivery_event(json.dumps(aws_sample("ses_event_delivery"))), store) == (
        "not_ours"
    )

"""The delivery events AWS documents (events/aws/, sources in events/aws/SOURCES.md), through the topic and the
delivery_events function in the sandbox: each has its effect on a reminder propfee sent, and the malformed
variants end in the function's DLQ with the field and the reason."""

import copy
import json
from pathlib import Path

import pytest

from propfee.accounts.ledger import with_bill
from propfee.local.sandbox import Sandbox
from tests.support import SHANGHAI, at, bill, community, unit
from tests.support.sandbox import START, email_reminders, reminder_timeline

pytestmark = pytest.mark.e2e
SAMPLES = Path(__file__).parents[2] / "events" / "aws"

# sample -> (the reminder's status after it, whether the owner's address is switched off)
EMAIL_SAMPLES = {
    "ses_event_bounce": ("failed", True),
    "ses_event_complaint": ("complained", True),
    "ses_event_delivery": ("delivered", False),
    "ses_event_reject": ("failed", False),
    "ses_event_rendering_failure": ("failed", False),
    "ses_notification_bounce": ("failed", True),
    "ses_notification_complaint": ("complained", True),
    "ses_notification_delivery": ("delivered", False),
}


@pytest.fixture(scope="module")
def world():
    from propfee.aws.dynamo import PropfeeTable

    with Sandbox(start=START) as running:
        table = PropfeeTable(running.resources["PropfeeTable"], SHANGHAI)
        table.put_community(community())
        owing = [with_bill(unit(f"C01-B01-01{n:02d}"), bill(f"C01-B01-01{n:02d}", "2026-10")) for n in range(1, 3)]
        table.put_buildings_and_units([], owing)
        running.table = table
        running.advance(at("2026-11-11 09:45"))  # the morning plan sent each of them an SMS
        addresses = {f"C01-B05-05{n:02d}": f"Sample{n}@Example.NET" for n in range(len(EMAIL_SAMPLES))}
        running.emailed = dict(zip(EMAIL_SAMPLES, email_reminders(running, addresses).items(), strict=True))
        yield running


def sample(name):
    return json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def about(event, message_id, address):
    """A copy of an AWS sample about one of propfee's messages: its message id and its recipient (as the receiving
    side may write it: the domain in lower case)."""
    event = copy.deepcopy(event)
    reported = address.rpartition("@")[0] + "@" + address.rpartition("@")[2].lower()
    event["mail"]["messageId"] = message_id
    event["mail"]["destination"] = [address]
    for detail, key in (("bounce", "bouncedRecipients"), ("complaint", "complainedRecipients")):
        if detail in event:
            event[detail][key] = [{**event[detail][key][0], "emailAddress": reported}]
    if "delivery" in event:
        event["delivery"]["recipients"] = [reported]
    return event


def publish(world, event):
    world.client("sns").publish(TopicArn=world.resources["DeliveryEventsTopic"], Message=json.dumps(event))
    world.drain()


def take_dead_letters(world):
    """The DLQ's messages, removed from it (each test sees its own)."""
    sqs, url = world.client("sqs"), world.resources["DeliveryEventsFunctionDeadLetterQueue"]
    taken = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
        "Messages", []
    ):
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        taken += messages
    return taken


@pytest.mark.parametrize(("name", "expected"), EMAIL_SAMPLES.items())
def test_an_aws_documented_email_event_has_its_effect(world, name, expected):
    unit_id, (message_id, claim) = world.emailed[name]
    [owner] = world.table.get_unit(unit_id).owners
    publish(world, about(sample(name), message_id, owner.email))
    status, disabled = expected
    assert reminder_timeline(world, unit_id, claim)[0] == status
    assert bool(world.table.get_unit(unit_id).owners[0].email_disabled) is disabled
    assert take_dead_letters(world) == []


def test_the_aws_documented_sms_event_is_read_and_an_intermediate_status_changes_nothing(world):
    [reminder] = [r for r in world.table.day_activity("C01", START.date()).reminders if r.unit_id == "C01-B01-0101"]
    event = {**sample("sms_event_text_successful"), "messageId": reminder.provider_message_id}
    publish(world, event)  # TEXT_SUCCESSFUL: handed to the carrier, not yet delivered
    assert reminder_timeline(world, "C01-B01-0101", f"REMINDER#{reminder.step}#{reminder.occurrence}")[0] == "sent"
    publish(world, {**event, "eventType": "TEXT_DELIVERED", "messageStatus": "DELIVERED"})
    assert reminder_timeline(world, "C01-B01-0101", f"REMINDER#{reminder.step}#{reminder.occurrence}")[0] == "delivered"
    assert take_dead_letters(world) == []


def _malformed():
    bounce, sms = sample("ses_event_bounce"), sample("sms_event_text_successful")
    return {
        "bounce as a string": ({**bounce, "bounce": "Permanent"}, "bounce"),
        "complaint as a string": ({**sample("ses_notification_complaint"), "complaint": "abuse"}, "complaint"),
        "a non-ISO mail.timestamp": (
            {**bounce, "mail": {**bounce["mail"], "timestamp": "Sat, 05 Aug 2017 00:40:02 GMT"}},
            "mail.timestamp",
        ),
        "no mail.messageId": (
            {**bounce, "mail": {k: v for k, v in bounce["mail"].items() if k != "messageId"}},
            "mail.messageId",
        ),
        "a string eventTimestamp": ({**sms, "eventTimestamp": "1686975103470"}, "eventTimestamp"),
        "an SMS event without messageId": ({k: v for k, v in sms.items() if k != "messageId"}, "messageId"),
    }


@pytest.mark.parametrize(("event", "field"), _malformed().values(), ids=_malformed().keys())
def test_a_malformed_variant_ends_in_the_dlq_with_the_field_and_the_reason(world, event, field):
    publish(world, event)
    [kept] = take_dead_letters(world)
    reason = kept["MessageAttributes"]["reason"]["StringValue"]
    assert reason.startswith("unreadable delivery event") and field in reason
    assert json.loads(kept["Body"]) == event  # the event itself, for replay once understood


def test_an_sns_envelope_that_does_not_fit_goes_to_the_dlq_and_the_next_receipt_is_applied(world):
    [reminder] = [r for r in world.table.day_activity("C01", START.date()).reminders if r.unit_id == "C01-B01-0102"]
    delivered = {**sample("sms_event_text_successful"), "messageId": reminder.provider_message_id,
                 "eventType": "TEXT_DELIVERED", "messageStatus": "DELIVERED"}  # fmt: skip
    envelope = json.loads((SAMPLES / "snsEvent.json").read_text(encoding="utf-8"))  # Powertools' SNS sample
    good = copy.deepcopy(envelope["Records"][0])
    good["Sns"]["Message"] = json.dumps(delivered)
    spoilt = copy.deepcopy(good)
    spoilt["Sns"]["Type"] = "SubscriptionConfirmation"
    envelope["Records"] = [spoilt, good]

    assert world.invoke("DeliveryEventsFunction", envelope) == {"receipts": 1}  # the one that fits

    [kept] = take_dead_letters(world)
    assert kept["MessageAttributes"]["reason"]["StringValue"].startswith("malformed SNS notification: Sns.Type")
    assert reminder_timeline(world, "C01-B01-0102", f"REMINDER#{reminder.step}#{reminder.occurrence}")[0] == "delivered"

"""The managers' console's reads and writes in the table the template declares (moto): a community's claims still
"claimed" on a day, settled once by a person (sent with the lookup a reply finds the unit by, or not sent: spent,
never deleted), and the opt-outs the receive flow marks on the unit's copy of the message that did it."""

from datetime import date, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from propfee.aws.feedback import FeedbackTable
from propfee.collection.ladder import decide
from propfee.collection.planning import job_for
from propfee.domain.models import InboundMessage, Reminder, ReminderStatus
from propfee.feedback.intents import Classification, Intent
from propfee.feedback.responses import FeedbackRules, respond
from tests.support import SHANGHAI, at, bill, create_table_from_template, unit

CLAIMED_AT = at("2026-11-11 09:31")
DAY = date(2026, 11, 11)


@pytest.fixture()
def table():
    with mock_aws():
        client = boto3.client("dynamodb")
        table = FeedbackTable(create_table_from_template(client), SHANGHAI, client)
        from propfee.accounts.ledger import with_bill

        owing = [with_bill(unit(f"C01-B01-01{n:02d}"), bill(f"C01-B01-01{n:02d}", "2026-10")) for n in (1, 2)]
        table.put_buildings_and_units([], owing)
        yield table


def claim(table, unit_id: str, status=ReminderStatus.CLAIMED) -> Reminder:
    current = table.get_unit(unit_id)
    job = job_for(current, decide(current, DAY, SHANGHAI).action, DAY)
    reminder = Reminder(
        unit_id=unit_id, community_id="C01", step=job.step, occurrence=job.occurrence, channel=job.channel,
        destination=job.destination, template=job.template, template_version="v1", content_sha256="0" * 64,
        balance_fen=job.balance_fen, status=status, claimed_at=CLAIMED_AT,
    )  # fmt: skip
    assert table.claim(job, reminder, (CLAIMED_AT,)).value == "claimed"
    return reminder


def test_a_claimed_reminder_is_found_on_its_day_and_settled_once_as_sent_with_its_lookup(table):
    first, second = claim(table, "C01-B01-0101"), claim(table, "C01-B01-0102")
    table.settle_claim(second, True, CLAIMED_AT + timedelta(minutes=1), "receipt", "SM-1")  # no longer claimed
    assert [r.unit_id for r in table.claimed_reminders("C01", DAY)] == ["C01-B01-0101"]
    assert table.claimed_reminders("C01", DAY + timedelta(days=1)) == []
    settled_at = at("2026-11-11 11:00")
    assert table.settle_claim(first, True, settled_at, "settled in the console: sent", "SM-0a1b") is True
    record = table.reminder("C01-B01-0101", "REMINDER#sms_d30#1")
    assert (record.status, record.provider_message_id, record.sent_at) == (ReminderStatus.SENT, "SM-0a1b", settled_at)
    assert table.reminder_of_message("SM-0a1b") == ("C01-B01-0101", "REMINDER#sms_d30#1")
    assert table.settle_claim(first, False, settled_at, "twice") is False  # settled once
    [history] = [r for r in table.unit_history("C01-B01-0101") if r.get("kind") == "reminder"]
    assert [s["status"] for s in history["timeline"]] == ["claimed", "sent"]


def test_not_sent_spends_the_step_and_keeps_the_record(table):
    reminder = claim(table, "C01-B01-0101")
    assert table.settle_claim(reminder, False, at("2026-11-11 11:00"), "not in the provider's log") is True
    record = table.reminder("C01-B01-0101", "REMINDER#sms_d30#1")
    assert record is not None and record.status is ReminderStatus.FAILED
    assert decide(table.get_unit("C01-B01-0101"), DAY, SHANGHAI).reason == "step_already_sent"


def test_a_message_that_switches_an_owner_off_is_listed_among_the_communitys_opt_outs(table):
    units = [table.get_unit("C01-B01-0101")]
    phone = units[0].owners[0].phone

    def receive(source_id: str, intent: Intent, when: datetime, owners_now) -> None:
        message = InboundMessage(source_id=source_id, channel="sms", sender=phone, body="退订" if intent is
                                 Intent.OPT_OUT else "你好", received_at=when)  # fmt: skip
        response = respond(message, Classification(intent=intent), owners_now, FeedbackRules(), SHANGHAI)
        assert table.record_message(message, owners_now, response, "acted", []).value == "recorded"

    receive("in-1", Intent.THANKS, at("2026-11-10 08:00"), units)  # changes nothing: not listed
    receive("in-2", Intent.OPT_OUT, at("2026-11-10 20:15"), units)
    receive("in-3", Intent.OPT_OUT, at("2026-11-11 07:00"), [table.get_unit("C01-B01-0101")])  # off already
    [listed] = table.opt_outs("C01")
    assert (listed["body"], listed["sender"], listed["opted_out"]) == ("退订", phone, ["sms_opt_out"])
    assert listed["pk"] == "UNIT#C01-B01-0101" and listed["at"] == at("2026-11-10 20:15").isoformat()
    assert table.opt_outs("C02") == []

"""The DynamoDB adapter against moto, on the table the template declares."""

from datetime import date, timedelta

import boto3
import pytest
from moto import mock_aws

from propfee.aws import keys
from propfee.aws.dynamo import PropfeeTable
from propfee.aws.dynamo_table import to_attributes
from propfee.aws.feedback import FeedbackTable
from propfee.collection.delivery import DeliveryEvent, Disabled, Recorded
from propfee.collection.ladder import DEFAULT_LADDER, decide
from propfee.collection.messages import render
from propfee.collection.planning import job_for
from propfee.collection.sending import evidence_for
from propfee.domain.models import Building, Channel, Hold, HoldKind, ReminderStatus
from propfee.domain.ports import ClaimResult
from propfee.local.sandbox import moto_patches
from tests.support import COMPANY, SHANGHAI, at, bill, community, create_table_from_template, payment, unit


@pytest.fixture(params=["moto as shipped", "sandbox transaction patch"])
def table(request):
    with mock_aws():
        if request.param == "sandbox transaction patch":
            moto_patches.install()
        client = boto3.client("dynamodb")
        name = create_table_from_template(client)
        store = PropfeeTable(name, SHANGHAI, client)
        store.put_community(community())
        store.put_buildings_and_units([], [unit("C01-B01-0101"), unit("C01-B01-0102")])
        yield store


def test_bill_then_payment_moves_the_unit_in_and_out_of_the_arrears_index(table):
    assert table.issue_bill(bill("C01-B01-0101", "2026-10"))
    assert list(table.units_owing("C01", due_before=date(2026, 10, 10))) == []  # not yet due
    owing = list(table.units_owing("C01", due_before=date(2026, 10, 11)))
    assert [u.unit_id for u in owing] == ["C01-B01-0101"]
    assert owing[0].balance_fen == 25000

    allocation = table.record_payment(payment("C01-B01-0101", 25000, "2026-10-20 10:00"))
    assert allocation is not None and allocation.by_period == {"2026-10": 25000}
    assert list(table.units_owing("C01", due_before=date(2026, 12, 1))) == []


def test_the_same_bill_period_or_payment_reference_applies_once(table):
    assert table.issue_bill(bill("C01-B01-0101", "2026-10"))
    assert not table.issue_bill(bill("C01-B01-0101", "2026-10"))
    assert table.record_payment(payment("C01-B01-0101", 10000, "2026-10-20 10:00", "BANK-7")) is not None
    assert table.record_payment(payment("C01-B01-0101", 10000, "2026-10-20 10:00", "BANK-7")) is None
    assert table.get_unit("C01-B01-0101").balance_fen == 15000
    [totals] = table.period_totals("C01")
    assert (totals.billed_fen, totals.paid_fen, totals.bills) == (25000, 10000, 1)


def test_partial_payment_settles_the_oldest_bill_first_and_overpayment_becomes_credit(table):
    table.issue_bill(bill("C01-B01-0101", "2026-09"))
    table.issue_bill(bill("C01-B01-0101", "2026-10"))
    first = table.record_payment(payment("C01-B01-0101", 30000, "2026-10-20 10:00", "P1"))
    assert first.by_period == {"2026-09": 25000, "2026-10": 5000}
    second = table.record_payment(payment("C01-B01-0101", 30000, "2026-10-21 10:00", "P2"))
    assert second.by_period == {"2026-10": 20000} and second.credit_fen == 10000
    # the credit pays the next bill down when it is issued
    table.issue_bill(bill("C01-B01-0101", "2026-11"))
    after = table.get_unit("C01-B01-0101")
    assert after.credit_fen == 0 and after.balance_fen == 15000
    paid = {t.period: t.paid_fen for t in table.period_totals("C01")}
    assert paid == {"2026-09": 25000, "2026-10": 25000, "2026-11": 10000}


def test_a_day_activity_holds_that_days_payments_in_local_time(table):
    table.issue_bill(bill("C01-B01-0101", "2026-10"))
    table.record_payment(payment("C01-B01-0101", 100, "2026-10-20 23:30", "LATE-EVENING"))
    table.record_payment(payment("C01-B01-0101", 100, "2026-10-21 00:10", "JUST-AFTER-MIDNIGHT"))
    day = table.day_activity("C01", date(2026, 10, 20))
    assert [p.reference for p in day.payments] == ["LATE-EVENING"]


def _job(table, unit_id="C01-B01-0101", today=date(2026, 10, 12)):
    current = table.get_unit(unit_id)
    decision = decide(current, today, SHANGHAI, DEFAULT_LADDER)
    return job_for(current, decision.action, today)


def _evidence(job, when="2026-10-12 09:30"):
    return evidence_for(job, render(job, job.planned_for, COMPANY), at(when))


def test_a_step_is_claimed_once_and_a_changed_unit_is_detected(table):
    table.issue_bill(bill("C01-B01-0101", "2026-10"))
    job = _job(table)
    assert table.claim(job, _evidence(job), (at("2026-10-12 09:30"),)) is ClaimResult.CLAIMED
    assert table.claim(job, _evidence(job), (at("2026-10-12 09:30"),)) is ClaimResult.ALREADY_CLAIMED
    after = table.get_unit("C01-B01-0101")
    assert job.step in after.steps_done and after.recent_contacts == (at("2026-10-12 09:30"),)

    table.issue_bill(bill("C01-B01-0102", "2026-10"))
    stale = _job(table, "C01-B01-0102")
    table.record_payment(payment("C01-B01-0102", 100, "2026-10-12 08:00"))
    assert table.claim(stale, _evidence(stale), (at("2026-10-12 09:30"),)) is ClaimResult.UNIT_CHANGED
    # the cancelled transaction wrote nothing: no evidence, no step
    assert table.get_unit("C01-B01-0102").steps_done == frozenset()
    assert table.day_activity("C01", date(2026, 10, 12)).reminders == (
        table.day_activity("C01", date(2026, 10, 12)).reminders
    )
    assert [r.unit_id for r in table.day_activity("C01", date(2026, 10, 12)).reminders] == ["C01-B01-0101"]


def test_a_released_claim_can_be_claimed_again_and_sent_evidence_keeps_its_timeline(table):
    table.issue_bill(bill("C01-B01-0101", "2026-10"))
    job = _job(table)
    assert table.claim(job, _evidence(job), (at("2026-10-12 09:30"),)) is ClaimResult.CLAIMED
    table.release(job)
    job = _job(table)
    assert table.claim(job, _evidence(job), (at("2026-10-12 09:30"),)) is ClaimResult.CLAIMED
    table.mark_sent(job, "provider-123", at("2026-10-12 09:31"))
    [reminder] = table.day_activity("C01", date(2026, 10, 12)).reminders
    assert reminder.status is ReminderStatus.SENT
    assert reminder.provider_message_id == "provider-123"
    raw = table.db.get_item(TableName=table.name, Key=to_attributes(keys.reminder_item("C01-B01-0101", job.claim_key)))
    assert [e["M"]["status"]["S"] for e in raw["Item"]["timeline"]["L"]] == ["claimed", "sent"]


def test_evidence_has_a_partition_of_its_own_and_the_unit_history_merges_it_in_time_order(table):
    # IAM's dynamodb:LeadingKeys sees only the partition key: apart from the unit's ledger, only the send role
    # may put evidence (the template), while imports and billing write bills and payments under UNIT#
    table.issue_bill(bill("C01-B01-0101", "2026-10"))
    table.record_payment(payment("C01-B01-0101", 100, "2026-10-20 10:00", "P1"))
    job = _job(table)
    assert table.claim(job, _evidence(job), (at("2026-10-12 09:30"),)) is ClaimResult.CLAIMED
    table.mark_sent(job, "provider-123", at("2026-10-12 09:31"))
    unit_pk = keys.unit_item("C01-B01-0101")["pk"]
    in_unit = table.db.get_item(TableName=table.name, Key=to_attributes({"pk": unit_pk, "sk": job.claim_key}))
    assert "Item" not in in_unit
    assert table.reminder("C01-B01-0101", job.claim_key).status is ReminderStatus.SENT
    history = table.unit_history("C01-B01-0101")
    assert [record["kind"] for record in history] == ["bill", "reminder", "payment"]
    assert {record["pk"] for record in history} == {unit_pk, keys.evidence_pk("C01-B01-0101")}


def test_units_are_found_by_owner_phone(table):
    assert table.units_by_phone("+8613812345678") == ["C01-B01-0101", "C01-B01-0102"]
    assert table.units_by_phone("+8613900000000") == []


def test_deferred_evidence_is_written_in_one_batch_when_the_block_ends(table):
    table.issue_bill(bill("C01-B01-0101", "2026-10"))
    table.issue_bill(bill("C01-B01-0102", "2026-10"))
    with table.deferred_evidence():
        for unit_id in ("C01-B01-0101", "C01-B01-0102"):
            job = _job(table, unit_id)
            assert table.claim(job, _evidence(job), (at("2026-10-12 09:30"),)) is ClaimResult.CLAIMED
            table.mark_sent(job, f"provider-{unit_id}", at("2026-10-12 09:31"))
        inside = table.day_activity("C01", date(2026, 10, 12)).reminders
        assert {r.status for r in inside} == {ReminderStatus.CLAIMED}
    after = sorted(table.day_activity("C01", date(2026, 10, 12)).reminders, key=lambda r: r.unit_id)
    assert [(r.status, r.provider_message_id) for r in after] == [
        (ReminderStatus.SENT, "provider-C01-B01-0101"),
        (ReminderStatus.SENT, "provider-C01-B01-0102"),
    ]
    raw = table.db.get_item(TableName=table.name, Key=to_attributes(keys.reminder_item("C01-B01-0102", job.claim_key)))
    assert [e["M"]["status"]["S"] for e in raw["Item"]["timeline"]["L"]] == ["claimed", "sent"]


def test_a_unit_that_settles_and_falls_behind_again_gets_the_ladder_again(table):
    table.issue_bill(bill("C01-B01-0101", "2026-09"))
    first = _job(table, today=date(2026, 9, 12))
    assert table.claim(first, _evidence(first, "2026-09-12 09:30"), ()) is ClaimResult.CLAIMED
    table.record_payment(payment("C01-B01-0101", 25000, "2026-09-20 10:00", "P-SEPT"))
    table.issue_bill(bill("C01-B01-0101", "2026-10"))
    again = _job(table, today=date(2026, 10, 12))
    assert (again.step, again.occurrence) == (first.step, first.occurrence + 1)
    assert table.claim(again, _evidence(again, "2026-10-12 09:30"), ()) is ClaimResult.CLAIMED
    assert table.claim(again, _evidence(again, "2026-10-12 09:30"), ()) is ClaimResult.ALREADY_CLAIMED


def _payment_item(table, unit_id, reference):
    key = {"pk": {"S": f"UNIT#{unit_id}"}, "sk": {"S": f"PAYMENT#{reference}"}}
    return table.db.get_item(TableName=table.name, Key=key).get("Item")


def test_a_reference_applied_to_one_unit_is_not_applied_to_another(table):
    table.issue_bill(bill("C01-B01-0101", "2026-10"))
    table.issue_bill(bill("C01-B01-0102", "2026-10"))
    assert table.record_payment(payment("C01-B01-0101", 10000, "2026-10-20 10:00", "BANK-9")) is not None
    before = [table.get_unit("C01-B01-0101"), table.get_unit("C01-B01-0102")]

    assert table.record_payment(payment("C01-B01-0102", 10000, "2026-10-21 10:00", "BANK-9")) is None
    assert [table.get_unit("C01-B01-0101"), table.get_unit("C01-B01-0102")] == before
    assert [u.balance_fen for u in before] == [15000, 25000]
    assert _payment_item(table, "C01-B01-0102", "BANK-9") is None
    assert table.day_activity("C01", date(2026, 10, 21)).payments == ()
    [totals] = table.period_totals("C01")
    assert (totals.billed_fen, totals.paid_fen) == (50000, 10000)


def test_a_payment_releases_an_already_paid_hold_and_keeps_the_others(table):
    holds = (
        Hold(kind=HoldKind.DISPUTE, reason="面积有异议"),
        Hold(kind=HoldKind.PAID_CLAIM, reason="业主称已缴费", ticket="T20261015-0000ABCD"),
        Hold(kind=HoldKind.PROMISE_TO_PAY, until=date(2026, 11, 30)),
    )
    table.put_buildings_and_units([], [unit("C01-B01-0103", holds=holds)])
    table.issue_bill(bill("C01-B01-0103", "2026-09"))
    table.issue_bill(bill("C01-B01-0103", "2026-10"))

    allocation = table.record_payment(payment("C01-B01-0103", 25000, "2026-10-20 10:00", "P-HOLD"))
    kept = (holds[0], holds[2])
    assert allocation.unit_after.holds == kept
    after = table.get_unit("C01-B01-0103")
    assert after.holds == kept and after.balance_fen == 25000  # money arrived, but not all of it


def test_a_unit_is_found_by_its_room_with_or_without_leading_zeros(table):
    table.put_buildings_and_units([], [unit("C01-B02-12a")])
    table.issue_bill(bill("C01-B01-0101", "2026-10"))
    for written in ("0101", "101", "00101"):
        found = table.unit_in_room("C01-B01", written)
        assert found is not None and found.unit_id == "C01-B01-0101"
        assert found.balance_fen == 25000  # the unit as it is now
    assert table.unit_in_room("C01-B01", "102").unit_id == "C01-B01-0102"
    assert table.unit_in_room("C01-B02", "12A").unit_id == "C01-B02-12a"
    assert table.unit_in_room("C01-B01", "1010") is None
    assert table.unit_in_room("C01-B02", "0101") is None


def test_buildings_lists_one_communitys_buildings_only(table):
    table.put_community(community("C02"))
    c01 = [
        Building(community_id="C01", building_id="C01-B01", name="1栋", floors=18),
        Building(community_id="C01", building_id="C01-B02", name="2号楼", floors=11),
    ]
    c02 = [Building(community_id="C02", building_id="C02-B01", name="1栋", floors=6)]
    table.put_buildings_and_units([*c01, *c02], [unit("C02-B01-0101")])
    table.issue_bill(bill("C01-B01-0101", "2026-10"))  # a period total in the same partition as the buildings

    assert sorted(table.buildings("C01"), key=lambda b: b.building_id) == c01
    assert table.buildings("C02") == c02
    assert table.buildings("C03") == []


def test_a_payment_given_a_stale_unit_reads_it_again_and_applies_once(table):
    table.issue_bill(bill("C01-B01-0101", "2026-09"))
    stale = table.get_unit("C01-B01-0101")
    table.issue_bill(bill("C01-B01-0101", "2026-10"))  # the unit changes after the caller read it

    paid = payment("C01-B01-0101", 30000, "2026-10-20 10:00", "P-STALE")
    allocation = table.record_payment(paid, stale)
    assert allocation is not None and allocation.by_period == {"2026-09": 25000, "2026-10": 5000}  # the fresh unit
    after = table.get_unit("C01-B01-0101")
    assert (after.balance_fen, after.version) == (20000, stale.version + 2)

    assert table.record_payment(paid, stale) is None
    assert table.get_unit("C01-B01-0101") == after
    assert {t.period: t.paid_fen for t in table.period_totals("C01")} == {"2026-09": 25000, "2026-10": 5000}
    assert [p.reference for p in table.day_activity("C01", date(2026, 10, 20)).payments] == ["P-STALE"]


def test_a_refund_already_applied_is_not_applied_again(table):
    table.issue_bill(bill("C01-B01-0101", "2026-10"))
    table.record_payment(payment("C01-B01-0101", 25000, "2026-10-20 10:00", "P1"))
    refund = payment("C01-B01-0101", -25000, "2026-10-21 10:00", "R1")
    assert table.record_payment(refund) is not None
    after = table.get_unit("C01-B01-0101")
    assert after.balance_fen == 25000

    assert table.record_payment(refund) is None
    assert table.get_unit("C01-B01-0101") == after


def _sent(table, message_id="provider-1"):
    table.issue_bill(bill("C01-B01-0101", "2026-10"))
    job = _job(table)
    assert table.claim(job, _evidence(job), (at("2026-10-12 09:30"),)) is ClaimResult.CLAIMED
    table.mark_sent(job, message_id, at("2026-10-12 09:31"))
    return job


def _receipt(job, kind, event_id, when="2026-10-12 09:32"):
    status = {"delivered": ReminderStatus.DELIVERED, "failed": ReminderStatus.FAILED}[kind]
    return DeliveryEvent(Channel.SMS, "provider-1", event_id, job.unit_id, job.claim_key, status, kind, at(when))


def _timeline(table, job):
    raw = table.db.get_item(TableName=table.name, Key=to_attributes(keys.reminder_item(job.unit_id, job.claim_key)))
    return raw["Item"]["status"]["S"], [
        (e["M"]["status"]["S"], "conflict" in e["M"] or "kept" in e["M"]) for e in raw["Item"]["timeline"]["L"]
    ]


def test_a_receipt_delivered_twice_is_recorded_once(table):
    job = _sent(table)
    delivered = _receipt(job, "delivered", "sms:provider-1:TEXT_DELIVERED")
    assert table.record_delivery(delivered) is Recorded.RECORDED
    assert table.record_delivery(delivered) is Recorded.DUPLICATE
    assert _timeline(table, job) == ("delivered", [("claimed", False), ("sent", False), ("delivered", False)])


def test_a_late_delivered_receipt_does_not_undo_a_failure_and_the_conflict_is_kept(table):
    job = _sent(table)
    assert table.record_delivery(_receipt(job, "failed", "sms:provider-1:TEXT_INVALID")) is Recorded.RECORDED
    late = _receipt(job, "delivered", "sms:provider-1:TEXT_DELIVERED", "2026-10-12 10:00")
    assert table.record_delivery(late) is Recorded.CONFLICT
    assert table.record_delivery(late) is Recorded.DUPLICATE
    assert _timeline(table, job) == (
        "failed",
        [("claimed", False), ("sent", False), ("failed", False), ("delivered", True)],
    )


def test_a_bounce_after_a_delivery_moves_the_reminder_on(table):
    job = _sent(table)
    assert table.record_delivery(_receipt(job, "delivered", "ses:provider-1:Delivery")) is Recorded.RECORDED
    assert table.record_delivery(_receipt(job, "failed", "ses:bounce:feedback-1")) is Recorded.RECORDED
    assert _timeline(table, job)[0] == "failed"


def test_an_email_reminder_is_found_again_by_its_provider_message_id(table):
    job = _sent(table, "ses-message-1")
    assert table.reminder_of_message("ses-message-1") == (job.unit_id, job.claim_key)
    assert table.reminder_of_message("someone-elses") is None
    unknown = DeliveryEvent(Channel.SMS, "x", "x", "C01-B01-0102", "REMINDER#none#1", ReminderStatus.DELIVERED, "",
                            at("2026-10-12 09:32"))  # fmt: skip
    assert table.record_delivery(unknown) is Recorded.UNKNOWN_REMINDER


def test_a_bounced_address_is_switched_off_whatever_the_case_of_its_domain_and_only_once(table):
    assert table.disable_addresses("C01-B01-0101", Channel.EMAIL, ("Wang@Example.NET",), "bounce") is Disabled.DISABLED
    assert table.get_unit("C01-B01-0101").owners[0].email_disabled == "bounce"
    assert table.get_unit("C01-B01-0101").owners[0].email == "wang@example.net"  # kept as the owner gave it
    assert table.disable_addresses("C01-B01-0101", Channel.EMAIL, ("wang@example.net",), "again") is Disabled.ALREADY
    assert table.get_unit("C01-B01-0101").owners[0].email_disabled == "bounce"
    assert table.disable_addresses("C01-B01-0101", Channel.EMAIL, ("li@example.net",), "x") is Disabled.NOT_ON_UNIT
    assert table.disable_addresses("C09-B01-0101", Channel.EMAIL, ("wang@example.net",), "x") is Disabled.UNKNOWN_UNIT
    assert table.disable_addresses("C01-B01-0102", Channel.SMS, ("+8613812345678",), "x") is Disabled.DISABLED


# five years of monthly bills: more periods than one DynamoDB transaction (at most 100 actions) can settle
FIVE_YEARS = [f"{2021 + m // 12}-{m % 12 + 1:02d}" for m in range(60)]


def _owing_five_years(table):
    for period in FIVE_YEARS:
        assert table.issue_bill(bill("C01-B01-0101", period))
    return payment("C01-B01-0101", 25000 * len(FIVE_YEARS), "2026-10-20 10:00", "BANK-60")


def _settled(table):
    paid = {b.period: b.paid_fen for b in table.paid_bills("C01-B01-0101")}
    totals = {t.period: t.paid_fen for t in table.period_totals("C01")}
    return paid, totals


def test_a_payment_settling_more_periods_than_a_transaction_holds_settles_every_one(table):
    allocation = table.record_payment(_owing_five_years(table))
    assert allocation is not None and len(allocation.by_period) == 60
    assert _settled(table) == ({p: 25000 for p in FIVE_YEARS}, {p: 25000 for p in FIVE_YEARS})
    assert table.get_unit("C01-B01-0101").balance_fen == 0


def test_a_large_payment_cut_short_is_finished_when_it_comes_again_and_each_period_is_settled_once(table):
    arrears = _owing_five_years(table)

    def crash(*_args):
        raise ConnectionError("the function timed out after the payment's own transaction")

    table._settle_pending = crash
    with pytest.raises(ConnectionError):
        table.record_payment(arrears)
    del table._settle_pending
    paid, _ = _settled(table)
    assert sum(1 for amount in paid.values() if amount) < 60  # the payment's own transaction could not hold all
    assert table.record_payment(arrears) is None  # the same bank serial again: a duplicate, that finishes the rest
    assert _settled(table) == ({p: 25000 for p in FIVE_YEARS}, {p: 25000 for p in FIVE_YEARS})
    assert table.record_payment(arrears) is None
    assert _settled(table)[0] == {p: 25000 for p in FIVE_YEARS}


def test_saving_a_collectors_details_keeps_the_open_task_load_and_a_removed_phone_is_gone(table):
    from propfee.domain.models import Collector

    table.save_collector(Collector(collector_id="K1", name="张伟", communities=("C01",), phone="13900001111"))
    table.db.update_item(  # the send function gives K1 three tasks meanwhile
        TableName=table.name,
        Key=to_attributes(keys.collector_item("K1")),
        UpdateExpression="ADD open_tasks :n",
        ExpressionAttributeValues=to_attributes({":n": 3}),
    )
    table.save_collector(Collector(collector_id="K1", name="张伟", communities=("C01",), email="zw@staff.example.com"))
    [k1] = table.collectors()
    assert (k1.open_tasks, k1.phone, k1.email) == (3, None, "zw@staff.example.com")


def test_a_digest_is_claimed_once_a_day_and_a_released_claim_can_be_claimed_again(table):
    day = date(2026, 11, 11)
    assert table.claim_digest("K1", day, at("2026-11-11 10:30"))
    assert not table.claim_digest("K1", day, at("2026-11-11 10:31"))
    assert table.claim_digest("K1", date(2026, 11, 12), at("2026-11-12 10:30"))
    table.release_digest("K1", day)
    assert table.claim_digest("K1", day, at("2026-11-11 10:32"))
    table.digest_sent("K1", day, "m-1", 4, at("2026-11-11 10:32"))
    item = table.db.get_item(TableName=table.name, Key=to_attributes(keys.digest_item(day, "K1")))["Item"]
    assert (item["status"]["S"], item["provider_message_id"]["S"], item["tasks"]["N"]) == ("sent", "m-1", "4")


def test_each_new_ticket_is_answered_once_and_other_answers_wait_for_the_period():
    with mock_aws():
        client = boto3.client("dynamodb")
        store = FeedbackTable(create_table_from_template(client), SHANGHAI, client)
        hour, sender, now = timedelta(hours=1), "+8613812345678", at("2026-11-11 09:00")

        assert store.claim_ack(sender, now, hour, "T-leak")
        # a different complaint 35 minutes later is answered; the same ticket never twice
        assert store.claim_ack(sender, now + timedelta(minutes=35), hour, "T-lift")
        assert not store.claim_ack(sender, now + timedelta(hours=5), hour, "T-leak")
        # an answer that opens no ticket counts the hour from the last answer of any kind
        assert not store.claim_ack(sender, now + timedelta(minutes=50), hour)
        assert store.claim_ack(sender, now + timedelta(minutes=35 + 61), hour)


def test_the_hourly_run_finds_the_tickets_with_waiting_answers_by_their_markers_alone(table):
    from tests.support.report_day import ticket

    table = FeedbackTable(table.name, SHANGHAI, table.db)
    waiting, other = (
        ticket(n, "C01", "engineering", "complaint", "2026-11-11T10:00", "2026-11-12T10:00") for n in (1, 2)
    )
    table.batch_put([table._ticket_item(t) for t in (waiting, other)])
    assert table.tickets_with_queued_replies() == []
    queued = waiting.model_copy(update={"queued_replies": ("明天上午师傅上门",)})
    assert table.save_ticket(waiting, queued, [])
    assert table.tickets_with_queued_replies() == [queued]  # the other open ticket is never read
    sent = queued.model_copy(update={"queued_replies": ()})
    assert table.save_ticket(queued, sent, [])
    assert table.tickets_with_queued_replies() == []

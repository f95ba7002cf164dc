"""The daily report's own memory in DynamoDB (moto, on the table the template declares): a community's snapshot of
a day comes back exactly, a rerun replaces it, a range read returns that community's days in order; and a task a
collector closed is in the activity of its local done day, for the collectors' figures."""

from datetime import UTC, date, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from propfee.aws.dynamo import PropfeeTable
from propfee.collection.messages import RenderedMessage
from propfee.collection.sending import evidence_for
from propfee.collection.tasks import TASK_DEADLINES, brief, close_task, task_id_for
from propfee.domain.day_snapshot import CollectorDay, DaySnapshot, StepEffect
from propfee.domain.models import Channel, Collector, ReminderStatus, SendJob, Task, TaskOutcome
from propfee.domain.ports import ClaimResult
from propfee.local.sandbox import moto_patches
from propfee.reports.history import day_snapshot
from tests.support import SHANGHAI, at, community, create_table_from_template, unit

DAY = date(2026, 11, 5)


@pytest.fixture(params=["moto as shipped", "sandbox transaction patch"])
def table(request):
    with mock_aws():
        if request.param == "sandbox transaction patch":
            moto_patches.install()
        client = boto3.client("dynamodb")
        name = create_table_from_template(client)
        store = PropfeeTable(name, SHANGHAI, client)
        store.put_community(community())
        store.put_buildings_and_units([], [unit(f"C01-B01-01{n:02d}") for n in range(1, 5)])
        store.put_collectors([Collector(collector_id="K1", name="张伟", communities=("C01",))])
        yield store


def snapshot(day: date, community_id: str = "C01", **changes) -> DaySnapshot:
    fields = {
        "community_id": community_id,
        "day": day,
        "payments": 3,
        "collected_fen": -1_250 + day.day,  # net of a refund: may be negative
        "period": f"{day:%Y-%m}",
        "billed_fen": 1_234_567,
        "paid_fen": 987_654,
        "back_billed_fen": 4_000_000,
        "back_paid_fen": 1_000_001,
        "paid_by_period": {"2025-12": 1_000_001, "2026-10": -5, f"{day:%Y-%m}": 987_654},
        "cohort_day": day - timedelta(days=7),
        "effectiveness": {
            "sms_d1": StepEffect(reminded=17, paid=5),
            "notice_d7-sms": StepEffect(reminded=3, paid=0),
            "call_d15": StepEffect(reminded=1, paid=1),
        },
        "collectors": {
            "K1": CollectorDay(done={"promised": 2, "refused": 1}, promised_fen=52_088),
            "PM": CollectorDay(done={"not_referred": 1}),
        },
    }
    return DaySnapshot(**{**fields, **changes})


def test_a_snapshot_comes_back_exactly(table):
    kept = snapshot(DAY)

    table.keep_report_snapshot(kept)

    [read] = table.report_snapshots("C01", DAY, DAY)
    assert read == kept
    assert read.model_dump() == kept.model_dump()  # every field, the nested ones too
    assert read.collection_rate == kept.collection_rate and read.back_arrears_rate == kept.back_arrears_rate


def test_a_rerun_of_the_same_day_keeps_the_snapshot_its_first_report_took(table):
    first = snapshot(DAY)
    assert table.keep_report_snapshot(first) == first
    rerun = snapshot(DAY, payments=4, collected_fen=99_000, effectiveness={}, collectors={})

    assert table.keep_report_snapshot(rerun) == first  # the rerun is given the day as it was first reported

    assert table.report_snapshots("C01", DAY - timedelta(days=40), DAY + timedelta(days=40)) == [first]


def test_the_snapshot_before_a_day_is_the_latest_earlier_one_however_old(table):
    for day in (DAY - timedelta(days=90), DAY - timedelta(days=45), DAY, DAY + timedelta(days=1)):
        table.keep_report_snapshot(snapshot(day))
    table.keep_report_snapshot(snapshot(DAY - timedelta(days=10), "C02"))  # another community's

    assert table.report_snapshot_before("C01", DAY).day == DAY - timedelta(days=45)
    assert table.report_snapshot_before("C01", DAY - timedelta(days=90)) is None
    assert table.report_snapshot_before("C02", DAY - timedelta(days=10)) is None


def test_a_range_read_returns_that_communitys_days_in_the_range_both_ends_included_in_order(table):
    days = [DAY + timedelta(days=n) for n in range(-10, 11)]
    for day in reversed(days):  # written newest first
        table.keep_report_snapshot(snapshot(day))
        table.keep_report_snapshot(snapshot(day, "C011"))  # an id that begins like C01
        table.keep_report_snapshot(snapshot(day, "C0", payments=0))  # and one that C01 begins like
    first, last = DAY - timedelta(days=3), DAY + timedelta(days=4)

    read = table.report_snapshots("C01", first, last)

    assert [s.day for s in read] == [first + timedelta(days=n) for n in range(8)]
    assert {s.community_id for s in read} == {"C01"}
    assert read == [snapshot(day) for day in days if first <= day <= last]
    assert table.report_snapshots("C01", DAY, DAY) == [snapshot(DAY)]
    assert table.report_snapshots("C02", first, last) == []
    assert table.report_snapshots("C01", date(2027, 1, 1), date(2027, 1, 31)) == []
    # a month boundary and a year boundary in the range keep the date order
    for day in (date(2026, 12, 31), date(2027, 1, 1), date(2026, 12, 1)):
        table.keep_report_snapshot(snapshot(day))
    assert [s.day for s in table.report_snapshots("C01", date(2026, 11, 30), date(2027, 1, 1))] == [
        date(2026, 12, 1),
        date(2026, 12, 31),
        date(2027, 1, 1),
    ]


# ---------------------------------------------------------------- tasks in the day's activity


def _assign_call(table: PropfeeTable, unit_id: str, now: datetime) -> Task:
    """A call task claimed as the send flow claims it: the evidence record and the open task in one write."""
    current = table.get_unit(unit_id)
    job = SendJob(
        unit_id=unit_id,
        community_id="C01",
        step="call_d15",
        channel=Channel.CALL,
        destination="+8613812345678",
        language="zh-CN",
        template="",
        unit_label=current.label,
        balance_fen=25_000,
        overdue_since=date(2026, 10, 10),
        planned_for=now.astimezone(SHANGHAI).date(),
        unit_version=current.version,
        building_id=current.building_id,
    )
    task = Task(
        task_id=task_id_for(unit_id, job.step, job.occurrence),
        unit_id=unit_id,
        community_id="C01",
        kind=Channel.CALL,
        step=job.step,
        collector_id="K1",
        created_at=now,
        due_by=now + TASK_DEADLINES[Channel.CALL],
        unit_label=job.unit_label,
        call_number=job.destination,
        balance_fen=job.balance_fen,
        overdue_since=job.overdue_since,
    )
    message = RenderedMessage(subject=None, body=brief(task), template_version="task")
    evidence = evidence_for(job, message, now).model_copy(
        update={"status": ReminderStatus.ASSIGNED, "provider_message_id": task.task_id}
    )
    assert table.claim(job, evidence, (), task) is ClaimResult.CLAIMED
    return task


def test_a_closed_task_is_in_the_activity_of_its_local_done_day_and_an_open_one_is_not(table):
    late = _assign_call(table, "C01-B01-0101", at("2026-11-04 10:00"))
    after_midnight = _assign_call(table, "C01-B01-0102", at("2026-11-04 10:05"))
    still_open = _assign_call(table, "C01-B01-0103", at("2026-11-05 09:00"))

    # 23:30 in Shanghai is 15:30 UTC the same day; 00:30 in Shanghai is still the 5th in UTC
    late_done_at = at("2026-11-05 23:30")
    assert late_done_at.astimezone(UTC) == datetime(2026, 11, 5, 15, 30, tzinfo=UTC)
    close_task(table, late.task_id, TaskOutcome.PROMISED, date(2026, 11, 20), "", late_done_at, DAY)
    next_done_at = at("2026-11-06 00:30")
    assert next_done_at.astimezone(UTC).date() == DAY
    close_task(table, after_midnight.task_id, TaskOutcome.REFUSED, None, "", next_done_at, DAY + timedelta(days=1))

    fifth = table.day_activity("C01", DAY)
    sixth = table.day_activity("C01", DAY + timedelta(days=1))

    assert [t.task_id for t in fifth.tasks_done] == [late.task_id]
    [done] = fifth.tasks_done
    assert (done.status, done.outcome, done.promised_date) == ("done", TaskOutcome.PROMISED, date(2026, 11, 20))
    assert done.done_at == late_done_at and done.kind is Channel.CALL and done.balance_fen == 25_000
    assert [t.task_id for t in sixth.tasks_done] == [after_midnight.task_id]
    assert sixth.tasks_done[0].outcome is TaskOutcome.REFUSED
    every_day = [table.day_activity("C01", DAY + timedelta(days=n)) for n in range(-2, 3)]
    assert still_open.task_id not in {t.task_id for a in every_day for t in a.tasks_done}
    # the open task's claim is evidence of its day, not a task done
    assert still_open.task_id in {r.provider_message_id for r in fifth.reminders}
    # what the report keeps of the 5th: K1 closed one task, with a promise of its balance
    kept = day_snapshot("C01", DAY, fifth, table.period_totals("C01"), [], [])
    assert kept.collectors == {"K1": CollectorDay(done={"promised": 1}, promised_fen=25_000)}
    assert {t.task_id for t in table.tasks("K1", "open")} == {still_open.task_id}

"""What the daily report keeps from one day to the next and what a manager reads from it: reminder effectiveness,
the 30-day trend, the collectors' day and progress against phased targets, each checked against a recount from the
raw records (reminders, payments allocated by the real ledger, tasks), never from the figures under test."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from propfee.accounts import ledger
from propfee.domain.activity import DayActivity
from propfee.domain.models import (
    Bill,
    Channel,
    Collector,
    Community,
    Payment,
    PeriodTotal,
    Reminder,
    ReminderStatus,
    Task,
    TaskOutcome,
    Unit,
)
from propfee.reports.history import (
    DaySnapshot,
    Phase,
    StepEffect,
    Targets,
    day_snapshot,
    effectiveness,
    phase_progress,
    step_effectiveness,
    trend,
)
from propfee.reports.history_tables import collectors_table, effectiveness_table, targets_table, trend_table
from propfee.reports.publishing import publish_daily_report
from propfee.reports.summary import CommunityDay, CompanyDay, build_summary
from propfee.rules import load_rules
from tests import support
from tests.support.builders import PROPERTY, SHANGHAI

C = "C01"
REACHED = {ReminderStatus.SENT, ReminderStatus.DELIVERED, ReminderStatus.ASSIGNED}  # as a manager reads "reached"
WEEK = timedelta(days=7)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def unit_id(n: int, community_id: str = C) -> str:
    return f"{community_id}-B01-{n:04d}"


def reminder(
    n: int,
    step: str,
    status: ReminderStatus,
    claimed: datetime,
    sent: datetime | None = None,
    occurrence: int = 1,
) -> Reminder:
    channel = Channel.CALL if status is ReminderStatus.ASSIGNED else Channel.SMS
    return Reminder(
        unit_id=unit_id(n),
        community_id=C,
        step=step,
        occurrence=occurrence,
        channel=channel,
        destination="+8613812345678",
        template="reminder_friendly",
        template_version="abcdef123456",
        content_sha256="0" * 64,
        balance_fen=21_044,
        status=status,
        claimed_at=claimed,
        sent_at=sent,
    )


def pay(n: int, amount_fen: int, when: datetime, reference: str | None = None) -> Payment:
    return Payment(
        reference=reference or f"PAY-{n}-{when.isoformat()}-{amount_fen}",
        unit_id=unit_id(n),
        community_id=C,
        amount_fen=amount_fen,
        paid_at=when,
    )


def task(n: int, collector_id: str, outcome: TaskOutcome | None, done_at: datetime | None, balance: int = 20_000):
    created = (done_at or local("2025-03-01 09:00")) - timedelta(days=1)
    return Task(
        task_id=f"{unit_id(n)}.call_d15.{n}.{collector_id}.{done_at}",
        unit_id=unit_id(n),
        community_id=C,
        kind=Channel.CALL,
        step="call_d15",
        collector_id=collector_id,
        status="done" if outcome else "open",
        created_at=created,
        due_by=created + timedelta(days=2),
        unit_label=f"B01-{n:04d}",
        balance_fen=balance,
        outcome=outcome,
        promised_date=done_at.date() + timedelta(days=5) if outcome is TaskOutcome.PROMISED and done_at else None,
        done_at=done_at,
    )


def figures(effect: dict[str, StepEffect]) -> dict[str, tuple[int, int]]:
    return {step: (e.reminded, e.paid) for step, e in effect.items()}


# ================================================================ reminder effectiveness
COHORT_DAY = date(2025, 3, 13)
CONTACT = local("2025-03-13 09:30")


def test_a_payment_at_exactly_seven_days_after_the_contact_counts_and_one_second_later_does_not():
    cohort = [
        reminder(1, "sms_d1", ReminderStatus.SENT, CONTACT - timedelta(seconds=5), CONTACT),
        reminder(2, "sms_d1", ReminderStatus.SENT, CONTACT - timedelta(seconds=5), CONTACT),
    ]
    payments = [pay(1, 21_044, CONTACT + WEEK), pay(2, 21_044, CONTACT + WEEK + timedelta(seconds=1))]

    assert figures(step_effectiveness(cohort, payments)) == {"sms_d1": (2, 1)}


def test_a_payment_before_the_contact_or_at_its_very_moment_is_not_the_reminders_doing():
    cohort = [
        reminder(1, "sms_d1", ReminderStatus.SENT, local("2025-03-13 09:29"), CONTACT),
        reminder(2, "sms_d1", ReminderStatus.SENT, local("2025-03-13 09:29"), CONTACT),
    ]
    # unit 1 paid the same morning, an hour before the message; unit 2 in the very second it went out
    payments = [pay(1, 21_044, local("2025-03-13 08:30")), pay(2, 21_044, CONTACT)]

    assert figures(step_effectiveness(cohort, payments)) == {"sms_d1": (2, 0)}


def test_a_refund_is_not_a_payment():
    cohort = [reminder(1, "sms_d1", ReminderStatus.SENT, CONTACT, CONTACT)]

    assert figures(step_effectiveness(cohort, [pay(1, -21_044, local("2025-03-14 10:00"))])) == {"sms_d1": (1, 0)}


def test_failed_and_unconfirmed_reminders_did_not_reach_the_owner():
    cohort = [
        reminder(1, "sms_d1", ReminderStatus.FAILED, CONTACT),
        reminder(2, "sms_d1", ReminderStatus.CLAIMED, CONTACT),  # the provider's word never came
        reminder(3, "sms_d1", ReminderStatus.DELIVERED, CONTACT, CONTACT),
        reminder(4, "call_d15", ReminderStatus.ASSIGNED, CONTACT),  # a call task: its contact is the assignment
    ]
    payments = [pay(n, 21_044, local("2025-03-14 10:00")) for n in (1, 2, 3, 4)]

    assert figures(step_effectiveness(cohort, payments)) == {"call_d15": (1, 1), "sms_d1": (1, 1)}
    assert figures(step_effectiveness(cohort[:2], payments)) == {}


def test_a_unit_reached_twice_by_the_same_step_counts_once_from_its_first_contact():
    first, second = local("2025-03-13 09:30"), local("2025-03-13 15:00")
    cohort = [
        # unit 1 paid between the two contacts: after the step's first contact, it counts
        reminder(1, "sms_d1", ReminderStatus.SENT, first, first),
        reminder(1, "sms_d1", ReminderStatus.SENT, second, second, occurrence=2),
        # unit 2 paid 7 days after the second contact but more than 7 days after the first: it does not
        reminder(2, "sms_d1", ReminderStatus.DELIVERED, second, second, occurrence=2),  # listed first on purpose
        reminder(2, "sms_d1", ReminderStatus.SENT, first, first),
    ]
    payments = [pay(1, 21_044, local("2025-03-13 12:00")), pay(2, 21_044, local("2025-03-20 12:00"))]

    assert figures(step_effectiveness(cohort, payments)) == {"sms_d1": (2, 1)}


def test_a_unit_reached_by_two_steps_counts_for_both():
    cohort = [
        reminder(1, "notice_d7", ReminderStatus.SENT, CONTACT, CONTACT),
        reminder(1, "notice_d7-sms", ReminderStatus.DELIVERED, CONTACT, CONTACT + timedelta(minutes=1)),
        reminder(2, "notice_d7", ReminderStatus.SENT, CONTACT, CONTACT),
    ]

    effect = step_effectiveness(cohort, [pay(1, 10_000, local("2025-03-15 20:00"))])

    assert figures(effect) == {"notice_d7": (2, 1), "notice_d7-sms": (1, 1)}


# ---------------------------------------------------------------- the property: a brute-force recount

STEPS = ("sms_d1", "notice_d7", "call_d15")
BOUNDARIES = (-1, 0, 1, 7 * 86_400 - 1, 7 * 86_400, 7 * 86_400 + 1)  # seconds from a contact


def recount(cohort: list[Reminder], payments: list[Payment]) -> dict[str, tuple[int, int]]:
    """Per step: the distinct units with a reached reminder, and those with a payment in (first contact,
    first contact + 7 days]; done the slow way, one step and one unit at a time."""
    result = {}
    for step in sorted({r.step for r in cohort}):
        reached = [r for r in cohort if r.step == step and r.status in REACHED]
        units = sorted({r.unit_id for r in reached})
        paid = 0
        for unit in units:
            contact = min(r.sent_at if r.sent_at is not None else r.claimed_at for r in reached if r.unit_id == unit)
            if any(p.unit_id == unit and not p.is_refund and contact < p.paid_at <= contact + WEEK for p in payments):
                paid += 1
        if units:
            result[step] = (len(units), paid)
    return result


@st.composite
def cohorts(draw: Any) -> tuple[list[Reminder], list[Payment]]:
    cohort = []
    for _ in range(draw(st.integers(0, 12))):
        claimed = datetime.combine(COHORT_DAY, datetime.min.time(), SHANGHAI) + timedelta(
            seconds=draw(st.integers(8 * 3600, 21 * 3600))
        )
        delay = draw(st.none() | st.integers(0, 300))
        status = draw(st.sampled_from(list(ReminderStatus)))
        cohort.append(
            reminder(
                draw(st.integers(1, 5)),
                draw(st.sampled_from(STEPS)),
                status,
                claimed,
                None if delay is None else claimed + timedelta(seconds=delay),
                occurrence=draw(st.integers(1, 2)),
            )
        )
    payments = []
    for k in range(draw(st.integers(0, 12))):
        if cohort and draw(st.booleans()):  # right at the edges of some contact's window
            near = draw(st.sampled_from(cohort))
            n = int(near.unit_id[-4:])
            when = (near.sent_at or near.claimed_at) + timedelta(seconds=draw(st.sampled_from(BOUNDARIES)))
        else:
            n = draw(st.integers(1, 5))
            when = datetime.combine(COHORT_DAY, datetime.min.time(), SHANGHAI) + timedelta(
                seconds=draw(st.integers(-86_400, 9 * 86_400))
            )
        amount = draw(st.sampled_from([-21_044, -1, 1, 5_000, 21_044]))
        payments.append(pay(n, amount, when, reference=f"P{k}"))
    return cohort, payments


@PROPERTY
@given(cohorts())
def test_effectiveness_equals_a_brute_force_recount_and_never_more_paid_than_reached(drawn):
    cohort, payments = drawn

    effect = step_effectiveness(cohort, payments)

    assert all(e.paid <= e.reminded for e in effect.values())
    assert figures(effect) == recount(cohort, payments)
    assert step_effectiveness(reversed(cohort), reversed(payments)) == effect  # the order of records is no matter
    snapshot = day_snapshot(C, COHORT_DAY + WEEK, DayActivity(), [], cohort, payments)
    assert snapshot.cohort_day == COHORT_DAY and snapshot.effectiveness == effect


def _effect_snapshot(day: date, effect: dict[str, tuple[int, int]]) -> DaySnapshot:
    return DaySnapshot(
        community_id=C,
        day=day,
        period=f"{day:%Y-%m}",
        cohort_day=day - WEEK,
        effectiveness={step: StepEffect(reminded=r, paid=p) for step, (r, p) in effect.items()},
    )


def test_the_effectiveness_table_shows_the_weeks_cohort_and_sums_the_cohorts_of_the_last_30_days():
    day = date(2025, 4, 30)
    kept = {
        day - timedelta(days=30): {"sms_d1": (100, 100)},  # the 31st day back: out of the window
        day - timedelta(days=29): {"sms_d1": (10, 4)},
        day - timedelta(days=3): {"sms_d1": (5, 1), "call_d15": (2, 2)},
        day: {"sms_d1": (8, 3)},
        day + timedelta(days=1): {"sms_d1": (100, 0)},  # a later report (a rerun of an old day sees it)
    }
    snapshots = [_effect_snapshot(d, e) for d, e in kept.items()]

    rows = {row["step"]: row for row in effectiveness(snapshots, day)}

    assert rows["sms_d1"] == {
        "step": "sms_d1",
        "cohort_day": "2025-04-23",
        "cohort_reminded": 8,
        "cohort_paid": 3,
        "cohort_rate": 0.375,
        "reminded_30d": 10 + 5 + 8,
        "paid_30d": 4 + 1 + 3,
        "rate_30d": round(8 / 23, 4),
    }
    # no one reached by the call step in this week's cohort, but in the month's
    assert (rows["call_d15"]["cohort_reminded"], rows["call_d15"]["cohort_rate"]) == (0, None)
    assert (rows["call_d15"]["reminded_30d"], rows["call_d15"]["rate_30d"]) == (2, 1.0)
    # the table: the community's rows, then the company's (here the same figures)
    summary = build_summary(day, local("2025-05-01 00:15"), [_entry(C, tuple(snapshots))])
    table = effectiveness_table(summary)
    assert [(r[0], r[2], *r[3:]) for r in table.rows] == [
        (C, "call_d15", 0, 0, None, 2, 2, 1.0),
        (C, "sms_d1", 8, 3, 0.375, 23, 8, round(8 / 23, 4)),
        ("", "call_d15", 0, 0, None, 2, 2, 1.0),
        ("", "sms_d1", 8, 3, 0.375, 23, 8, round(8 / 23, 4)),
    ]


# ================================================================ the 30-day trend
DAY = date(2025, 4, 30)


def _periods(billed: int, paid: int, back_billed: int = 0, back_paid: int = 0, day: date = DAY) -> list[PeriodTotal]:
    current = PeriodTotal(community_id=C, period=f"{day:%Y-%m}", billed_fen=billed, paid_fen=paid, bills=3)
    back = PeriodTotal(community_id=C, period="2024-12", billed_fen=back_billed, paid_fen=back_paid, bills=1)
    return [current, back]


def _day(day: date, billed: int, paid: int, community_id: str = C, collected: tuple[int, ...] = ()) -> DaySnapshot:
    payments = tuple(
        pay(n, amount, datetime.combine(day, datetime.min.time(), SHANGHAI))
        for n, amount in enumerate(collected, start=1)
    )
    periods = [p.model_copy(update={"community_id": community_id}) for p in _periods(billed, paid, 50_000, 10_000, day)]
    return day_snapshot(community_id, day, DayActivity(payments=payments), periods, [], [])


def test_the_trend_shows_the_30_days_ending_on_the_day_in_date_order_without_the_missing_days():
    missed = {DAY - timedelta(days=4), DAY - timedelta(days=17)}
    days = [DAY + timedelta(days=k) for k in range(-40, 3) if DAY + timedelta(days=k) not in missed]
    snapshots = [_day(d, 90_000, 1_000 * (d.day % 7), collected=(d.day * 100,)) for d in days]
    snapshots.reverse()  # as a store may return them

    rows = trend(snapshots, DAY)

    expected_days = [d for d in sorted(days) if DAY - timedelta(days=29) <= d <= DAY]
    assert [r["date"] for r in rows] == [d.isoformat() for d in expected_days]
    assert len(rows) == 30 - len(missed)
    by_day = {s.day.isoformat(): s for s in snapshots}
    for row in rows:
        s = by_day[row["date"]]
        assert (row["payments"], row["collected_fen"]) == (1, int(row["date"][-2:]) * 100)
        assert (row["billed_fen"], row["paid_fen"]) == (90_000, s.paid_fen)
        assert row["collection_rate"] == round(s.paid_fen / 90_000, 4)
        assert (row["back_billed_fen"], row["back_paid_fen"], row["back_arrears_rate"]) == (50_000, 10_000, 0.2)
        assert row["period"] == row["date"][:7]


def _entry(community_id: str, history: tuple[DaySnapshot, ...], **changes: Any) -> CommunityDay:
    return CommunityDay(
        Community(community_id=community_id, name=f"小区{community_id}"),
        DayActivity(),
        [],
        history=history,
        **changes,
    )


def test_the_company_trend_adds_the_communities_up_and_takes_the_rate_of_the_sums():
    yesterday = DAY - timedelta(days=1)
    c01 = (_day(yesterday, 100_000, 90_000, "C01", (500, 700)), _day(DAY, 100_000, 95_000, "C01", (5_000,)))
    c02 = (_day(DAY, 10_000, 1_000, "C02", (-300,)),)  # C02's first report: one day of trend

    summary = build_summary(DAY, local("2025-05-01 00:15"), [_entry("C01", c01), _entry("C02", c02)])

    rows = summary["totals"]["trend"]
    assert [r["date"] for r in rows] == [yesterday.isoformat(), DAY.isoformat()]
    assert rows[0]["communities"] == 1 and rows[0]["collection_rate"] == 0.9
    today = rows[1]
    assert today["communities"] == 2
    assert (today["payments"], today["collected_fen"]) == (2, 5_000 - 300)
    assert (today["billed_fen"], today["paid_fen"]) == (110_000, 96_000)
    assert today["collection_rate"] == round(96_000 / 110_000, 4) == 0.8727  # not (0.95 + 0.1) / 2
    assert (today["back_billed_fen"], today["back_paid_fen"], today["back_arrears_rate"]) == (100_000, 20_000, 0.2)
    # the table: each community's rows, then the company's
    table = trend_table(summary)
    assert [(r[0], r[2], r[-2]) for r in table.rows] == [
        ("C01", "2025-04-29", 0.9),
        ("C01", "2025-04-30", 0.95),
        ("C02", "2025-04-30", 0.1),
        ("", "2025-04-29", 0.9),
        ("", "2025-04-30", 0.8727),
    ]
    assert [r[4] for r in table.rows if r[2] == "2025-04-30"] == [50.0, -3.0, 47.0]  # collected, in yuan


# ================================================================ the collectors' day
def test_the_collectors_day_counts_tasks_closed_by_outcome_promised_balances_and_open_tasks():
    generated_at = local("2025-05-01 00:15")
    done_today = [
        task(1, "K1", TaskOutcome.PROMISED, local("2025-04-30 10:00"), balance=30_000),
        task(2, "K1", TaskOutcome.PROMISED, local("2025-04-30 23:30"), balance=12_345),
        task(3, "K1", TaskOutcome.REFUSED, local("2025-04-30 11:00"), balance=99_999),
        task(4, "K2", TaskOutcome.UNREACHABLE, local("2025-04-30 11:00")),
    ]
    in_c02 = [task(5, "K1", TaskOutcome.PROMISED, local("2025-04-30 15:00"), balance=1_000)]
    c01 = day_snapshot("C01", DAY, DayActivity(tasks_done=tuple(done_today)), [], [], [])
    c02 = day_snapshot("C02", DAY, DayActivity(tasks_done=tuple(in_c02)), [], [], [])
    yesterday = day_snapshot("C01", DAY - timedelta(days=1), DayActivity(tasks_done=(done_today[0],)), [], [], [])
    open_k1 = (
        task(6, "K1", None, None).model_copy(update={"due_by": generated_at - timedelta(seconds=1)}),  # overdue
        task(7, "K1", None, None).model_copy(update={"due_by": generated_at}),  # due right now: not yet overdue
    )
    staff = (
        Collector(collector_id="K1", name="张伟", communities=("C01", "C02")),
        Collector(collector_id="K2", name="李娜", communities=("C01",)),
        Collector(collector_id="K3", name="王强", communities=("C01",)),  # nothing today
    )
    company = CompanyDay(collectors=staff, open_tasks={"K1": open_k1})

    summary = build_summary(DAY, generated_at, [_entry("C01", (yesterday, c01)), _entry("C02", (c02,))], company)

    rows = {r["collector_id"]: r for r in summary["totals"]["collectors"]}
    everything = done_today + in_c02
    for collector in ("K1", "K2", "K3"):
        mine = [t for t in everything if t.collector_id == collector]
        assert rows[collector]["done"] == dict(Counter(t.outcome.value for t in mine))
        promised = sum(t.balance_fen for t in mine if t.outcome is TaskOutcome.PROMISED)
        assert rows[collector]["promised_fen"] == promised
    assert rows["K1"]["promised_fen"] == 30_000 + 12_345 + 1_000
    assert (rows["K1"]["open"], rows["K1"]["open_overdue"]) == (2, 1)
    assert (rows["K3"]["open"], rows["K3"]["done"], rows["K3"]["promised_fen"]) == (0, {}, 0)
    table = {r[0]: r for r in collectors_table(summary).rows}
    columns = [c.key for c in collectors_table(summary).columns]
    k1 = dict(zip(columns, table["K1"], strict=True))
    assert (k1["done_today"], k1["done_promised"], k1["done_refused"], k1["promised_yuan"]) == (4, 3, 1, 433.45)


# ================================================================ phased targets
# A community's ledger over 16 days, built with the real allocation: bills of several months, partial payments
# that settle the oldest bills first, refunds that re-open the latest. The report keeps a snapshot each night
# (one run missed); the expected figures are recounted from the payments' allocations and the tasks.

PHASE = Phase(
    name="春季清欠",
    start=date(2025, 3, 10),
    end=date(2025, 4, 30),
    collection_rate=0.95,
    back_arrears_fen=100_000,
    collectors={"K1": {"tasks_done": 10, "promises": 3}, "K2": {"tasks_done": 5}},
)
FIRST_DAY, LAST_DAY = date(2025, 3, 5), date(2025, 3, 20)
MISSED = date(2025, 3, 16)  # the report did not run that night

BILLS = {  # unit -> (period, fen); each due on the 15th of its month
    1: [("2024-12", 20_000), ("2025-01", 20_000), ("2025-02", 20_000), ("2025-03", 20_000)],
    2: [("2025-02", 30_000), ("2025-03", 30_000)],
    3: [("2025-01", 25_000), ("2025-02", 25_000), ("2025-03", 25_000)],
    4: [("2025-03", 15_000)],
}
PAYMENTS = [  # (unit, fen, local time); negative: a refund
    (1, 30_000, "2025-03-07 10:00"),  # before the phase: 2024-12 and half of 2025-01
    (2, 10_000, "2025-03-09 23:50"),  # the night before the phase
    (2, 10_000, "2025-03-10 00:10"),  # ten minutes into the phase
    (4, 15_000, "2025-03-11 11:00"),  # the current month only
    (3, 60_000, "2025-03-12 09:00"),  # 2025-01, 2025-02 and 10,000 of 2025-03
    (1, 15_000, "2025-03-14 16:00"),  # the rest of 2025-01 and 5,000 of 2025-02
    (3, -15_000, "2025-03-15 10:00"),  # refund: re-opens 2025-03 (10,000), then 2025-02 (5,000)
    (2, 5_000, "2025-03-16 12:00"),  # on the missed day: still counted (the totals are cumulative)
    (1, -20_000, "2025-03-18 10:00"),  # refund: 2025-02 (5,000), then 2025-01 (15,000)
    (1, 40_000, "2025-03-19 10:00"),  # 2025-01 15,000, 2025-02 20,000, 2025-03 5,000
]
TASKS = [  # (unit, collector, outcome, local done time)
    (1, "K1", TaskOutcome.PROMISED, "2025-03-08 10:00"),  # before the phase
    (1, "K1", TaskOutcome.PROMISED, "2025-03-10 09:00"),
    (2, "K1", TaskOutcome.REFUSED, "2025-03-12 15:00"),
    (3, "K1", TaskOutcome.PROMISED, "2025-03-15 10:00"),
    (4, "K2", TaskOutcome.PAID, "2025-03-11 17:00"),
    (3, "K3", TaskOutcome.PROMISED, "2025-03-13 10:00"),  # a collector without a target
    (2, "K1", TaskOutcome.UNREACHABLE, "2025-03-19 20:00"),
]


@dataclass
class Scenario:
    bills: list[Bill] = field(default_factory=list)
    paid: list[tuple[Payment, dict[str, int]]] = field(default_factory=list)  # each payment and its allocation
    tasks: list[Task] = field(default_factory=list)
    snapshots: dict[date, DaySnapshot] = field(default_factory=dict)


def _paid_bills(bills: list[Bill], paid: list[tuple[Payment, dict[str, int]]], unit: str) -> list[ledger.PaidBill]:
    return [
        ledger.PaidBill(b.period, b.due, b.amount_fen, sum(a.get(b.period, 0) for p, a in paid if p.unit_id == unit))
        for b in bills
        if b.unit_id == unit
    ]


def scenario() -> Scenario:
    """Units billed through ledger.with_bill, payments through ledger.allocate / ledger.refund, and period
    totals maintained as the table does (billed on issue, each allocation added to its period)."""
    s = Scenario()
    units: dict[int, Unit] = {}
    for n, bills in BILLS.items():
        units[n] = support.unit(unit_id(n))
        for period, amount in bills:
            s.bills.append(support.bill(unit_id(n), period, amount, date.fromisoformat(f"{period}-15")))
            units[n] = ledger.with_bill(units[n], s.bills[-1])
    payments = [pay(n, fen, local(when), f"PAY-{k:02d}") for k, (n, fen, when) in enumerate(PAYMENTS)]
    s.tasks = [task(n, cid, outcome, local(when)) for n, cid, outcome, when in TASKS]
    day = FIRST_DAY
    while day <= LAST_DAY:
        todays = [p for p in payments if p.paid_at.astimezone(SHANGHAI).date() == day]
        for p in todays:
            if p.is_refund:
                allocation = ledger.refund(units[int(p.unit_id[-4:])], _paid_bills(s.bills, s.paid, p.unit_id), p)
            else:
                allocation = ledger.allocate(units[int(p.unit_id[-4:])], p)
            units[int(p.unit_id[-4:])] = allocation.unit_after
            s.paid.append((p, dict(allocation.by_period)))
        totals: dict[str, PeriodTotal] = {}
        for b in s.bills:
            t = totals.get(b.period) or PeriodTotal(community_id=C, period=b.period)
            totals[b.period] = t.model_copy(update={"billed_fen": t.billed_fen + b.amount_fen, "bills": t.bills + 1})
        for _, allocation in s.paid:
            for period, fen in allocation.items():
                totals[period] = totals[period].model_copy(update={"paid_fen": totals[period].paid_fen + fen})
        if day != MISSED:
            done = tuple(t for t in s.tasks if t.done_at.astimezone(SHANGHAI).date() == day)
            activity = DayActivity(payments=tuple(todays), tasks_done=done)
            s.snapshots[day] = day_snapshot(C, day, activity, list(totals.values()), [], [])
        day += timedelta(days=1)
    return s


def _back_paid_between(s: Scenario, after: date, through: date) -> int:
    """What the payments of local days (after, through] paid towards bills of months before the phase's."""
    return sum(
        fen
        for p, allocation in s.paid
        if after < p.paid_at.astimezone(SHANGHAI).date() <= through
        for period, fen in allocation.items()
        if period < "2025-03"
    )


def test_the_scenario_exercises_what_it_claims():
    s = scenario()
    allocations = [a for _, a in s.paid]
    assert allocations[4] == {"2025-01": 25_000, "2025-02": 25_000, "2025-03": 10_000}  # partial, across periods
    assert allocations[6] == {"2025-03": -10_000, "2025-02": -5_000}  # the refund reaches a back month
    assert allocations[8] == {"2025-02": -5_000, "2025-01": -15_000}
    assert MISSED not in s.snapshots and len(s.snapshots) == 15


@pytest.mark.parametrize("day", [date(2025, 3, d) for d in (10, 11, 12, 14, 15, 17, 18, 19, 20)])
def test_back_arrears_collected_in_the_phase_equal_what_payments_paid_towards_the_older_months_net_of_refunds(day):
    s = scenario()

    progress = phase_progress(PHASE, list(s.snapshots.values()), day)

    assert progress["since"] == "2025-03-09"  # the last report before the phase began
    actual = progress["back_arrears_collected_fen"]["actual"]
    assert actual == _back_paid_between(s, date(2025, 3, 9), day)
    assert progress["back_arrears_collected_fen"]["target"] == 100_000
    assert progress["days_left"] == (date(2025, 4, 30) - day).days
    # the current month's rate, recounted from the bills and allocations of 2025-03
    billed = sum(b.amount_fen for b in s.bills if b.period == "2025-03")
    paid = sum(a.get("2025-03", 0) for p, a in s.paid if p.paid_at.astimezone(SHANGHAI).date() <= day)
    assert progress["collection_rate"] == {"target": 0.95, "actual": round(paid / billed, 4)}


def test_the_recount_is_not_trivial():
    s = scenario()
    # 10,000 (unit 2, 00:10) + 50,000 (unit 3) + 15,000 (unit 1) - 5,000 (refund) + 5,000 (missed day)
    # - 20,000 (refund) + 35,000 (unit 1)
    assert _back_paid_between(s, date(2025, 3, 9), date(2025, 3, 20)) == 90_000
    assert _back_paid_between(s, date(2025, 3, 9), date(2025, 3, 18)) == 55_000


def test_without_a_report_before_the_phase_the_first_one_within_it_is_the_baseline():
    s = scenario()
    first_run = date(2025, 3, 12)  # the reports began after the phase had
    kept = [snap for d, snap in s.snapshots.items() if d >= first_run]

    for day in (first_run, date(2025, 3, 15), LAST_DAY):
        progress = phase_progress(PHASE, kept, day)
        assert progress["since"] == first_run.isoformat()
        assert progress["back_arrears_collected_fen"]["actual"] == _back_paid_between(s, first_run, day)
    assert phase_progress(PHASE, kept, first_run)["back_arrears_collected_fen"]["actual"] == 0


def test_an_older_report_before_the_phase_is_the_baseline_when_the_night_before_was_missed():
    s = scenario()
    kept = [snap for d, snap in s.snapshots.items() if d != date(2025, 3, 9)]

    progress = phase_progress(PHASE, kept, LAST_DAY)

    assert progress["since"] == "2025-03-08"
    assert progress["back_arrears_collected_fen"]["actual"] == _back_paid_between(s, date(2025, 3, 8), LAST_DAY)


@pytest.mark.parametrize("day", [date(2025, 3, 10), date(2025, 3, 12), date(2025, 3, 15), LAST_DAY])
def test_collectors_tasks_and_promises_count_only_within_the_phase(day):
    s = scenario()

    progress = phase_progress(PHASE, list(s.snapshots.values()), day)

    in_phase = [t for t in s.tasks if PHASE.start <= t.done_at.astimezone(SHANGHAI).date() <= day]
    for collector_id, target in PHASE.collectors.items():
        mine = [t for t in in_phase if t.collector_id == collector_id]
        promises = sum(t.outcome is TaskOutcome.PROMISED for t in mine)
        assert progress["collectors"][collector_id] == {
            "tasks_done": {"target": target.tasks_done, "actual": len(mine)},
            "promises": {"target": target.promises, "actual": promises},
        }
    assert set(progress["collectors"]) == {"K1", "K2"}  # K3 has no target in this phase


def test_the_targets_reach_the_summary_and_the_table():
    s = scenario()
    history = tuple(s.snapshots.values())

    summary = build_summary(LAST_DAY, local("2025-03-21 00:15"), [_entry(C, history, phase=PHASE)])

    [c01] = summary["communities"]
    assert c01["targets"] == phase_progress(PHASE, history, LAST_DAY)
    rows = {(r[4], r[5]): r for r in targets_table(summary).rows}
    back = rows[("back_arrears_collected_yuan", None)]
    assert back[:4] == (C, "春季清欠", "2025-04-30", 41)
    assert (back[6], back[7], back[8]) == (1_000.0, 900.0, 0.9)  # 90,000 fen of 100,000
    k1_done = rows[("tasks_done", "K1")]
    assert (k1_done[6], k1_done[7], k1_done[8]) == (10, 4, 0.4)
    assert rows[("promises", "K2")][6:] == (None, 0, None)  # no target: no progress
    assert summary["communities"][0]["targets"]["collection_rate"]["target"] == 0.95
    assert build_summary(LAST_DAY, local("2025-03-21 00:15"), [_entry(C, history)])["communities"][0]["targets"] is None


def test_no_progress_without_a_phase_or_without_the_days_snapshot():
    s = scenario()
    assert phase_progress(None, list(s.snapshots.values()), LAST_DAY) is None
    assert phase_progress(PHASE, list(s.snapshots.values()), MISSED) is None


# ---------------------------------------------------------------- the phases themselves


def _phase(name: str, start: str, end: str) -> Phase:
    return Phase(name=name, start=date.fromisoformat(start), end=date.fromisoformat(end))


def test_overlapping_phases_of_a_community_are_refused():
    with pytest.raises(ValidationError, match="overlap"):
        Targets(
            communities={C: (_phase("一期", "2025-03-01", "2025-03-31"), _phase("二期", "2025-03-31", "2025-04-30"))}
        )
    with pytest.raises(ValidationError, match="overlap"):  # one inside another, listed in any order
        Targets(
            communities={
                C: (
                    _phase("三期", "2025-06-01", "2025-06-30"),
                    _phase("全年", "2025-01-01", "2025-12-31"),
                    _phase("一期", "2025-03-01", "2025-03-31"),
                )
            }
        )


def test_back_to_back_phases_and_the_same_dates_in_two_communities_are_fine():
    first, second = _phase("一期", "2025-03-01", "2025-03-31"), _phase("二期", "2025-04-01", "2025-04-30")
    targets = Targets(communities={C: (second, first), "C02": (first,)})

    assert targets.phase(C, date(2025, 3, 31)) == first
    assert targets.phase(C, date(2025, 4, 1)) == second
    assert targets.phase(C, date(2025, 5, 1)) is None
    assert targets.phase("C02", date(2025, 3, 1)) == first
    assert targets.phase("C03", date(2025, 3, 15)) is None


def test_a_phase_ending_before_it_starts_is_refused_and_a_one_day_phase_is_fine():
    with pytest.raises(ValidationError, match="ends before it starts"):
        _phase("倒序", "2025-03-10", "2025-03-09")
    one_day = _phase("冲刺", "2025-03-10", "2025-03-10")
    assert Targets(communities={C: (one_day,)}).phase(C, date(2025, 3, 10)) == one_day
    assert one_day.first_back_period == "2025-03"


RULES_WITH_TARGETS = """
targets:
  communities:
    C01:
      - name: 一季度清欠
        start: 2025-01-01
        end: 2025-03-31
        collection_rate: 0.9
        back_arrears_fen: 5000000
        collectors:
          K1: {tasks_done: 40, promises: 10}
      - name: 二季度
        start: 2025-04-01
        end: 2025-06-30
        collection_rate: 0.92
    C02:
      - {name: 冲刺, start: 2025-03-15, end: 2025-04-15, back_arrears_fen: 200000}
"""


def test_targets_load_from_the_rules_file(tmp_path: Path):
    path = tmp_path / "rules.yaml"
    path.write_text(RULES_WITH_TARGETS, encoding="utf-8")

    targets = load_rules(path).targets

    q1 = targets.phase("C01", date(2025, 3, 31))
    assert (q1.name, q1.start, q1.end, q1.collection_rate, q1.back_arrears_fen) == (
        "一季度清欠",
        date(2025, 1, 1),
        date(2025, 3, 31),
        0.9,
        5_000_000,
    )
    assert (q1.collectors["K1"].tasks_done, q1.collectors["K1"].promises) == (40, 10)
    q2 = targets.phase("C01", date(2025, 4, 1))
    assert (q2.name, q2.collection_rate, q2.back_arrears_fen, q2.collectors) == ("二季度", 0.92, None, {})
    assert targets.phase("C02", date(2025, 4, 15)).back_arrears_fen == 200_000
    assert load_rules(path).targets.phase("C01", date(2025, 7, 1)) is None
    assert load_rules().targets == Targets()  # the packaged rules set none


@pytest.mark.parametrize(
    ("section", "error"),
    [
        (
            "  communities:\n    C01:\n"
            "      - {name: a, start: 2025-01-01, end: 2025-03-31}\n"
            "      - {name: b, start: 2025-03-01, end: 2025-04-30}\n",
            "overlap",
        ),
        ("  communities:\n    C01:\n      - {name: a, start: 2025-03-01, end: 2025-02-28}\n", "ends before it starts"),
        (
            "  communities:\n    C01:\n      - {name: a, start: 2025-03-01, end: 2025-03-31, collection_rate: 1.2}\n",
            "less than or equal",
        ),
        (
            "  communities:\n    C01:\n      - {name: a, start: 2025-03-01, end: 2025-03-31, target: 3}\n",
            "Extra inputs",
        ),
    ],
)
def test_a_rules_file_with_bad_targets_is_refused(tmp_path: Path, section: str, error: str):
    path = tmp_path / "rules.yaml"
    path.write_text("targets:\n" + section, encoding="utf-8")

    with pytest.raises(ValidationError, match=error):
        load_rules(path)


# ================================================================ through publish_daily_report, day after day


class _Memory:
    """The report's reads and its own snapshots, in memory, for one community and several days."""

    def __init__(self, days: dict[date, DayActivity], totals: dict[date, list[PeriodTotal]]):
        self.days, self.totals = days, totals
        self.today: date | None = None
        self.snapshots: dict[tuple[str, date], DaySnapshot] = {}

    def communities(self) -> list[Community]:
        return [Community(community_id=C, name="锦绣花园")]

    def day_activity(self, community_id: str, day: date) -> DayActivity:
        return self.days.get(day, DayActivity())

    def period_totals(self, community_id: str) -> list[PeriodTotal]:
        return self.totals.get(self.today, [])

    def units_owing(self, community_id: str, due_before: date) -> list[Unit]:
        return []

    def day_messages(self, community_id: str, day: date) -> list[dict[str, Any]]:
        return []

    def tickets(self, department: str, status: str = "open", due_before: datetime | None = None) -> list:
        return []

    def collectors(self) -> list[Collector]:
        return []

    def tasks(self, collector_id: str, status: str = "open") -> list[Task]:
        return []

    def report_snapshots(self, community_id: str, first: date, last: date) -> list[DaySnapshot]:
        return sorted(
            (s for (c, d), s in self.snapshots.items() if c == community_id and first <= d <= last),
            key=lambda s: s.day,
        )

    def keep_report_snapshot(self, snapshot: DaySnapshot) -> DaySnapshot:
        return self.snapshots.setdefault((snapshot.community_id, snapshot.day), snapshot)

    def report_snapshot_before(self, community_id: str, day: date) -> DaySnapshot | None:
        before = [s for (c, d), s in self.snapshots.items() if c == community_id and d < day]
        return max(before, key=lambda s: s.day, default=None)


class _Depths:
    def depths(self) -> dict[str, int]:
        return {}


class _Store:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.objects[key] = body


def _run(reader: _Memory, day: date, targets: Targets | None = None) -> dict[str, Any]:
    reader.today = day
    store = _Store()
    publish_daily_report(day, local(f"{day + timedelta(days=1)} 00:15"), reader, store, _Depths(), SHANGHAI, targets)
    return json.loads(store.objects[f"reports/{day.isoformat()}/summary.json"])


def test_each_nightly_report_follows_the_cohort_of_a_week_before_and_keeps_its_snapshot():
    first = date(2025, 3, 1)
    days = {
        first: DayActivity(
            reminders=(
                reminder(1, "sms_d1", ReminderStatus.SENT, local("2025-03-01 09:30"), local("2025-03-01 09:30")),
                reminder(2, "sms_d1", ReminderStatus.SENT, local("2025-03-01 09:30"), local("2025-03-01 09:30")),
                reminder(3, "sms_d1", ReminderStatus.FAILED, local("2025-03-01 09:30")),
                reminder(4, "call_d15", ReminderStatus.ASSIGNED, local("2025-03-01 10:00")),
            )
        ),
        date(2025, 3, 2): DayActivity(
            reminders=(
                reminder(5, "sms_d1", ReminderStatus.SENT, local("2025-03-02 09:30"), local("2025-03-02 09:30")),
            )
        ),
        date(2025, 3, 3): DayActivity(payments=(pay(1, 21_044, local("2025-03-03 12:00")),)),
        date(2025, 3, 8): DayActivity(
            payments=(
                pay(2, 21_044, local("2025-03-08 09:30")),  # exactly 7 days after its message
                pay(4, 21_044, local("2025-03-08 10:00:01")),  # a second too late
                pay(5, 21_044, local("2025-03-08 11:00")),  # the next cohort's
            )
        ),
    }
    reader = _Memory(days, {})

    reports = {}
    for n in range(10):
        day = first + timedelta(days=n)
        reports[day] = _run(reader, day)

    cohort_of = {
        d: reports[d + WEEK]["communities"][0]["reminder_effectiveness"] for d in (first, first + timedelta(1))
    }
    rows = {r["step"]: r for r in cohort_of[first]}
    assert rows["sms_d1"]["cohort_day"] == "2025-03-01"
    assert (rows["sms_d1"]["cohort_reminded"], rows["sms_d1"]["cohort_paid"]) == (2, 2)
    assert (rows["call_d15"]["cohort_reminded"], rows["call_d15"]["cohort_paid"]) == (1, 0)
    rows = {r["step"]: r for r in cohort_of[first + timedelta(1)]}
    assert (rows["sms_d1"]["cohort_reminded"], rows["sms_d1"]["cohort_paid"]) == (1, 1)
    assert (rows["sms_d1"]["reminded_30d"], rows["sms_d1"]["paid_30d"]) == (3, 3)
    assert rows["call_d15"]["reminded_30d"] == 1
    # before a week has passed there is nothing to follow
    assert reports[first + timedelta(days=6)]["communities"][0]["reminder_effectiveness"] == []
    assert sorted(reader.snapshots) == [(C, first + timedelta(days=n)) for n in range(10)]
    # the trend of the last report has a row per report, and the company's equals the only community's
    last = reports[first + timedelta(days=9)]
    assert [r["date"] for r in last["communities"][0]["trend"]] == [d.isoformat() for d in sorted(reports)]
    assert [r["date"] for r in last["totals"]["trend"]] == [d.isoformat() for d in sorted(reports)]


@pytest.mark.parametrize(("missed", "since"), [(None, date(2025, 3, 9)), (date(2025, 3, 9), date(2025, 3, 8))])
def test_a_published_phase_measures_from_the_last_report_before_it(missed: date | None, since: date):
    s = scenario()
    s.snapshots.pop(missed, None)  # a run missed on the night before the phase: the one before serves
    totals = {}
    for day, snap in s.snapshots.items():
        totals[day] = [
            PeriodTotal(community_id=C, period=p, billed_fen=0, paid_fen=fen) for p, fen in snap.paid_by_period.items()
        ]
    reader = _Memory({}, totals)
    reader.snapshots = {(C, day): snap for day, snap in s.snapshots.items() if day < LAST_DAY}  # earlier nights

    summary = _run(reader, LAST_DAY, Targets(communities={C: (PHASE,)}))

    progress = summary["communities"][0]["targets"]
    assert progress["since"] == since.isoformat()
    assert progress["back_arrears_collected_fen"]["actual"] == _back_paid_between(s, since, LAST_DAY)


def test_a_published_phase_that_began_long_ago_still_measures_from_the_last_report_before_it():
    long_ago = PHASE.model_copy(update={"start": date(2025, 2, 10)})  # 38 days before the last report
    totals = {}
    for n in range(-4, 0):  # reports of 02-06 .. 02-09 (the last of them missed), then nightly from the start
        day = long_ago.start + timedelta(days=n)
        totals[day] = [PeriodTotal(community_id=C, period="2025-01", billed_fen=100_000, paid_fen=1_000 * (n + 10))]
    day = long_ago.start
    while day <= LAST_DAY:
        paid = 20_000 + 1_000 * (day - long_ago.start).days
        totals[day] = [PeriodTotal(community_id=C, period="2025-01", billed_fen=100_000, paid_fen=paid)]
        day += timedelta(days=1)
    reader = _Memory({}, totals)
    reader.snapshots = {  # the earlier nights' reports, but for the night before the phase
        (C, day): day_snapshot(C, day, DayActivity(), periods, [], [])
        for day, periods in totals.items()
        if day != long_ago.start - timedelta(days=1) and day < LAST_DAY
    }
    targets = Targets(communities={C: (long_ago,)})

    progress = _run(reader, LAST_DAY, targets)["communities"][0]["targets"]

    # the last report before the phase is the one of 02-08: 8,000 paid then, 58,000 on the last day
    assert progress["since"] == "2025-02-08"
    assert progress["back_arrears_collected_fen"]["actual"] == 58_000 - 8_000
    assert progress == phase_progress(long_ago, list(reader.snapshots.values()), LAST_DAY)


def test_the_company_set_and_each_community_set_name_departments_as_the_rules_do():
    from propfee.feedback.responses import DepartmentContact
    from tests.support.report_day import ticket

    class _WithATicket(_Memory):
        def tickets(self, department: str, status: str = "open", due_before: datetime | None = None) -> list:
            if (department, status) != ("finance", "open"):
                return []
            return [ticket(1, C, "finance", "bill_dispute", "2025-03-01 09:00", "2025-03-08 09:00")]

    day = date(2025, 3, 5)
    reader = _WithATicket({}, {})
    reader.today = day
    store = _Store()
    company = {"finance": DepartmentContact(name="财务部", name_en="finance")}
    own = {C: {"finance": DepartmentContact(name="二期财务室", name_en="phase 2 billing office")}}

    publish_daily_report(day, local("2025-03-06 00:15"), reader, store, _Depths(), SHANGHAI, None, company, own)

    prefix = f"reports/{day.isoformat()}/"
    assert "<td>财务部</td>" in store.objects[prefix + "report.html"].decode()
    assert "<td>二期财务室</td>" in store.objects[f"{prefix}communities/{C}/report.html"].decode()
    assert "<td>phase 2 billing office</td>" in store.objects[f"{prefix}communities/{C}/report.en.html"].decode()
    assert "二期财务室" not in store.objects[prefix + "report.html"].decode()

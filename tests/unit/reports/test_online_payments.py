"""The report's online payments from plain records, each figure counted by hand from the records below."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from propfee.domain.activity import DayActivity, LinkOpened, StartedOrder
from propfee.domain.day_snapshot import DaySnapshot, SourceTally
from propfee.domain.models import Channel, Payment, PaymentSource, Reminder, ReminderStatus
from propfee.reports.history import day_snapshot, history_window, payment_sources
from propfee.reports.online import (
    abandoned_orders,
    link_openings,
    month_to_date,
    online_section,
    percentile,
    reminder_to_payment,
    source_figures,
)
from tests.support import SHANGHAI, at

DAY = date(2026, 11, 11)
LINK = "https://jxwy.cn/b/0123456789abcdefghijkl"


def pay(unit: str, fen: int, when: str, source: PaymentSource = PaymentSource.IMPORT, method: str = "cash", n: int = 1):
    return Payment(
        reference=f"{unit}-{n}",
        unit_id=unit,
        community_id="C01",
        amount_fen=fen,
        paid_at=at(when),
        method=method,
        source=source,
    )


def online(unit: str, fen: int, when: str, provider: str = "wechat_pay", n: int = 1) -> Payment:
    return pay(unit, fen, when, PaymentSource.PROVIDER, provider, n)


def reminder(
    unit: str,
    when: str,
    step: str = "sms_d1",
    channel: Channel = Channel.SMS,
    status: ReminderStatus = ReminderStatus.SENT,
    text: str | None = f"物业费250元尚未缴纳，账单及缴费 {LINK}",
) -> Reminder:
    return Reminder(
        unit_id=unit,
        community_id="C01",
        step=step,
        occurrence=1,
        channel=channel,
        destination="+8613800000000",
        template="reminder_friendly",
        template_version="1",
        content_sha256="0" * 64,
        balance_fen=25_000,
        status=status,
        claimed_at=at(when),
        sent_at=at(when) if status in (ReminderStatus.SENT, ReminderStatus.DELIVERED) else None,
        text=text,
    )


def opened(unit: str, when: str) -> LinkOpened:
    return LinkOpened(unit_id=unit, community_id="C01", at=at(when))


def order(unit: str, when: str, status: str = "open", provider: str = "wechat_pay", fen: int = 25_000):
    return StartedOrder(
        unit_id=unit, community_id="C01", provider=provider, amount_fen=fen, created_at=at(when), status=status
    )


# ------------------------------------------------------------------------------------ online versus imported
def test_online_payments_by_provider_against_imported_ones_count_and_fen():
    payments = [
        online("U1", 25_000, "2026-11-11 10:00"),
        online("U2", 10_000, "2026-11-11 11:00", "alipay"),
        pay("U3", 30_000, "2026-11-11 12:00", PaymentSource.RECONCILIATION, "wechat_pay"),
        pay("U4", 5_000, "2026-11-11 13:00"),
        pay("U5", -2_000, "2026-11-11 14:00"),  # a refund: not a payment of either side
    ]

    figures = source_figures(payment_sources(payments))

    assert figures["providers"] == {
        "wechat_pay": {"count": 2, "amount_fen": 55_000, "reconciled": 1, "reconciled_fen": 30_000},
        "alipay": {"count": 1, "amount_fen": 10_000, "reconciled": 0, "reconciled_fen": 0},
    }
    assert figures["online"] == {"count": 3, "amount_fen": 65_000}
    assert figures["imported"] == {"count": 1, "amount_fen": 5_000}
    assert figures["online_share"] == 0.75


def test_a_day_without_payments_has_every_provider_at_zero_and_no_share():
    figures = source_figures({})
    assert figures["providers"]["alipay"]["count"] == 0 and figures["imported"]["count"] == 0
    assert figures["online_share"] is None


def _snapshot(day: date, sources: dict[str, SourceTally] | None) -> DaySnapshot:
    return DaySnapshot(
        community_id="C01", day=day, period="2026-11", cohort_day=day - timedelta(days=7), payment_sources=sources
    )


def test_the_month_to_date_adds_the_earlier_days_snapshots_to_the_day_and_says_which_days_it_misses():
    wechat = {"provider:wechat_pay": SourceTally(count=1, amount_fen=25_000)}
    history = [
        _snapshot(date(2026, 10, 31), {"import": SourceTally(count=9, amount_fen=900)}),  # last month: not counted
        _snapshot(date(2026, 11, 1), None),  # kept before schema 6: missing
        *(_snapshot(date(2026, 11, d), wechat) for d in range(2, 10)),  # the 2nd to the 9th; no snapshot of the 10th
        _snapshot(DAY, {"import": SourceTally(count=50, amount_fen=50)}),  # the day's own: from its payments instead
    ]
    today = payment_sources([pay("U1", 4_000, "2026-11-11 09:00")])

    figures = month_to_date(DAY, today, history)

    assert figures["from"] == "2026-11-01"
    assert figures["days_missing"] == 2  # the 1st (no sources) and the 10th (no snapshot)
    assert figures["providers"]["wechat_pay"] == {
        "count": 8,
        "amount_fen": 200_000,
        "reconciled": 0,
        "reconciled_fen": 0,
    }
    assert figures["imported"] == {"count": 1, "amount_fen": 4_000}


def test_a_snapshot_from_before_schema_6_still_reads_and_counts_no_sources():
    kept = '{"community_id":"C01","day":"2026-11-10","period":"2026-11","cohort_day":"2026-11-03","payments":3}'
    old = DaySnapshot.model_validate_json(kept)
    assert old.payment_sources is None
    assert month_to_date(DAY, {}, [old])["days_missing"] == 10


def test_the_day_snapshot_keeps_the_payments_by_source():
    activity = DayActivity(payments=(online("U1", 25_000, "2026-11-11 10:00"), pay("U2", 100, "2026-11-11 11:00")))
    snapshot = day_snapshot("C01", DAY, activity, [], [], [])
    assert snapshot.payment_sources == {
        "import": SourceTally(count=1, amount_fen=100),
        "provider:wechat_pay": SourceTally(count=1, amount_fen=25_000),
    }


def test_the_history_read_reaches_back_to_the_first_of_the_month():
    assert history_window(date(2026, 12, 31), {}) == date(2026, 12, 1)
    assert history_window(date(2026, 12, 20), {}) == date(2026, 11, 21)  # the 30-day trend's


# ------------------------------------------------------------------------------------ reminder to payment
def test_hours_from_the_latest_reminder_to_each_payment_by_step_and_channel():
    reminders = [
        reminder("U1", "2026-11-10 10:00"),  # U1 paid 2 h after the SMS of the day before: no, after the later one
        reminder("U1", "2026-11-11 08:00", step="notice_d7-sms"),
        reminder("U2", "2026-11-10 09:00"),
        reminder("U3", "2026-11-09 09:00"),
        reminder("U4", "2026-11-11 09:00", step="call_d15", channel=Channel.CALL, status=ReminderStatus.ASSIGNED),
        reminder("U5", "2026-11-11 09:00", status=ReminderStatus.FAILED),  # never reached the owner
        reminder("U6", "2026-11-03 09:00"),  # more than 7 days before its payment
        reminder("U7", "2026-11-11 15:00"),  # after its payment
    ]
    payments = [
        online("U1", 25_000, "2026-11-11 10:00"),  # notice_d7/sms, 2 h
        pay("U2", 25_000, "2026-11-11 09:00"),  # sms_d1/sms, 24 h
        online("U3", 25_000, "2026-11-11 21:00", "alipay"),  # sms_d1/sms, 60 h
        pay("U4", 25_000, "2026-11-11 12:30"),  # call_d15/call, 3.5 h
        pay("U5", 25_000, "2026-11-11 12:00"),  # no reminder reached it
        pay("U6", 25_000, "2026-11-11 12:00"),  # none within the week
        pay("U7", 25_000, "2026-11-11 12:00"),  # a payment with no prior reminder
        pay("U2", -100, "2026-11-11 13:00", n=2),  # a refund: not counted at all
    ]

    figures = reminder_to_payment(payments, reminders)

    assert figures["without_reminder"] == 3
    assert figures["steps"] == [
        {"step": "call_d15", "channel": "call", "payments": 1, "online": 0, "median_hours": 3.5, "p90_hours": 3.5},
        {"step": "notice_d7", "channel": "sms", "payments": 1, "online": 1, "median_hours": 2.0, "p90_hours": 2.0},
        {"step": "sms_d1", "channel": "sms", "payments": 2, "online": 1, "median_hours": 42.0, "p90_hours": 60.0},
    ]


def test_the_90th_percentile_is_the_nearest_rank():
    values = [float(v) for v in range(1, 11)]  # 1..10
    assert percentile(values, 0.9) == 9.0
    assert percentile(values, 0.5) == 5.0
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([float(v) for v in range(1, 12)], 0.9) == 10.0  # 11 values: the 10th


# ------------------------------------------------------------------------------------ links opened
def test_a_link_opened_twice_in_a_day_counts_once_and_only_after_its_reminder():
    today = [
        reminder("U1", "2026-11-11 09:00"),  # opened 09:30 (kept once, however often)
        reminder("U2", "2026-11-11 09:00"),  # opened only before it
        reminder("U3", "2026-11-11 09:00", channel=Channel.EMAIL, step="notice_d7-email"),  # opened that evening
        reminder("U4", "2026-11-11 09:00", text="物业费250元尚未缴纳，请通过锦绣物业App缴纳"),  # no link in it
        reminder("U5", "2026-11-11 09:00", step="call_d15", channel=Channel.CALL, status=ReminderStatus.ASSIGNED),
    ]
    cohort = [
        reminder("U6", "2026-11-04 10:00"),  # opened 6 days later
        reminder("U7", "2026-11-04 10:00"),  # never opened
        reminder("U8", "2026-11-04 10:00", status=ReminderStatus.FAILED),  # never reached anyone
    ]
    openings = [
        opened("U1", "2026-11-11 09:30"),
        opened("U1", "2026-11-11 09:30"),  # the same day's opening read twice (never kept twice, counted once)
        opened("U2", "2026-11-11 08:00"),
        opened("U3", "2026-11-11 20:00"),
        opened("U6", "2026-11-10 19:00"),
        opened("U7", "2026-11-03 19:00"),  # before its reminder
    ]

    figures = link_openings(DAY, today, cohort, openings, SHANGHAI)

    rows = {row["channel"]: row for row in figures["channels"]}
    assert figures["cohort_day"] == "2026-11-04"
    assert (rows["sms"]["reminders_today"], rows["sms"]["opened_today"], rows["sms"]["today_rate"]) == (2, 1, 0.5)
    assert (rows["email"]["reminders_today"], rows["email"]["opened_today"]) == (1, 1)
    assert (rows["sms"]["cohort_reminders"], rows["sms"]["cohort_opened"], rows["sms"]["cohort_rate"]) == (2, 1, 0.5)
    assert rows["letter"]["reminders_today"] == 0 and rows["letter"]["today_rate"] is None
    assert set(rows) == {"sms", "email", "letter"}  # a call carries no link


# ------------------------------------------------------------------------------------ orders left unpaid
def test_orders_left_unpaid_two_hours_by_provider_and_one_paid_late_is_not_abandoned():
    orders = [
        order("U1", "2026-11-11 10:00", status="paid"),  # paid at once
        order("U2", "2026-11-11 10:00", status="paid"),  # paid late, at 15:00: still not abandoned
        order("U3", "2026-11-11 11:00"),  # abandoned
        order("U4", "2026-11-10 23:00"),  # started the day before, its two hours ended on the day: abandoned
        order("U5", "2026-11-11 12:00", status="held"),  # money came, not as ordered
        order("U6", "2026-11-11 12:00"),  # the owner paid at the office after starting it
        order("U7", "2026-11-11 22:30"),  # its two hours end the next day: the next report's
        order("U8", "2026-11-10 20:00"),  # the day before's
        order("U9", "2026-11-11 09:00", status="closed", provider="alipay", fen=12_345),  # closed, not paid
    ]
    payments = [pay("U6", 25_000, "2026-11-11 16:00"), pay("U9", 12_345, "2026-11-11 08:00")]  # U9 before its order

    figures = abandoned_orders(DAY, at("2026-11-12 00:15"), orders, payments, SHANGHAI)

    assert figures["after_hours"] == 2
    providers = {p["provider"]: p for p in figures["providers"]}
    assert providers["wechat_pay"] == {
        "provider": "wechat_pay",
        "started": 6,
        "paid": 2,
        "held": 1,
        "paid_otherwise": 1,
        "abandoned": 2,
        "abandoned_fen": 50_000,
        "pending": 0,
    }
    assert (providers["alipay"]["started"], providers["alipay"]["abandoned"]) == (1, 1)
    assert providers["alipay"]["abandoned_fen"] == 12_345


def test_an_order_whose_time_is_not_over_when_the_report_runs_is_pending():
    figures = abandoned_orders(DAY, at("2026-11-11 12:00"), [order("U1", "2026-11-11 11:00")], [], SHANGHAI)
    [wechat] = [p for p in figures["providers"] if p["provider"] == "wechat_pay"]
    assert (wechat["started"], wechat["abandoned"], wechat["pending"]) == (1, 0, 1)


def test_the_rules_cut_off_decides_which_orders_the_day_counts_abandoned():
    """rules.yaml `reports.abandoned_after_minutes`: the file's two hours by default; an hour moves an order started
    at 22:30 into the day's abandoned ones (its hour ends at 23:30), and one started at 22:59 the day before out."""
    import pydantic

    from propfee.rules import load_rules, parse_rules

    orders = (order("U1", "2026-11-11 22:30"), order("U2", "2026-11-10 22:59", fen=10_000))
    shipped = load_rules().reports.abandoned_after
    hour = parse_rules("reports: {abandoned_after_minutes: 60}").reports.abandoned_after

    def abandoned(after):
        figures = abandoned_orders(DAY, at("2026-11-12 00:15"), orders, [], SHANGHAI, after)
        [wechat] = [p for p in figures["providers"] if p["provider"] == "wechat_pay"]
        return figures["after_hours"], wechat["abandoned"], wechat["abandoned_fen"]

    assert shipped == timedelta(hours=2) and abandoned(shipped) == (2, 1, 10_000)  # U2's two hours end on the day
    assert abandoned(hour) == (1, 1, 25_000)  # U1's hour ends on the day, U2's ended the day before
    section = online_section(DAY, at("2026-11-12 00:15"), [DayActivity(orders=orders)], [], [], SHANGHAI,
                             abandoned_after=hour)  # fmt: skip
    assert section["abandoned_orders"]["after_hours"] == 1
    for refused in (10, 25 * 60):  # an order its cashier may still pay; beyond the week the report reads
        with pytest.raises(pydantic.ValidationError):
            parse_rules(f"reports: {{abandoned_after_minutes: {refused}}}")


# ------------------------------------------------------------------------------------ the section
@pytest.fixture()
def week() -> list[DayActivity]:
    days = [DayActivity() for _ in range(7)]
    days[0] = DayActivity(reminders=(reminder("U1", "2026-11-04 10:00"),))
    days[6] = DayActivity(
        reminders=(reminder("U2", "2026-11-10 10:00"),),
        link_openings=(opened("U1", "2026-11-10 08:00"),),
        orders=(order("U3", "2026-11-10 23:30"),),
    )
    return days


def test_the_section_reads_the_week_before_for_reminders_openings_and_late_orders(week):
    today = DayActivity(
        payments=(online("U2", 25_000, "2026-11-11 10:00"),),
        link_openings=(opened("U2", "2026-11-11 09:55"),),
    )

    section = online_section(DAY, at("2026-11-12 00:15"), [today], week, [], SHANGHAI)

    assert section["day"]["online"] == {"count": 1, "amount_fen": 25_000}
    [step] = section["reminder_to_payment"]["steps"]
    assert (step["step"], step["median_hours"], step["online"]) == ("sms_d1", 24.0, 1)
    sms = next(c for c in section["link_opened"]["channels"] if c["channel"] == "sms")
    assert (sms["cohort_reminders"], sms["cohort_opened"]) == (1, 1)  # U1, opened on the 10th
    assert next(p for p in section["abandoned_orders"]["providers"] if p["provider"] == "wechat_pay")["abandoned"] == 1
    assert section["month_to_date"]["days_missing"] == 10  # no snapshots given

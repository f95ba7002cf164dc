"""One day of a small company as the daily report sees it: payments, reminders, skips, debtors, tickets and
collectors of two communities. Shared by the report's unit tests, its formats and the browser test."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from propfee.accounts import ledger
from propfee.domain.activity import DayActivity, Skip
from propfee.domain.models import (
    Bill,
    Channel,
    Community,
    Hold,
    HoldKind,
    Owner,
    Payment,
    PeriodTotal,
    Reminder,
    ReminderStatus,
    Ticket,
    TicketStatus,
    Unit,
)
from propfee.reports.summary import CommunityDay, CompanyDay
from tests import support
from tests.support.builders import SHANGHAI

DAY = date(2025, 3, 5)
GENERATED_AT = datetime(2025, 3, 5, 21, 30, tzinfo=SHANGHAI)
BOM = b"\xef\xbb\xbf"
HOSTILE = ['=HYPERLINK("http://x")', "+1", "-1+1", "@SUM(1)", "\t=1"]


def _at(hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, 5, hour, minute, tzinfo=SHANGHAI)


def payment(
    community_id: str, n: int, amount_fen: int, hour: int, method: str = "wechat", reference: str | None = None
) -> Payment:
    return Payment(
        reference=reference or f"{community_id}-PAY-{n:04d}",
        unit_id=f"{community_id}-B01-{n:04d}",
        community_id=community_id,
        amount_fen=amount_fen,
        paid_at=_at(hour),
        method=method,
    )


def reminder(community_id: str, n: int, channel: Channel, status: ReminderStatus, hour: int) -> Reminder:
    return Reminder(
        unit_id=f"{community_id}-B02-{n:04d}",
        community_id=community_id,
        step="sms_d1" if channel is Channel.SMS else "email_d7",
        occurrence=1,
        channel=channel,
        destination="+8613812345678" if channel is Channel.SMS else "owner@example.net",
        template="reminder_friendly",
        template_version="abcdef123456",
        content_sha256="0" * 64,
        balance_fen=21_044,
        status=status,
        claimed_at=_at(hour),
        sent_at=None if status is ReminderStatus.FAILED else _at(hour, 1),
    )


def skip(community_id: str, n: int, reason: str, hour: int) -> Skip:
    return Skip(
        unit_id=f"{community_id}-B03-{n:04d}", community_id=community_id, step="sms_d15", reason=reason, at=_at(hour)
    )


def period(community_id: str, name: str, billed: int, paid: int) -> PeriodTotal:
    return PeriodTotal(community_id=community_id, period=name, billed_fen=billed, paid_fen=paid, bills=10)


# ---------------------------------------------------------------- debtors, built from raw bills and payments
# Each unit is the ledger's result of its bills and payments; the expected figures are recounted from those raw
# records (bill amounts less the money each payment allocated to them), never from the unit's own open_bills.


@dataclass(frozen=True)
class Ledger:
    unit: Unit
    bills: tuple[Bill, ...]
    allocations: tuple[dict[str, int], ...]  # per payment: period -> fen (negative for a refund)


def due_days_ago(days: int) -> date:
    return DAY - timedelta(days=days)


def ledger_unit(unit_id: str, bills: list[tuple[str, int, int]], payments: list[int] = (), **changes: Any) -> Ledger:
    """bills: (period, amount fen, days before DAY it fell due); payments in order, negative for a refund."""
    unit = support.unit(unit_id, **changes)
    made = []
    for period_name, amount, days in bills:
        made.append(support.bill(unit_id, period_name, amount, due_days_ago(days)))
        unit = ledger.with_bill(unit, made[-1])
    allocations: list[dict[str, int]] = []
    for n, amount in enumerate(payments):
        pay = Payment(
            reference=f"{unit_id}-P{n}",
            unit_id=unit_id,
            community_id=unit.community_id,
            amount_fen=amount,
            paid_at=_at(8),
        )
        if amount > 0:
            allocation = ledger.allocate(unit, pay)
        else:
            paid = [
                ledger.PaidBill(b.period, b.due, b.amount_fen, sum(a.get(b.period, 0) for a in allocations))
                for b in made
            ]
            allocation = ledger.refund(unit, paid, pay)
        allocations.append(dict(allocation.by_period))
        unit = allocation.unit_after
    return Ledger(unit, tuple(made), tuple(allocations))


def debtors(community_id: str) -> list[Ledger]:
    c = community_id
    both = (Owner(name="王芳", phone="+8613812345678"), Owner(name="李雷", phone="+8613912345678", relation="co_owner"))
    return [
        # each bucket boundary, one unit on each side
        *(
            ledger_unit(f"{c}-B05-{days:04d}", [("2024-01", 10_000 + days, days)])
            for days in (30, 31, 90, 91, 180, 181, 365, 366)
        ),
        # bills spanning periods and buckets, partly paid: counted once, in the bucket of its oldest overdue bill
        ledger_unit(
            f"{c}-B06-0001",
            [("2024-01", 30_000, 400), ("2024-10", 30_000, 120), ("2025-02", 30_000, 10), ("2025-03", 30_000, 0)],
            [35_000],  # settles the oldest bill and 5,000 of the next
            owners=both,
            key_customer=True,
            holds=(
                Hold(kind=HoldKind.DISPUTE, reason="账单有异议"),
                Hold(kind=HoldKind.MANUAL, until=date(2025, 1, 1)),
            ),
        ),
        # paid in full, then part of it refunded: the refund re-opens the bill
        ledger_unit(f"{c}-B06-0002", [("2025-01", 20_000, 45)], [20_000, -7_500]),
        # a promise to pay that ended: not in force
        ledger_unit(
            f"{c}-B06-0003",
            [("2024-12", 50_000, 60)],
            [1_000],
            holds=(Hold(kind=HoldKind.PROMISE_TO_PAY, until=date(2025, 3, 4)),),
        ),
        # a promise until today: in force
        ledger_unit(f"{c}-B06-0004", [("2024-12", 40_000, 61)], holds=(Hold(kind=HoldKind.PROMISE_TO_PAY, until=DAY),)),
    ]


def owing(community_id: str) -> tuple[Unit, ...]:
    """What the arrears index lists: units whose oldest unpaid bill fell due before the day."""
    units = (d.unit for d in debtors(community_id))
    return tuple(u for u in units if u.oldest_due is not None and u.oldest_due < DAY)


def ticket(n: int, community_id: str, department: str, intent: str, created: str, due: str, **changes: Any) -> Ticket:
    fields: dict[str, Any] = {
        "ticket_id": f"T20250305-{n + {'C01': 0x100, 'C02': 0x200}.get(community_id, 0):08X}",
        "community_id": community_id,
        "unit_ids": (f"{community_id}-B06-0001",) if community_id != "UNKNOWN" else (),
        "department": department,
        "intent": intent,
        "channel": "sms",
        "contact": "+8613700000000",
        "message": "业主的原话：楼上漏水",
        "created_at": datetime.fromisoformat(created).replace(tzinfo=SHANGHAI),
        "due_by": datetime.fromisoformat(due).replace(tzinfo=SHANGHAI),
        "source_id": f"msg-{n}",
    }
    return Ticket(**{**fields, **changes})


def tickets(community_id: str) -> tuple[Ticket, ...]:
    c = community_id
    resolved = {"status": TicketStatus.RESOLVED, "resolution": "已处理"}
    return (
        # new today, open, deadline after the report time
        ticket(1, c, "engineering", "complaint", "2025-03-05 09:00", "2025-03-06 09:00", category="leak"),
        # created days ago, open and past its deadline, escalated
        ticket(
            2,
            c,
            "engineering",
            "complaint",
            "2025-03-01 09:00",
            "2025-03-02 09:00",
            category="lift",
            escalated_at=datetime(2025, 3, 2, 10, 0, tzinfo=SHANGHAI),
        ),
        # past its deadline by a minute at the report time
        ticket(3, c, "customer_service", "unknown", "2025-03-04 21:29", "2025-03-05 21:29"),
        # due exactly at the report time: not yet overdue
        ticket(4, c, "customer_service", "help", "2025-03-04 21:30", "2025-03-05 21:30"),
        # an open bill dispute within its deadline: a leftover issue all the same
        ticket(5, c, "finance", "bill_dispute", "2025-03-03 10:00", "2025-03-08 10:00", hold=HoldKind.DISPUTE),
        # resolved today (created yesterday), and one resolved yesterday, one created and resolved today
        ticket(
            6,
            c,
            "finance",
            "paid_claim",
            "2025-03-04 10:00",
            "2025-03-05 10:00",
            resolved_at=datetime(2025, 3, 5, 11, 0, tzinfo=SHANGHAI),
            **resolved,
        ),
        ticket(
            7,
            c,
            "finance",
            "paid_claim",
            "2025-03-03 10:00",
            "2025-03-04 10:00",
            resolved_at=datetime(2025, 3, 4, 23, 59, tzinfo=SHANGHAI),
            **resolved,
        ),
        ticket(
            8,
            c,
            "engineering",
            "complaint",
            "2025-03-05 00:00",
            "2025-03-05 12:00",
            resolved_at=datetime(2025, 3, 5, 23, 59, tzinfo=SHANGHAI),
            **resolved,
        ),
        # a resolved dispute past its deadline: not a leftover issue
        ticket(
            9,
            c,
            "finance",
            "bill_dispute",
            "2025-02-01 10:00",
            "2025-02-03 10:00",
            resolved_at=datetime(2025, 3, 1, 9, 0, tzinfo=SHANGHAI),
            **resolved,
        ),
    )


REPLY_INTENTS = ("complaint", "opt_out", "complaint", "paid_claim", "unknown", "not_classified")


def entries(community_name: str = "阳光花园") -> list[CommunityDay]:
    sunshine = CommunityDay(
        community=Community(community_id="C01", name=community_name),
        activity=DayActivity(
            payments=(payment("C01", 1, 30_000, 9), payment("C01", 2, 20_000, 11), payment("C01", 3, 10_000, 15)),
            reminders=(
                reminder("C01", 1, Channel.SMS, ReminderStatus.SENT, 9),
                reminder("C01", 2, Channel.SMS, ReminderStatus.DELIVERED, 9),
                reminder("C01", 3, Channel.EMAIL, ReminderStatus.SENT, 10),
                reminder("C01", 4, Channel.SMS, ReminderStatus.FAILED, 10),
                # claimed, and the provider's answer never recorded: not counted as sent
                reminder("C01", 5, Channel.SMS, ReminderStatus.CLAIMED, 10),
                # a call task given to a collector: counted apart from messages
                reminder("C01", 6, Channel.CALL, ReminderStatus.ASSIGNED, 10),
            ),
            skips=(
                skip("C01", 1, "frequency_cap", 9),
                skip("C01", 2, "frequency_cap", 9),
                skip("C01", 3, "key_customer", 9),
            ),
        ),
        periods=[
            period("C01", "2025-03", 100_000, 60_000),
            period("C01", "2025-02", 100_000, 90_000),
            period("C01", "2025-01", 50_000, 50_000),
        ],
        owing=owing("C01"),
        reply_intents=REPLY_INTENTS,
        tickets=tickets("C01"),
    )
    garden = CommunityDay(
        community=Community(community_id="C02", name="锦绣家园"),
        activity=DayActivity(
            reminders=(reminder("C02", 1, Channel.EMAIL, ReminderStatus.FAILED, 9),),
            skips=(skip("C02", 1, "frequency_cap", 9),),
        ),
        periods=[period("C02", "2025-03", 50_000, 0)],
        owing=(debtors("C02")[8].unit, debtors("C02")[9].unit),
        reply_intents=("help",),
        tickets=(tickets("C02")[1],),
    )
    return [sunshine, garden]


def company() -> CompanyDay:
    return CompanyDay(
        timezone="Asia/Shanghai",
        reply_intents=("unknown", "opt_out"),
        tickets=(ticket(20, "UNKNOWN", "customer_service", "unknown", "2025-03-05 08:00", "2025-03-05 20:00"),),
        dead_letters={"tickets": 2, "send": 0, "inbound_sms": 1, "delivery_events": 0},
    )


SCRIPT = "<script>alert(1)</script>"
LINK = '=HYPERLINK("http://x","y")'
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def hostile_entries() -> list[CommunityDay]:
    """A community named like a script, one named like a formula, payments whose reference and method are one,
    a room and a ticket category written like a formula, and an owner's message full of both."""
    days = entries(community_name=SCRIPT)
    garden = days[1]
    hostile_unit = garden.owing[0].model_copy(update={"room": SCRIPT, "building_id": "C02-" + LINK})
    hostile_ticket = garden.tickets[0].model_copy(
        update={"category": "=1+2", "message": SCRIPT + LINK, "contact": "@SUM(1)", "unit_ids": (SCRIPT,)}
    )
    days[1] = CommunityDay(
        garden.community.model_copy(update={"name": LINK}),
        DayActivity(
            payments=(
                payment("C02", 1, 1_000, 9, method="@SUM(1)", reference="=1+2"),
                payment("C02", 2, 2_000, 10, method=SCRIPT, reference="@SUM(1)"),
            ),
            reminders=garden.activity.reminders,
            skips=garden.activity.skips,
        ),
        garden.periods,
        owing=(hostile_unit, *garden.owing[1:]),
        reply_intents=("=1+2", SCRIPT),
        tickets=(hostile_ticket,),
    )
    return days


def with_a_month_of_history(days: list[CommunityDay]) -> list[CommunityDay]:
    """The same day after 30 days of reports: each community's snapshots from its period totals as they stood,
    the current period billed on the 1st and paid a little each day (so the trend table is long, and the
    day's balance has the previous day to open from)."""
    from propfee.reports.history import day_snapshot

    result = []
    for entry in days:
        snapshots = []
        collected = sum(p.amount_fen for p in entry.activity.payments)
        for back in range(29, -1, -1):
            moment = DAY - timedelta(days=back)
            # the totals of that day: bills of a later month not issued yet, and what was paid since (the day's
            # payments, 10 yuan each day before) taken off the latest period again
            periods = sorted(
                (p for p in entry.periods if p.period <= f"{moment.year:04d}-{moment.month:02d}"),
                key=lambda p: p.period,
            )
            paid_since = (collected if back else 0) + 1_000 * max(back - 1, 0)
            if periods:
                latest = periods[-1]
                periods[-1] = latest.model_copy(update={"paid_fen": max(latest.paid_fen - paid_since, 0)})
            activity = entry.activity if back == 0 else DayActivity()
            snapshots.append(day_snapshot(entry.community.community_id, moment, activity, periods, (), ()))
        result.append(
            CommunityDay(
                entry.community,
                entry.activity,
                entry.periods,
                owing=entry.owing,
                reply_intents=entry.reply_intents,
                tickets=entry.tickets,
                history=tuple(snapshots),
            )
        )
    return result

"""The daily summary (summary.json): one day's figures for each community and for the whole company."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from propfee.domain.activity import DayActivity
from propfee.domain.day_snapshot import DaySnapshot
from propfee.domain.models import Collector, Community, PeriodTotal, ReminderStatus, Task, Ticket, Unit
from propfee.domain.money import rate
from propfee.domain.staff_actions import StaffAction
from propfee.feedback.responses import DEFAULT_DEPARTMENTS, DepartmentContact
from propfee.reports.history import Phase, collectors_today, effectiveness, phase_progress, trend
from propfee.reports.online import ABANDONED_AFTER, online_section
from propfee.reports.sections import (
    arrears_aging,
    company_effectiveness,
    company_trend,
    feedback_figures,
    most_owed,
    top_debtors,
)
from propfee.reports.staff_day import StaffLabel, staff_actions_section

# 2: arrears aging, top debtors, replies, tickets, leftover issues, dead-letter depths
# 3: 30-day trend, reminder effectiveness, collectors' day, progress against phased targets
# 4: the day's balance (opening + new bills - collected + adjustments = closing), the company's time zone
# 5: the reconciliation run that day of each provider's trade bill (of the day before)
# 6: online payments: online (by provider) versus imported for the day and the month to date, hours from a
#    reminder to its payment, reminders whose bill link was opened, orders started and left unpaid
# 7: the day's staff actions (totals.staff_actions): collectors' recorded outcomes by where and notes, the
#    departments' ticket actions by whom; a summary before it has none (the tables are empty, nothing fails)
SCHEMA_VERSION = 7


@dataclass(frozen=True)
class CommunityDay:
    community: Community
    activity: DayActivity
    periods: list[PeriodTotal]
    owing: tuple[Unit, ...] = ()  # the units the arrears index lists (oldest unpaid bill due before the day)
    reply_intents: tuple[str, ...] = ()  # the intent of each owner's message of the day, nothing of its text
    tickets: tuple[Ticket, ...] = ()  # open tickets, and resolved ones, of this community
    # the report's own snapshots of earlier days and of this one (trend, effectiveness, targets)
    history: tuple[DaySnapshot, ...] = ()
    phase: Phase | None = None  # the phased targets in force that day, if any
    # the activity of the EFFECT_DAYS before the day (reminders before its payments, links opened, orders)
    week: tuple[DayActivity, ...] = ()


@dataclass(frozen=True)
class CompanyDay:
    """What is not one community's: messages and tickets of senders no unit matched, the DLQ depths, and the
    timezone that makes 'today' of a ticket's times."""

    timezone: str = "Asia/Shanghai"
    reply_intents: tuple[str, ...] = ()
    tickets: tuple[Ticket, ...] = ()
    dead_letters: Mapping[str, int] = field(default_factory=dict)
    collectors: tuple[Collector, ...] = ()
    open_tasks: Mapping[str, tuple[Task, ...]] = field(default_factory=dict)  # by collector id
    # what the nightly reconciliation found in each provider's bill (payments/reconciliation.py), as kept
    reconciliations: tuple[Mapping[str, Any], ...] = ()
    # what the rules file calls each department: the page and the workbook name them so
    departments: Mapping[str, DepartmentContact] = field(
        default_factory=lambda: {str(k): v for k, v in DEFAULT_DEPARTMENTS.items()}
    )
    # the day's staff actions (the audit trail's day index) and how the report names each person (by sub)
    staff_actions: tuple[StaffAction, ...] = ()
    staff: Mapping[str, StaffLabel] = field(default_factory=dict)
    abandoned_after: timedelta = ABANDONED_AFTER  # the rules' reports.abandoned_after_minutes


def balance(
    day: date, history: tuple[DaySnapshot, ...], billed_fen: int, closing_fen: int, collected_fen: int
) -> dict[str, object]:
    """How the outstanding balance moved over the day: opening (the previous day's closing, from its snapshot)
    + new bills (what the period totals billed since) - collected (the day's payments, net of refunds)
    + adjustments = closing. Adjustments are what the totals moved by other than those (money towards a later
    period, corrections). Without the previous day's snapshot the opening, new bills and adjustments are
    unknown (None)."""
    before = next((s for s in history if s.day == day - timedelta(days=1)), None)
    opening = new_bills = adjustments = None
    if before is not None:
        opening = before.billed_fen + before.back_billed_fen - before.paid_fen - before.back_paid_fen
        new_bills = billed_fen - before.billed_fen - before.back_billed_fen
        adjustments = closing_fen - opening - new_bills + collected_fen
    return {
        "opening_fen": opening,
        "new_bills_fen": new_bills,
        "collected_fen": collected_fen,
        "adjustments_fen": adjustments,
        "closing_fen": closing_fen,
    }


def _company_balance(communities: list[dict[str, Any]], closing_fen: int, collected_fen: int) -> dict[str, object]:
    parts = [c["balance"] for c in communities]
    known = all(p["opening_fen"] is not None for p in parts)

    def total(name: str) -> int | None:
        return sum(p[name] for p in parts) if known else None

    return {
        "opening_fen": total("opening_fen"),
        "new_bills_fen": total("new_bills_fen"),
        "collected_fen": collected_fen,
        "adjustments_fen": total("adjustments_fen"),
        "closing_fen": closing_fen,
    }


def _community_figures(
    day: date, generated_at: datetime, entry: CommunityDay, tz: ZoneInfo, abandoned_after: timedelta = ABANDONED_AFTER
) -> dict[str, object]:
    period = f"{day.year:04d}-{day.month:02d}"
    current = [p for p in entry.periods if p.period == period]
    back = [p for p in entry.periods if p.period < period]
    billed_current = sum(p.billed_fen for p in current)
    paid_current = sum(p.paid_fen for p in current)
    billed_back = sum(p.billed_fen for p in back)
    paid_back = sum(p.paid_fen for p in back)
    payments = entry.activity.payments
    reminders = entry.activity.reminders
    sent = Counter(r.channel.value for r in reminders if r.status in (ReminderStatus.SENT, ReminderStatus.DELIVERED))
    failed = Counter(r.channel.value for r in reminders if r.status is ReminderStatus.FAILED)
    # claimed but never confirmed by the provider (a crash between the two): counted, never called sent
    unconfirmed = Counter(r.channel.value for r in reminders if r.status is ReminderStatus.CLAIMED)
    assigned = Counter(r.channel.value for r in reminders if r.status is ReminderStatus.ASSIGNED)  # call/visit tasks
    return {
        "community_id": entry.community.community_id,
        "name": entry.community.name,
        "collections": {"count": len(payments), "amount_fen": sum(p.amount_fen for p in payments)},
        "current_period": {
            "period": period,
            "billed_fen": billed_current,
            "paid_fen": paid_current,
            "collection_rate": rate(paid_current, billed_current),
        },
        "back_arrears": {
            "billed_fen": billed_back,
            "paid_fen": paid_back,
            "outstanding_fen": billed_back - paid_back,
            "collection_rate": rate(paid_back, billed_back),
        },
        "outstanding_fen": (closing := billed_current + billed_back - paid_current - paid_back),
        "balance": balance(
            day, entry.history, billed_current + billed_back, closing, sum(p.amount_fen for p in payments)
        ),
        "reminders": {
            "sent": dict(sorted(sent.items())),
            "failed": dict(sorted(failed.items())),
            "unconfirmed": dict(sorted(unconfirmed.items())),
            "assigned": dict(sorted(assigned.items())),
            "skipped": dict(sorted(Counter(s.reason for s in entry.activity.skips).items())),
        },
        "arrears_aging": arrears_aging(day, entry.owing),
        "top_debtors": top_debtors(day, entry.community.community_id, entry.owing),
        **feedback_figures(day, generated_at, entry.reply_intents, entry.tickets, tz),
        "trend": trend(entry.history, day),
        "reminder_effectiveness": effectiveness(entry.history, day),
        "targets": phase_progress(entry.phase, entry.history, day),
        "online_payments": online_section(
            day, generated_at, [entry.activity], entry.week, entry.history, tz, abandoned_after=abandoned_after
        ),
    }


def _add_counts(total: dict[str, int], part: dict[str, int]) -> None:
    for key, value in part.items():
        total[key] = total.get(key, 0) + value


def build_summary(
    day: date, generated_at: datetime, entries: list[CommunityDay], company: CompanyDay | None = None
) -> dict[str, object]:
    company = company or CompanyDay()
    tz = ZoneInfo(company.timezone)
    communities = [_community_figures(day, generated_at, entry, tz, company.abandoned_after) for entry in entries]
    unmatched = feedback_figures(day, generated_at, company.reply_intents, company.tickets, tz)
    totals: dict[str, object] = {}
    count = sum(c["collections"]["count"] for c in communities)  # type: ignore[index]
    amount = sum(c["collections"]["amount_fen"] for c in communities)  # type: ignore[index]
    billed = sum(c["current_period"]["billed_fen"] for c in communities)  # type: ignore[index]
    paid = sum(c["current_period"]["paid_fen"] for c in communities)  # type: ignore[index]
    back_billed = sum(c["back_arrears"]["billed_fen"] for c in communities)  # type: ignore[index]
    back_paid = sum(c["back_arrears"]["paid_fen"] for c in communities)  # type: ignore[index]
    reminder_totals: dict[str, dict[str, int]] = {
        "sent": {},
        "failed": {},
        "unconfirmed": {},
        "assigned": {},
        "skipped": {},
    }
    for c in communities:
        for kind, total in reminder_totals.items():
            _add_counts(total, c["reminders"][kind])  # type: ignore[index]
    totals = {
        "collections": {"count": count, "amount_fen": amount},
        "current_period": {"billed_fen": billed, "paid_fen": paid, "collection_rate": rate(paid, billed)},
        "back_arrears": {
            "billed_fen": back_billed,
            "paid_fen": back_paid,
            "outstanding_fen": back_billed - back_paid,
            "collection_rate": rate(back_paid, back_billed),
        },
        "outstanding_fen": billed + back_billed - paid - back_paid,
        "balance": _company_balance(communities, billed + back_billed - paid - back_paid, amount),
        "reminders": reminder_totals,
        # the company: every community's debtors, and messages and tickets with or without a community
        "arrears_aging": arrears_aging(day, (u for entry in entries for u in entry.owing)),
        "top_debtors": most_owed(d for c in communities for d in c["top_debtors"]),  # type: ignore[attr-defined]
        **feedback_figures(
            day,
            generated_at,
            [*(i for entry in entries for i in entry.reply_intents), *company.reply_intents],
            (*(t for entry in entries for t in entry.tickets), *company.tickets),
            tz,
        ),
        "dead_letters": dict(sorted(company.dead_letters.items())),
        "trend": company_trend(communities),
        "reminder_effectiveness": company_effectiveness(communities),
        "collectors": collector_figures(day, generated_at, entries, company),
        "staff_actions": staff_actions_section(
            company.staff_actions,
            company.staff,
            company.collectors,
            {t.task_id: t for entry in entries for t in entry.activity.tasks_done},
            {t.ticket_id: t for t in (*(t for entry in entries for t in entry.tickets), *company.tickets)},
        ),
        "reconciliation": reconciliation_figures(company.reconciliations),
        "online_payments": online_section(
            day,
            generated_at,
            [entry.activity for entry in entries],
            [a for entry in entries for a in entry.week],
            [s for entry in entries for s in entry.history],
            tz,
            communities=len(entries),
            abandoned_after=company.abandoned_after,
        ),
    }
    return {
        "schema_version": SCHEMA_VERSION,
        "date": day.isoformat(),
        "generated_at": generated_at.isoformat(),
        "timezone": company.timezone,  # the report's local times are in it
        "totals": totals,
        "communities": communities,
        "unmatched": unmatched,  # owners' messages and tickets from senders no unit matched (in the totals)
    }


def collector_figures(
    day: date, generated_at: datetime, entries: list[CommunityDay], company: CompanyDay
) -> list[dict[str, object]]:
    """Each collector's day: tasks closed by outcome and the balances promised (from the communities'
    snapshots of the day), tasks open now and those of them past their deadline."""
    today = collectors_today((s for e in entries for s in e.history), day)
    rows = []
    for collector in sorted(company.collectors, key=lambda c: c.collector_id):
        done = today.get(collector.collector_id)
        open_tasks = company.open_tasks.get(collector.collector_id, ())
        rows.append(
            {
                "collector_id": collector.collector_id,
                "name": collector.name,
                "role": collector.role,
                "open": len(open_tasks),
                "open_overdue": sum(t.due_by < generated_at for t in open_tasks),
                "done": dict(done.done) if done else {},
                "promised_fen": done.promised_fen if done else 0,
            }
        )
    return rows


RECONCILIATION_FIGURES = (
    "rows", "payments", "payments_fen", "refunds", "refunds_fen", "matched", "reconciled", "reconciled_fen",
    "unknown", "mismatched",
)  # fmt: skip


def reconciliation_figures(records: tuple[Mapping[str, Any], ...]) -> list[dict[str, object]]:
    """Per provider: its bill's day, the figures, the finance ticket and the findings listed (never a name)."""
    return [
        {
            "provider": str(r["provider"]),
            "bill_day": str(r["day"]),
            **{name: int(r.get(name) or 0) for name in RECONCILIATION_FIGURES},
            "ticket_id": r.get("ticket_id"),
            "findings": [dict(f) for f in r.get("findings") or ()],
        }
        for r in sorted(records, key=lambda r: str(r["provider"]))
    ]

"""The summary's sections from plain records: arrears aging, top debtors, replies, tickets, leftover issues, trends."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from propfee.collection.policy import active_hold
from propfee.domain.models import HoldKind, Ticket, TicketStatus, Unit
from propfee.domain.money import rate
from propfee.feedback.intents import Intent

# arrears aging (欠费账龄): (key, first day, last day) overdue; None: no upper bound
AGING_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("1-30", 1, 30),
    ("31-90", 31, 90),
    ("91-180", 91, 180),
    ("181-365", 181, 365),
    ("over_365", 366, None),
)
TOP_DEBTORS = 10
TICKET_FIGURES = ("new_today", "open", "overdue", "resolved_today")


def _bucket(days: int) -> str:
    return next(key for key, low, high in AGING_BUCKETS if days >= low and (high is None or days <= high))


def _overdue_bills(unit: Unit, day: date) -> list[tuple[date, int]]:
    return [(b.due, b.outstanding_fen) for b in unit.open_bills.values() if b.outstanding_fen > 0 and b.due < day]


def arrears_aging(day: date, units: Iterable[Unit]) -> dict[str, object]:
    """Overdue money by the age of each open bill, and each unit in the bucket of its oldest overdue bill."""
    amounts = dict.fromkeys((key for key, _, _ in AGING_BUCKETS), 0)
    counts = dict.fromkeys(amounts, 0)
    for unit in units:
        bills = _overdue_bills(unit, day)
        if not bills:
            continue
        for due, fen in bills:
            amounts[_bucket((day - due).days)] += fen
        counts[_bucket((day - min(due for due, _ in bills)).days)] += 1
    return {
        "as_of": day.isoformat(),
        "units": sum(counts.values()),
        "overdue_fen": sum(amounts.values()),
        "buckets": [
            {"bucket": key, "min_days": low, "max_days": high, "units": counts[key], "overdue_fen": amounts[key]}
            for key, low, high in AGING_BUCKETS
        ],
    }


def _debtor(day: date, community_id: str, unit: Unit) -> dict[str, object] | None:
    bills = _overdue_bills(unit, day)
    if not bills:
        return None
    oldest = min(due for due, _ in bills)
    return {
        "community_id": community_id,
        "unit_id": unit.unit_id,
        "unit": unit.label,  # never the owner's name (PIPL)
        "overdue_fen": sum(fen for _, fen in bills),
        "oldest_due": oldest.isoformat(),
        "days_overdue": (day - oldest).days,
        "hold": hold.kind.value if (hold := active_hold(unit.holds, day)) else None,
        "key_customer": unit.key_customer,
    }


def most_owed(debtors: Iterable[dict[str, object]]) -> list[dict[str, object]]:
    """The TOP_DEBTORS debtors owing the most overdue money, most first (ties by community, then unit)."""
    ranked = sorted(debtors, key=lambda d: (-int(d["overdue_fen"]), str(d["community_id"]), str(d["unit_id"])))  # type: ignore[call-overload]
    return ranked[:TOP_DEBTORS]


def top_debtors(day: date, community_id: str, units: Iterable[Unit]) -> list[dict[str, object]]:
    """The units owing the most overdue money, most first."""
    return most_owed(d for d in (_debtor(day, community_id, u) for u in units) if d is not None)


def _local_day(moment: datetime | None, tz: ZoneInfo) -> date | None:
    return moment.astimezone(tz).date() if moment is not None else None


def ticket_figures(
    day: date, generated_at: datetime, tickets: Iterable[Ticket], tz: ZoneInfo
) -> dict[str, dict[str, int]]:
    """Per department: created on the day, open now, open past their deadline now, resolved on the day."""
    figures: dict[str, dict[str, int]] = {}
    for ticket in tickets:
        counts = figures.setdefault(ticket.department, dict.fromkeys(TICKET_FIGURES, 0))
        is_open = ticket.status is TicketStatus.OPEN
        counts["new_today"] += _local_day(ticket.created_at, tz) == day
        counts["open"] += is_open
        counts["overdue"] += is_open and ticket.due_by < generated_at
        counts["resolved_today"] += not is_open and _local_day(ticket.resolved_at, tz) == day
    return dict(sorted(figures.items()))


def _is_dispute(ticket: Ticket) -> bool:
    return ticket.intent == Intent.BILL_DISPUTE.value or ticket.hold is HoldKind.DISPUTE


def leftover_issues(generated_at: datetime, tickets: Iterable[Ticket]) -> list[dict[str, object]]:
    """遗留问题: open tickets past their deadline and open disputes; never the owner's words or contact."""
    issues: list[dict[str, object]] = []
    for t in sorted(tickets, key=lambda t: (t.due_by, t.ticket_id)):
        if t.status is not TicketStatus.OPEN:
            continue
        overdue, dispute = t.due_by < generated_at, _is_dispute(t)
        if overdue or dispute:
            issues.append(
                {
                    "ticket_id": t.ticket_id,
                    "department": t.department,
                    "intent": t.intent,
                    "category": t.category,
                    "community_id": t.community_id,
                    "created_at": t.created_at.isoformat(),
                    "due_by": t.due_by.isoformat(),
                    "escalated_at": t.escalated_at.isoformat() if t.escalated_at else None,
                    "unit_ids": list(t.unit_ids),
                    "overdue": overdue,
                    "dispute": dispute,
                }
            )
    return issues


def feedback_figures(
    day: date, generated_at: datetime, intents: Iterable[str], tickets: tuple[Ticket, ...], tz: ZoneInfo
) -> dict[str, object]:
    return {
        "replies": dict(sorted(Counter(intents).items())),
        "tickets": ticket_figures(day, generated_at, tickets, tz),
        "leftover_issues": leftover_issues(generated_at, tickets),
    }


def company_trend(communities: list[dict[str, Any]]) -> list[dict[str, object]]:
    """The communities' trends added up day by day (a day counts the communities that have a snapshot)."""
    days: dict[str, dict[str, int]] = {}
    for c in communities:
        for row in c["trend"]:
            total = days.setdefault(row["date"], Counter())
            total["communities"] += 1
            for name in ("payments", "collected_fen", "billed_fen", "paid_fen", "back_billed_fen", "back_paid_fen"):
                total[name] += row[name]
    return [
        {
            "date": d,
            **t,
            "collection_rate": rate(t["paid_fen"], t["billed_fen"]),
            "back_arrears_rate": rate(t["back_paid_fen"], t["back_billed_fen"]),
        }
        for d, t in sorted(days.items())
    ]


def company_effectiveness(communities: list[dict[str, Any]]) -> list[dict[str, object]]:
    steps: dict[str, Counter[str]] = {}
    for c in communities:
        for row in c["reminder_effectiveness"]:
            steps.setdefault(row["step"], Counter()).update(
                {name: row[name] for name in ("cohort_reminded", "cohort_paid", "reminded_30d", "paid_30d")}
            )
    return [
        {
            "step": step,
            **t,
            "cohort_rate": rate(t["cohort_paid"], t["cohort_reminded"]),
            "rate_30d": rate(t["paid_30d"], t["reminded_30d"]),
        }
        for step, t in sorted(steps.items())
    ]

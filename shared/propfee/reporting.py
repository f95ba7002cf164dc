"""The daily summary: pure aggregation of one day's activity, the maintained period totals, the debtors of the
arrears index (aging, top debtors), owners' replies and tickets, and the dead-letter depths; and its tables.

Debtors, open tickets and DLQ depths are as read when the report runs (00:15 the next day), aged as of the
report day: a report re-run later for an old day shows today's debtors aged as of that day, not a snapshot."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from propfee.intents import Department, Intent
from propfee.models import (
    Collector,
    Community,
    DayActivity,
    HoldKind,
    Language,
    PeriodTotal,
    ReminderStatus,
    Task,
    Ticket,
    TicketStatus,
    Unit,
)
from propfee.money import rate
from propfee.policy import active_hold
from propfee.ports import DeadLetterCounter, ObjectStore, ReportReader
from propfee.report_access import community_report_prefix
from propfee.report_formats import CONTENT_TYPES, Cell, Column, ReportTable, csv_bytes, html_page, workbook
from propfee.report_formats import safe_cell as safe_cell  # where evidence.py and older callers find it
from propfee.report_history import (
    EFFECT_DAYS,
    TASK_OUTCOMES,
    DaySnapshot,
    Phase,
    Targets,
    collectors_today,
    day_snapshot,
    effectiveness,
    history_window,
    phase_progress,
    trend,
)

# 2: arrears aging, top debtors, replies, tickets, leftover issues, dead-letter depths
# 3: 30-day trend, reminder effectiveness, collectors' day, progress against phased targets
SCHEMA_VERSION = 3

# arrears aging (欠费账龄): (key, first day, last day) overdue; None: no upper bound
AGING_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("1-30", 1, 30),
    ("31-90", 31, 90),
    ("91-180", 91, 180),
    ("181-365", 181, 365),
    ("over_365", 366, None),
)
TOP_DEBTORS = 10
UNMATCHED = "UNKNOWN"  # the community of a message or ticket whose sender matched no unit
TICKET_FIGURES = ("new_today", "open", "overdue", "resolved_today")


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


def _top(debtors: Iterable[dict[str, object]]) -> list[dict[str, object]]:
    ranked = sorted(debtors, key=lambda d: (-int(d["overdue_fen"]), str(d["community_id"]), str(d["unit_id"])))  # type: ignore[call-overload]
    return ranked[:TOP_DEBTORS]


def top_debtors(day: date, community_id: str, units: Iterable[Unit]) -> list[dict[str, object]]:
    """The units owing the most overdue money, most first."""
    return _top(d for d in (_debtor(day, community_id, u) for u in units) if d is not None)


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


def _feedback_figures(
    day: date, generated_at: datetime, intents: Iterable[str], tickets: tuple[Ticket, ...], tz: ZoneInfo
) -> dict[str, object]:
    return {
        "replies": dict(sorted(Counter(intents).items())),
        "tickets": ticket_figures(day, generated_at, tickets, tz),
        "leftover_issues": leftover_issues(generated_at, tickets),
    }


def _community_figures(day: date, generated_at: datetime, entry: CommunityDay, tz: ZoneInfo) -> dict[str, object]:
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
        "outstanding_fen": billed_current + billed_back - paid_current - paid_back,
        "reminders": {
            "sent": dict(sorted(sent.items())),
            "failed": dict(sorted(failed.items())),
            "unconfirmed": dict(sorted(unconfirmed.items())),
            "assigned": dict(sorted(assigned.items())),
            "skipped": dict(sorted(Counter(s.reason for s in entry.activity.skips).items())),
        },
        "arrears_aging": arrears_aging(day, entry.owing),
        "top_debtors": top_debtors(day, entry.community.community_id, entry.owing),
        **_feedback_figures(day, generated_at, entry.reply_intents, entry.tickets, tz),
        "trend": trend(entry.history, day),
        "reminder_effectiveness": effectiveness(entry.history, day),
        "targets": phase_progress(entry.phase, entry.history, day),
    }


def _add_counts(total: dict[str, int], part: dict[str, int]) -> None:
    for key, value in part.items():
        total[key] = total.get(key, 0) + value


def build_summary(
    day: date, generated_at: datetime, entries: list[CommunityDay], company: CompanyDay | None = None
) -> dict[str, object]:
    company = company or CompanyDay()
    tz = ZoneInfo(company.timezone)
    communities = [_community_figures(day, generated_at, entry, tz) for entry in entries]
    unmatched = _feedback_figures(day, generated_at, company.reply_intents, company.tickets, tz)
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
        "reminders": reminder_totals,
        # the company: every community's debtors, and messages and tickets with or without a community
        "arrears_aging": arrears_aging(day, (u for entry in entries for u in entry.owing)),
        "top_debtors": _top(d for c in communities for d in c["top_debtors"]),  # type: ignore[attr-defined]
        **_feedback_figures(
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
    }
    return {
        "schema_version": SCHEMA_VERSION,
        "date": day.isoformat(),
        "generated_at": generated_at.isoformat(),
        "totals": totals,
        "communities": communities,
        "unmatched": unmatched,  # owners' messages and tickets from senders no unit matched (in the totals)
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


# ---------------------------------------------------------------------------------------- the tables
# Built once; report_formats renders each as CSV, as a sheet of the workbook and as a table of the HTML page.
# Amounts are in yuan (from integer fen, exact to the fen), rates are fractions.


def _yuan(fen: int) -> float:
    return fen / 100


COMMUNITY_COLUMNS = (
    Column("community_id", "小区编号", "Community ID"),
    Column("community", "小区", "Community"),
    Column("payments_today", "今日收款笔数", "Payments today", "int"),
    Column("collected_today_yuan", "今日收款（元）", "Collected today (yuan)", "yuan"),
    Column("period", "本期", "Period"),
    Column("billed_yuan", "本期应收（元）", "Billed (yuan)", "yuan"),
    Column("paid_yuan", "本期实收（元）", "Paid (yuan)", "yuan"),
    Column("collection_rate", "本期收缴率", "Collection rate", "percent"),
    Column("back_arrears_outstanding_yuan", "往期欠费（元）", "Back arrears outstanding (yuan)", "yuan"),
    Column("outstanding_yuan", "欠费合计（元）", "Outstanding (yuan)", "yuan"),
    Column("sms_sent", "短信已发", "SMS sent", "int"),
    Column("email_sent", "邮件已发", "Emails sent", "int"),
    Column("reminders_skipped", "跳过催缴", "Reminders skipped", "int"),
)


def communities_table(summary: dict[str, object]) -> ReportTable:
    rows = []
    for c in summary["communities"]:  # type: ignore[attr-defined]
        sent = c["reminders"]["sent"]
        rows.append(
            (
                c["community_id"],
                c["name"],
                c["collections"]["count"],
                _yuan(c["collections"]["amount_fen"]),
                c["current_period"]["period"],
                _yuan(c["current_period"]["billed_fen"]),
                _yuan(c["current_period"]["paid_fen"]),
                c["current_period"]["collection_rate"],
                _yuan(c["back_arrears"]["outstanding_fen"]),
                _yuan(c["outstanding_fen"]),
                sent.get("sms", 0),
                sent.get("email", 0),
                sum(c["reminders"]["skipped"].values()),
            )
        )
    return ReportTable("communities", "小区汇总", "Communities", COMMUNITY_COLUMNS, tuple(rows))


COLLECTION_COLUMNS = (
    Column("community_id", "小区编号", "Community ID"),
    Column("unit_id", "房号", "Unit"),
    Column("paid_at", "付款时间", "Paid at"),
    Column("amount_yuan", "金额（元）", "Amount (yuan)", "yuan"),
    Column("amount_fen", "金额（分）", "Amount (fen)", "int"),
    Column("method", "付款方式", "Method"),
    Column("reference", "付款流水号", "Reference"),
)


def collections_table(entries: list[CommunityDay]) -> ReportTable:
    rows = [
        (
            entry.community.community_id,
            p.unit_id,
            p.paid_at.isoformat(),
            _yuan(p.amount_fen),
            p.amount_fen,
            p.method,
            p.reference,
        )
        for entry in entries
        for p in sorted(entry.activity.payments, key=lambda p: (p.paid_at, p.reference))
    ]
    return ReportTable("collections", "今日收款", "Collections", COLLECTION_COLUMNS, tuple(rows))


REMINDER_COLUMNS = (
    Column("community_id", "小区编号", "Community ID"),
    Column("unit_id", "房号", "Unit"),
    Column("at", "时间", "At"),
    Column("step", "催缴步骤", "Step"),
    Column("channel", "渠道", "Channel"),
    Column("status", "状态", "Status"),
    Column("balance_yuan", "欠费（元）", "Balance (yuan)", "yuan"),
    Column("skip_reason", "跳过原因", "Skip reason"),
)


def reminders_table(entries: list[CommunityDay]) -> ReportTable:
    rows: list[tuple[Cell, ...]] = []
    for entry in entries:
        community_id = entry.community.community_id
        for r in sorted(entry.activity.reminders, key=lambda r: (r.claimed_at, r.unit_id, r.step)):
            rows.append(
                (
                    community_id,
                    r.unit_id,
                    r.claimed_at.isoformat(),
                    r.step,
                    r.channel.value,
                    r.status.value,
                    _yuan(r.balance_fen),
                    None,
                )
            )
        for s in sorted(entry.activity.skips, key=lambda s: (s.at, s.unit_id, s.step)):
            rows.append((community_id, s.unit_id, s.at.isoformat(), s.step, None, "skipped", None, s.reason))
    return ReportTable("reminders", "今日催缴", "Reminders", REMINDER_COLUMNS, tuple(rows))


_TOTAL = ("", "合计 / Total")  # the company rows of a table, after the communities'


def _scopes(summary: dict[str, object]) -> list[tuple[tuple[str, str], dict[str, Any]]]:
    """(community id, name) and figures of each community, then of the company."""
    scopes = [((c["community_id"], c["name"]), c) for c in summary["communities"]]  # type: ignore[attr-defined]
    return [*scopes, (_TOTAL, summary["totals"])]  # type: ignore[list-item]


AGING_COLUMNS = (
    Column("community_id", "小区编号", "Community ID"),
    Column("community", "小区", "Community"),
    Column("bucket", "账龄（天）", "Days overdue"),
    Column("units", "户数", "Units", "int"),
    Column("overdue_yuan", "欠费（元）", "Overdue (yuan)", "yuan"),
    Column("overdue_fen", "欠费（分）", "Overdue (fen)", "int"),
)


def aging_table(summary: dict[str, object]) -> ReportTable:
    rows = [
        (*scope, b["bucket"], b["units"], _yuan(b["overdue_fen"]), b["overdue_fen"])
        for scope, figures in _scopes(summary)
        for b in figures["arrears_aging"]["buckets"]
    ]
    return ReportTable("arrears_aging", "欠费账龄", "Arrears aging", AGING_COLUMNS, tuple(rows))


DEBTOR_COLUMNS = (
    Column("community_id", "小区编号", "Community ID"),
    Column("rank", "排名", "Rank", "int"),
    Column("unit_id", "房屋编号", "Unit ID"),
    Column("unit", "房号", "Unit"),
    Column("overdue_yuan", "逾期欠费（元）", "Overdue (yuan)", "yuan"),
    Column("overdue_fen", "逾期欠费（分）", "Overdue (fen)", "int"),
    Column("oldest_due", "最早应缴日", "Oldest due date"),
    Column("days_overdue", "逾期天数", "Days overdue", "int"),
    Column("hold", "暂停催缴", "Hold in force"),
    Column("key_customer", "关键客户", "Key customer"),
)


def top_debtors_table(summary: dict[str, object]) -> ReportTable:
    rows = [
        (
            d["community_id"],
            rank,
            d["unit_id"],
            d["unit"],
            _yuan(d["overdue_fen"]),
            d["overdue_fen"],
            d["oldest_due"],
            d["days_overdue"],
            d["hold"],
            "yes" if d["key_customer"] else "no",
        )
        for c in summary["communities"]  # type: ignore[attr-defined]
        for rank, d in enumerate(c["top_debtors"], start=1)
    ]
    return ReportTable("top_debtors", "重点欠费户", "Top debtors", DEBTOR_COLUMNS, tuple(rows))


REPLY_COLUMNS = (
    Column("community_id", "小区编号", "Community ID"),
    Column("community", "小区", "Community"),
    Column("intent", "业主回复类型", "Reply intent"),
    Column("messages", "条数", "Messages", "int"),
)


def replies_table(summary: dict[str, object]) -> ReportTable:
    rows = [
        (*scope, intent, count) for scope, figures in _scopes(summary) for intent, count in figures["replies"].items()
    ]
    return ReportTable("replies", "今日业主回复", "Owners' replies", REPLY_COLUMNS, tuple(rows))


TICKET_COLUMNS = (
    Column("community_id", "小区编号", "Community ID"),
    Column("community", "小区", "Community"),
    Column("department", "部门", "Department"),
    Column("new_today", "今日新增", "New today", "int"),
    Column("open", "未办结", "Open", "int"),
    Column("overdue", "已超时", "Overdue", "int"),
    Column("resolved_today", "今日办结", "Resolved today", "int"),
)


def tickets_table(summary: dict[str, object]) -> ReportTable:
    rows = [
        (*scope, department, *(counts[name] for name in TICKET_FIGURES))
        for scope, figures in _scopes(summary)
        for department, counts in figures["tickets"].items()
    ]
    return ReportTable("tickets", "工单（按部门）", "Tickets by department", TICKET_COLUMNS, tuple(rows))


ISSUE_COLUMNS = (
    Column("ticket_id", "工单号", "Ticket"),
    Column("department", "部门", "Department"),
    Column("intent", "类型", "Intent"),
    Column("category", "类别", "Category"),
    Column("community_id", "小区编号", "Community ID"),
    Column("created_at", "创建时间", "Created"),
    Column("due_by", "办结期限", "Due"),
    Column("escalated_at", "升级时间", "Escalated"),
    Column("unit_ids", "房屋", "Units"),
    Column("reason", "原因", "Reason"),
)


def leftover_issues_table(summary: dict[str, object]) -> ReportTable:
    rows = [
        (
            i["ticket_id"],
            i["department"],
            i["intent"],
            i["category"],
            i["community_id"],
            i["created_at"],
            i["due_by"],
            i["escalated_at"],
            " ".join(i["unit_ids"]),
            " ".join(reason for reason in ("overdue", "dispute") if i[reason]),
        )
        for i in summary["totals"]["leftover_issues"]  # type: ignore[index]
    ]
    return ReportTable("leftover_issues", "遗留问题", "Leftover issues", ISSUE_COLUMNS, tuple(rows))


DEAD_LETTER_COLUMNS = (
    Column("queue", "死信队列", "Dead-letter queue"),
    Column("messages", "积压消息数", "Messages waiting", "int"),
)


def dead_letters_table(summary: dict[str, object]) -> ReportTable:
    rows = tuple(summary["totals"]["dead_letters"].items())  # type: ignore[index]
    return ReportTable("dead_letters", "死信队列", "Dead-letter queues", DEAD_LETTER_COLUMNS, rows)


TREND_COLUMNS = (
    Column("community_id", "小区编号", "Community ID"),
    Column("community", "小区", "Community"),
    Column("date", "日期", "Date"),
    Column("payments", "收款笔数", "Payments", "int"),
    Column("collected_yuan", "收款（元）", "Collected (yuan)", "yuan"),
    Column("period", "当期", "Period"),
    Column("collection_rate", "当期收缴率", "Collection rate", "percent"),
    Column("back_arrears_rate", "清欠率", "Back arrears rate", "percent"),
)


def trend_table(summary: dict[str, object]) -> ReportTable:
    rows = [
        (
            *scope,
            row["date"],
            row["payments"],
            _yuan(row["collected_fen"]),
            row.get("period"),
            row["collection_rate"],
            row["back_arrears_rate"],
        )
        for scope, figures in _scopes(summary)
        for row in figures["trend"]
    ]
    return ReportTable("trend", "近30天趋势", "30-day trend", TREND_COLUMNS, tuple(rows))


EFFECT_COLUMNS = (
    Column("community_id", "小区编号", "Community ID"),
    Column("community", "小区", "Community"),
    Column("step", "催缴步骤", "Step"),
    Column("cohort_reminded", "7天前触达户数", "Units reached 7 days ago", "int"),
    Column("cohort_paid", "其中7天内缴费", "Of them paid within 7 days", "int"),
    Column("cohort_rate", "7天缴费率", "Paid within 7 days", "percent"),
    Column("reminded_30d", "30天触达户数", "Units reached (30 days)", "int"),
    Column("paid_30d", "30天内7天缴费户数", "Paid within 7 days (30 days)", "int"),
    Column("rate_30d", "30天7天缴费率", "Paid within 7 days (30-day rate)", "percent"),
)


def effectiveness_table(summary: dict[str, object]) -> ReportTable:
    names = ("cohort_reminded", "cohort_paid", "cohort_rate", "reminded_30d", "paid_30d", "rate_30d")
    rows = [
        (*scope, row["step"], *(row[n] for n in names))
        for scope, figures in _scopes(summary)
        for row in figures["reminder_effectiveness"]
    ]
    return ReportTable("reminder_effectiveness", "催缴效果", "Reminder effectiveness", EFFECT_COLUMNS, tuple(rows))


COLLECTOR_COLUMNS = (
    Column("collector_id", "催缴员编号", "Collector ID"),
    Column("name", "姓名", "Name"),
    Column("role", "岗位", "Role"),
    Column("open", "未完成任务", "Open tasks", "int"),
    Column("open_overdue", "超时未完成", "Open past deadline", "int"),
    Column("done_today", "今日完成", "Done today", "int"),
    *(Column(f"done_{o}", f"结果：{o}", f"Outcome: {o}", "int") for o in TASK_OUTCOMES),
    Column("promised_yuan", "承诺缴费金额（元）", "Promised (yuan)", "yuan"),
)


def collectors_table(summary: dict[str, object]) -> ReportTable:
    rows = [
        (
            c["collector_id"],
            c["name"],
            c["role"],
            c["open"],
            c["open_overdue"],
            sum(c["done"].values()),
            *(c["done"].get(o, 0) for o in TASK_OUTCOMES),
            _yuan(c["promised_fen"]),
        )
        for c in summary["totals"]["collectors"]  # type: ignore[index]
    ]
    return ReportTable("collectors", "催缴人员", "Collectors", COLLECTOR_COLUMNS, tuple(rows))


TARGET_COLUMNS = (
    Column("community_id", "小区编号", "Community ID"),
    Column("phase", "阶段", "Phase"),
    Column("end", "截止日", "Ends"),
    Column("days_left", "剩余天数", "Days left", "int"),
    Column("measure", "指标", "Measure"),
    Column("collector_id", "催缴员", "Collector"),
    Column("target", "目标", "Target"),  # a rate (fraction), yuan or a count, as the measure says
    Column("actual", "完成", "Actual"),
    Column("progress", "完成率", "Progress", "percent"),
)


def _progress(target: float | None, actual: float | None) -> float | None:
    if target is None or actual is None or target <= 0:
        return None
    return round(actual / target, 4)


def targets_table(summary: dict[str, object]) -> ReportTable:
    rows: list[tuple[Cell, ...]] = []
    for c in summary["communities"]:  # type: ignore[attr-defined]
        t = c["targets"]
        if t is None:
            continue
        head = (c["community_id"], t["phase"], t["end"], t["days_left"])
        rate_target, rate_actual = t["collection_rate"]["target"], t["collection_rate"]["actual"]
        rows.append((*head, "collection_rate", None, rate_target, rate_actual, _progress(rate_target, rate_actual)))
        back = t["back_arrears_collected_fen"]
        back_target = _yuan(back["target"]) if back["target"] is not None else None
        rows.append(
            (*head, "back_arrears_collected_yuan", None, back_target, _yuan(back["actual"]), _progress(*back.values()))
        )
        for collector_id, measures in t["collectors"].items():
            for measure, figures in measures.items():
                target, actual = figures["target"], figures["actual"]
                rows.append((*head, measure, collector_id, target, actual, _progress(target, actual)))
    return ReportTable("targets", "阶段性指标", "Phased targets", TARGET_COLUMNS, tuple(rows))


def report_tables(summary: dict[str, object], entries: list[CommunityDay]) -> list[ReportTable]:
    return [
        communities_table(summary),
        collections_table(entries),
        reminders_table(entries),
        aging_table(summary),
        top_debtors_table(summary),
        replies_table(summary),
        tickets_table(summary),
        leftover_issues_table(summary),
        dead_letters_table(summary),
        trend_table(summary),
        effectiveness_table(summary),
        collectors_table(summary),
        targets_table(summary),
    ]


# the workbook and the page in each language: report.xlsx and report.html in Chinese, report.en.* in English
REPORT_LANGUAGES: tuple[tuple[Language, str], ...] = (("zh-CN", ""), ("en", ".en"))


def report_files(
    day: date, generated_at: datetime, entries: list[CommunityDay], company: CompanyDay | None = None
) -> dict[str, bytes]:
    """File name -> content, all deterministic for the same inputs: the summary, a CSV per table, and the
    workbook and HTML page in Chinese (report.*) and English (report.en.*)."""
    summary = build_summary(day, generated_at, entries, company)
    tables = report_tables(summary, entries)
    files = {"summary.json": json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")}
    files.update({f"{table.stem}.csv": csv_bytes(table) for table in tables})
    for language, suffix in REPORT_LANGUAGES:
        files[f"report{suffix}.xlsx"] = workbook(tables, language, generated_at=generated_at)
        files[f"report{suffix}.html"] = html_page(summary, tables, language)
    return files


def report_prefix(day: date) -> str:
    return f"reports/{day.isoformat()}/"


def _intents(messages: Iterable[dict[str, Any]]) -> tuple[str, ...]:
    """Only how each message was understood: its text and sender never reach the report."""
    return tuple(str((m.get("classification") or {}).get("intent") or "not_classified") for m in messages)


def publish_daily_report(
    day: date,
    generated_at: datetime,
    reader: ReportReader,
    store: ObjectStore,
    dead_letters: DeadLetterCounter,
    tz: ZoneInfo,
    targets: Targets | None = None,
) -> list[str]:
    """Read the day's activity, period totals, debtors (arrears index), owners' messages (activity index),
    each department's open and resolved tickets (inbox index), the collectors' open tasks and the report's
    own snapshots of earlier days, all by key; keep this day's snapshot; write the company's set of report
    files under reports/<date>/ and each community's own set under reports/<date>/communities/<id>/."""
    tickets: dict[str, list[Ticket]] = {}
    for department in Department:
        for status in TicketStatus:
            for ticket in reader.tickets(department.value, status.value):
                tickets.setdefault(ticket.community_id, []).append(ticket)
    communities = sorted(reader.communities(), key=lambda c: c.community_id)
    targets = targets or Targets()
    phases = {c.community_id: targets.phase(c.community_id, day) for c in communities}
    first_snapshot = history_window(day, phases)
    entries = []
    for community in communities:
        community_id = community.community_id
        activity = reader.day_activity(community_id, day)
        periods = reader.period_totals(community_id)
        # the reminders of a week ago and every payment since: who paid within 7 days of which step
        cohort_day = day - timedelta(days=EFFECT_DAYS)
        week = [reader.day_activity(community_id, cohort_day + timedelta(days=n)) for n in range(EFFECT_DAYS)]
        payments = [p for a in (*week, activity) for p in a.payments]
        snapshot = reader.keep_report_snapshot(
            day_snapshot(community_id, day, activity, periods, week[0].reminders, payments)
        )
        earlier = reader.report_snapshots(community_id, first_snapshot, day - timedelta(days=1))
        phase = phases[community_id]
        if phase is not None and not any(s.day < phase.start for s in earlier):
            # the phase's baseline: the last report before it began, however long ago
            baseline = reader.report_snapshot_before(community_id, phase.start)
            earlier = [baseline, *earlier] if baseline is not None else earlier
        entries.append(
            CommunityDay(
                community,
                activity,
                periods,
                owing=tuple(reader.units_owing(community_id, day)),
                reply_intents=_intents(reader.day_messages(community_id, day)),
                tickets=tuple(tickets.pop(community_id, [])),
                history=(*earlier, snapshot),
                phase=phase,
            )
        )
    collectors = tuple(reader.collectors())
    company = CompanyDay(
        timezone=str(tz.key),
        reply_intents=_intents(reader.day_messages(UNMATCHED, day)),
        tickets=tuple(t for _, group in sorted(tickets.items()) for t in group),
        dead_letters=dead_letters.depths(),
        collectors=collectors,
        open_tasks={c.collector_id: tuple(reader.tasks(c.collector_id, "open")) for c in collectors},
    )
    written = _put_files(store, report_prefix(day), report_files(day, generated_at, entries, company))
    # each community's own set, so that its manager can be given that set and nothing of the others
    for entry in entries:
        prefix = community_report_prefix(day, entry.community.community_id)
        written += _put_files(store, prefix, community_report_files(day, generated_at, entry, tz, company))
    return written


def community_report_files(
    day: date, generated_at: datetime, entry: CommunityDay, tz: ZoneInfo, company: CompanyDay | None = None
) -> dict[str, bytes]:
    """One community's own set, built like the company's (same figures, tables, workbook and page): nothing of
    another community, nor the company's unmatched messages and tickets or its dead-letter depths; of the
    collectors, those assigned to the community or who closed a task there that day."""
    community_id = entry.community.community_id
    company = company or CompanyDay(timezone=str(tz.key))
    today = next((s for s in entry.history if s.day == day), None)
    working_here = {c.collector_id for c in company.collectors if community_id in c.communities}
    working_here |= set(today.collectors) if today else set()
    own = CompanyDay(
        timezone=str(tz.key),
        collectors=tuple(c for c in company.collectors if c.collector_id in working_here),
        open_tasks={
            cid: tuple(t for t in tasks if t.community_id == community_id)
            for cid, tasks in company.open_tasks.items()
            if cid in working_here
        },
    )
    return report_files(day, generated_at, [entry], own)


def _put_files(store: ObjectStore, prefix: str, files: dict[str, bytes]) -> list[str]:
    written = []
    for name, body in files.items():
        key = prefix + name
        store.put(key, body, CONTENT_TYPES[name[name.rindex(".") :]])
        written.append(key)
    return written

"""What a manager brings to the daily summary meeting (每日总结会): each collector's standing against the phase's
targets (阶段性催缴指标), as the daily report computed it (its summary.json, not counted again here), and the day's
difficult cases, each a unit with its page one tap away: units that refused twice, broken promises, disputes past
their deadline and leftover issues (遗留问题: the other tickets a department has not solved by their deadline)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from propfee.console.permissions import StaffMember, meeting_policy, require
from propfee.domain.activity import DayActivity
from propfee.domain.models import HoldKind, Task, TaskOutcome, Ticket, TicketStatus, Unit
from propfee.domain.ports import ReportStore
from propfee.feedback.intent_rules import Department, Intent
from propfee.reports.access import community_report_prefix

LOOKBACK_DAYS = 30  # the closed tasks the cases read: a month of the community's activity, one Query a day
REPORT_LOOKBACK_DAYS = 7  # the standing is the latest report's, at most a week old


class MeetingStore(Protocol):
    """What the meeting's pages read (aws.feedback.FeedbackTable in the cloud)."""

    def day_activity(self, community_id: str, day: date) -> DayActivity: ...

    def tickets(self, department: str, status: str = "open", due_before: datetime | None = None) -> list[Ticket]: ...

    def units_by_id(self, unit_ids: Sequence[str]) -> dict[str, Unit]: ...


@dataclass(frozen=True)
class Measure:
    name: str  # tasks_done, promises, collection_rate, back_arrears_collected_fen
    target: float | None
    actual: float | None

    @property
    def progress(self) -> float | None:
        if self.target is None or self.actual is None or self.target <= 0:
            return None
        return self.actual / self.target


@dataclass(frozen=True)
class CollectorStanding:
    collector_id: str
    name: str
    measures: tuple[Measure, ...]


@dataclass(frozen=True)
class Standing:
    community_id: str
    report_day: date | None  # the report read; None: no report in the last week
    phase: str = ""
    end: date | None = None
    days_left: int | None = None
    community: tuple[Measure, ...] = ()
    collectors: tuple[CollectorStanding, ...] = ()


def standing_from_summary(community_id: str, day: date, summary: dict[str, Any]) -> Standing:
    """The report's own figures: its community's `targets` (history.phase_progress) and collectors' names."""
    community = next((c for c in summary.get("communities", []) if c.get("community_id") == community_id), None)
    targets = (community or {}).get("targets")
    if not targets:
        return Standing(community_id, day)
    names = {str(c["collector_id"]): str(c.get("name") or "") for c in summary.get("totals", {}).get("collectors", [])}
    rate, back = targets["collection_rate"], targets["back_arrears_collected_fen"]
    return Standing(
        community_id=community_id,
        report_day=day,
        phase=str(targets["phase"]),
        end=date.fromisoformat(targets["end"]),
        days_left=int(targets["days_left"]),
        community=(
            Measure("collection_rate", rate["target"], rate["actual"]),
            Measure("back_arrears_collected_fen", back["target"], back["actual"]),
        ),
        collectors=tuple(
            CollectorStanding(
                cid, names.get(cid, ""), tuple(Measure(m, f["target"], f["actual"]) for m, f in ms.items())
            )
            for cid, ms in sorted(targets["collectors"].items())
        ),
    )


@dataclass(frozen=True)
class Case:
    kind: str  # refused_twice, broken_promise, dispute_overdue, leftover
    unit_id: str
    at: datetime  # the latest refusal, the promise's task closed, the ticket's deadline
    detail: str  # the promised date, the ticket's id and department, the refusals' count


class MeetingDesk:
    def __init__(self, store: MeetingStore, reports: ReportStore | None) -> None:
        self.store = store
        self.reports = reports

    def standing(self, member: StaffMember, community_id: str, day: date) -> Standing:
        """The latest daily report of the community on or before `day` (the report of a day is made the next
        night, so today's standing is yesterday's report), read from its summary.json."""
        require(meeting_policy(member, community_id))
        if self.reports is None:
            return Standing(community_id, None)
        for back in range(REPORT_LOOKBACK_DAYS + 1):
            report_day = day - timedelta(days=back)
            prefix = community_report_prefix(report_day, community_id)
            if prefix + "summary.json" in self.reports.keys(prefix, recursive=False):
                return standing_from_summary(
                    community_id, report_day, json.loads(self.reports.get(prefix + "summary.json"))
                )
        return Standing(community_id, None)

    def cases(self, member: StaffMember, community_id: str, today: date, now: datetime) -> list[Case]:
        """The hard cases of the community as of `now`, by kind, then the most recent first."""
        require(meeting_policy(member, community_id))
        activity = [self.store.day_activity(community_id, today - timedelta(days=n)) for n in range(LOOKBACK_DAYS)]
        tasks = [t for a in activity for t in a.tasks_done]
        paid_at: dict[str, list[datetime]] = {}
        for payment in (p for a in activity for p in a.payments if p.amount_fen > 0):
            paid_at.setdefault(payment.unit_id, []).append(payment.paid_at)
        cases = _refused_twice(tasks)
        promised = [
            t for t in tasks
            if t.outcome is TaskOutcome.PROMISED and t.promised_date is not None and t.promised_date < today
            and not any(at > _closed_at(t) for at in paid_at.get(t.unit_id, ()))
        ]  # fmt: skip
        units = self.store.units_by_id([t.unit_id for t in promised]) if promised else {}
        latest: dict[str, Task] = {}
        for task in sorted(promised, key=_closed_at):  # a unit promised twice, both broken: the later promise
            latest[task.unit_id] = task
        for unit_id, task in latest.items():
            unit = units.get(unit_id)
            if unit is not None and unit.balance_fen > 0:
                detail = f"{task.promised_date.isoformat() if task.promised_date else ''} · {task.collector_id}"
                cases.append(Case("broken_promise", unit_id, _closed_at(task), detail))
        cases += _overdue_tickets(
            t for d in Department for t in self.store.tickets(d.value, TicketStatus.OPEN.value, due_before=now)
            if t.community_id == community_id
        )  # fmt: skip
        order = {"refused_twice": 0, "broken_promise": 1, "dispute_overdue": 2, "leftover": 3}
        return sorted(cases, key=lambda c: (order[c.kind], -c.at.timestamp(), c.unit_id))


def _closed_at(task: Task) -> datetime:
    return task.done_at or task.created_at


def _refused_twice(tasks: Sequence[Task]) -> list[Case]:
    refusals = Counter(t.unit_id for t in tasks if t.outcome is TaskOutcome.REFUSED)
    last = {t.unit_id: t for t in sorted(tasks, key=_closed_at) if t.outcome is TaskOutcome.REFUSED}
    return [
        Case("refused_twice", unit_id, _closed_at(last[unit_id]), str(n)) for unit_id, n in refusals.items() if n >= 2
    ]


def _overdue_tickets(tickets: Any) -> list[Case]:
    """A dispute of the bill past its deadline; any other ticket past it is a leftover issue. One line per unit."""
    found = []
    for ticket in tickets:
        dispute = ticket.intent == Intent.BILL_DISPUTE.value or ticket.hold is HoldKind.DISPUTE
        kind = "dispute_overdue" if dispute else "leftover"
        detail = f"{ticket.ticket_id} · {ticket.department}"
        found += [Case(kind, unit_id, ticket.due_by, detail) for unit_id in ticket.unit_ids]
    return found

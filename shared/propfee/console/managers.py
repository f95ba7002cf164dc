"""A manager's and finance's day in the console: a community's "today" (reminders planned, sent, skipped by reason,
failed; payments online; the collection rate and its trend; the dead-letter queues' depths) read from the day's
activity and the daily report's snapshots, and the daily report's files with short presigned links, a community's
set only for its manager and finance (console.permissions.report_policy)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from propfee.console.permissions import Role, StaffMember, report_policy, require
from propfee.console.trend import Trend, trend
from propfee.domain.activity import DayActivity
from propfee.domain.day_snapshot import DaySnapshot
from propfee.domain.models import PeriodTotal, ReminderStatus
from propfee.domain.money import rate
from propfee.domain.ports import ReportStore
from propfee.reports.access import community_report_prefix, report_day_prefix
from propfee.reports.delivery import ReportLink, presign

LINK_SECONDS = 900  # a download link from the console works for 15 minutes: the page gives a new one each time
TREND_DAYS = 30  # as the daily report's own trend (reports.history.TREND_DAYS)


class ManagerStore(Protocol):
    """What the pages read (aws.dynamo_reports.ReportRecords in the cloud)."""

    def day_activity(self, community_id: str, day: date) -> DayActivity: ...

    def period_totals(self, community_id: str) -> list[PeriodTotal]: ...

    def report_snapshots(self, community_id: str, first: date, last: date) -> list[DaySnapshot]: ...


@dataclass(frozen=True)
class Today:
    community_id: str
    day: date
    planned: int  # every reminder the plan gave a step today: sent, failed, skipped or given to a collector
    sent: int
    failed: int
    assigned: int  # calls and visits given to collectors
    skipped: tuple[tuple[str, int], ...]  # by reason, the most first
    online_payments: int
    online_fen: int
    payments: int
    collection_rate: float | None  # the current period's paid over billed
    trend: Trend  # the rate as each night's report saw it, the last TREND_DAYS days before this one
    dead_letters: tuple[tuple[str, int], ...] = ()  # each dead-letter queue's depth now (the stack's, not a community)

    @property
    def dead_letter_total(self) -> int:
        return sum(n for _name, n in self.dead_letters)


def communities_of(member: StaffMember) -> list[str]:
    """The communities whose today and reports the person reads: a manager's or finance's own."""
    if member.has(Role.COMMUNITY_MANAGER, Role.FINANCE):
        return sorted(member.communities)
    return []


class ManagerDesk:
    def __init__(
        self,
        store: ManagerStore,
        reports: ReportStore | None,
        dead_letter_depths: Callable[[], dict[str, int]] | None = None,
    ) -> None:
        self.store = store
        self.reports = reports  # None: the stack has no report bucket configured for the console
        self.depths = dead_letter_depths  # None: no queues configured (ApproximateNumberOfMessages of each)

    def today(self, member: StaffMember, community_id: str, day: date) -> Today:
        require(report_policy(member, community_id))
        activity = self.store.day_activity(community_id, day)
        statuses = Counter(r.status for r in activity.reminders)
        sent = statuses[ReminderStatus.SENT] + statuses[ReminderStatus.DELIVERED] + statuses[ReminderStatus.COMPLAINED]
        skipped = Counter(s.reason for s in activity.skips).most_common()
        online = [p for p in activity.payments if p.source.online]  # as the report counts it, not by method
        period = f"{day.year:04d}-{day.month:02d}"
        current = [p for p in self.store.period_totals(community_id) if p.period == period]
        return Today(
            community_id=community_id,
            day=day,
            planned=len(activity.reminders) + len(activity.skips),
            sent=sent,
            failed=statuses[ReminderStatus.FAILED],
            assigned=statuses[ReminderStatus.ASSIGNED],
            skipped=tuple(skipped),
            online_payments=len(online),
            online_fen=sum(p.amount_fen for p in online),
            payments=len(activity.payments),
            collection_rate=rate(sum(p.paid_fen for p in current), sum(p.billed_fen for p in current)),
            trend=trend(self.store.report_snapshots(community_id, day - timedelta(days=TREND_DAYS), day)),
            dead_letters=tuple(sorted(self.depths().items())) if self.depths else (),
        )

    def report_links(self, member: StaffMember, community_id: str | None, day: date, now: datetime) -> list[ReportLink]:
        """The day's files of a community's set (None: the company's own set, the admin's), each with a fresh link;
        refused before anything is listed, so a refusal says nothing of another community's files."""
        require(report_policy(member, community_id))
        if self.reports is None:
            return []
        prefix = report_day_prefix(day) if community_id is None else community_report_prefix(day, community_id)
        keys = sorted(self.reports.keys(prefix, recursive=False))
        return [presign(self.reports, key, now, LINK_SECONDS) for key in keys]

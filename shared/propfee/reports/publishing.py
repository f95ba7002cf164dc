"""The daily report's files, the company's set and each community's, and publishing them to the store."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from propfee.domain.models import Language, Ticket, TicketStatus
from propfee.domain.ports import DeadLetterCounter, ObjectStore, ReportReader
from propfee.feedback.intents import Department
from propfee.feedback.responses import DEFAULT_DEPARTMENTS, DepartmentContact
from propfee.reports.access import community_report_prefix
from propfee.reports.formats import CONTENT_TYPES, csv_bytes, html_page, workbook
from propfee.reports.formats.words import vocabulary
from propfee.reports.history import EFFECT_DAYS, Targets, day_snapshot, history_window
from propfee.reports.online import ABANDONED_AFTER
from propfee.reports.staff_day import StaffDayReader, staff_labels, within
from propfee.reports.summary import CommunityDay, CompanyDay, build_summary
from propfee.reports.summary_tables import report_tables

UNMATCHED = "UNKNOWN"  # the community of a message or ticket whose sender matched no unit

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
    departments = (company or CompanyDay()).departments
    for language, suffix in REPORT_LANGUAGES:
        codes = vocabulary(language, departments)
        files[f"report{suffix}.xlsx"] = workbook(tables, language, generated_at=generated_at, codes=codes)
        files[f"report{suffix}.html"] = html_page(summary, tables, language, codes)
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
    departments: Mapping[str, DepartmentContact] | None = None,
    community_departments: Mapping[str, Mapping[str, DepartmentContact]] | None = None,
    reconciliations: Sequence[Mapping[str, Any]] = (),
    staff: StaffDayReader | None = None,
    abandoned_after: timedelta = ABANDONED_AFTER,
) -> list[str]:
    """Read the day's activity, period totals, debtors (arrears index), owners' messages (activity index),
    each department's open and resolved tickets (inbox index), the collectors' open tasks and the report's
    own snapshots of earlier days, all by key; keep this day's snapshot; write the company's set of report
    files under reports/<date>/ and each community's own set under reports/<date>/communities/<id>/.

    Debtors, open tickets and DLQ depths are as read when the report runs (00:15 the next day), aged as of the
    report day: a report re-run later for an old day shows today's debtors aged as of that day, not a snapshot.
    `departments`: what the rules file calls them (the feedback rules' departments), else the defaults;
    `community_departments`: a community's own names, for its own set; `reconciliations`: what the nightly
    reconciliation run that day found in each provider's bill (the company's set only: a bill spans communities);
    `staff`: the audit trail's day index and the staff records, for the day's staff actions (none: no figures)."""
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
                week=tuple(week),
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
        departments={str(k): v for k, v in (departments if departments is not None else DEFAULT_DEPARTMENTS).items()},
        reconciliations=tuple(reconciliations),
        staff_actions=tuple(staff.staff_actions_on(day)) if staff is not None else (),
        staff=staff_labels(staff.all_staff()) if staff is not None else {},
        abandoned_after=abandoned_after,
    )
    written = _put_files(store, report_prefix(day), report_files(day, generated_at, entries, company))
    # each community's own set, so that its manager can be given that set and nothing of the others
    for entry in entries:
        prefix = community_report_prefix(day, entry.community.community_id)
        own_names = (community_departments or {}).get(entry.community.community_id)
        named = replace(company, departments={**company.departments, **own_names}) if own_names else company
        written += _put_files(store, prefix, community_report_files(day, generated_at, entry, tz, named))
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
        departments=company.departments,
        # the actions on the community's own tasks and tickets of the day
        staff_actions=within(
            company.staff_actions,
            (t.task_id for t in entry.activity.tasks_done),
            (t.ticket_id for t in entry.tickets),
        ),
        staff=company.staff,
        abandoned_after=company.abandoned_after,
    )
    return report_files(day, generated_at, [entry], own)


def _put_files(store: ObjectStore, prefix: str, files: dict[str, bytes]) -> list[str]:
    written = []
    for name, body in files.items():
        key = prefix + name
        store.put(key, body, CONTENT_TYPES[name[name.rindex(".") :]])
        written.append(key)
    return written

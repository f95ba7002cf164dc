"""The daily summary: pure aggregation of one day's activity and the maintained period totals, and its tables."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from propfee.models import Community, DayActivity, Language, PeriodTotal, ReminderStatus
from propfee.money import rate
from propfee.ports import ActivityReader, ObjectStore
from propfee.report_formats import CONTENT_TYPES, Cell, Column, ReportTable, csv_bytes, html_page, workbook
from propfee.report_formats import safe_cell as safe_cell  # where evidence.py and older callers find it

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class CommunityDay:
    community: Community
    activity: DayActivity
    periods: list[PeriodTotal]


def _community_figures(day: date, entry: CommunityDay) -> dict[str, object]:
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
    }


def _add_counts(total: dict[str, int], part: dict[str, int]) -> None:
    for key, value in part.items():
        total[key] = total.get(key, 0) + value


def build_summary(day: date, generated_at: datetime, entries: list[CommunityDay]) -> dict[str, object]:
    communities = [_community_figures(day, entry) for entry in entries]
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
    }
    return {
        "schema_version": SCHEMA_VERSION,
        "date": day.isoformat(),
        "generated_at": generated_at.isoformat(),
        "totals": totals,
        "communities": communities,
    }


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


def report_tables(summary: dict[str, object], entries: list[CommunityDay]) -> list[ReportTable]:
    return [communities_table(summary), collections_table(entries), reminders_table(entries)]


# the workbook and the page in each language: report.xlsx and report.html in Chinese, report.en.* in English
REPORT_LANGUAGES: tuple[tuple[Language, str], ...] = (("zh-CN", ""), ("en", ".en"))


def report_files(day: date, generated_at: datetime, entries: list[CommunityDay]) -> dict[str, bytes]:
    """File name -> content, all deterministic for the same inputs: the summary, a CSV per table, and the
    workbook and HTML page in Chinese (report.*) and English (report.en.*)."""
    summary = build_summary(day, generated_at, entries)
    tables = report_tables(summary, entries)
    files = {"summary.json": json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")}
    files.update({f"{table.stem}.csv": csv_bytes(table) for table in tables})
    for language, suffix in REPORT_LANGUAGES:
        files[f"report{suffix}.xlsx"] = workbook(tables, language, generated_at=generated_at)
        files[f"report{suffix}.html"] = html_page(summary, tables, language)
    return files


def report_prefix(day: date) -> str:
    return f"reports/{day.isoformat()}/"


def publish_daily_report(day: date, generated_at: datetime, reader: ActivityReader, store: ObjectStore) -> list[str]:
    """Read the day's activity and period totals by key, write the report files; returns their keys."""
    entries = [
        CommunityDay(
            community, reader.day_activity(community.community_id, day), reader.period_totals(community.community_id)
        )
        for community in sorted(reader.communities(), key=lambda c: c.community_id)
    ]
    written = []
    for name, body in report_files(day, generated_at, entries).items():
        key = report_prefix(day) + name
        store.put(key, body, CONTENT_TYPES[name[name.rindex(".") :]])
        written.append(key)
    return written

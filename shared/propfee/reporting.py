"""The daily summary: pure aggregation of one day's activity and the maintained period totals."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from propfee.models import Community, DayActivity, PeriodTotal, ReminderStatus
from propfee.money import rate, yuan
from propfee.ports import ActivityReader, ObjectStore

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


def _csv(header: list[str], rows: list[list[object]]) -> bytes:
    buffer = io.StringIO()
    # CRLF rows, so that a stray CR or LF inside a value is quoted and stays inside its cell
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[safe_cell(value) for value in row] for row in rows])
    # BOM so that Excel opens the Chinese text as UTF-8
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def plain_yuan(fen: int) -> str:
    return yuan(fen, grouping=False)


_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def safe_cell(value: object) -> object:
    """Neutralise spreadsheet formulas in text (CSV injection); plain numbers such as -12.50 stay numbers."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r") and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _pct(value: object) -> str:
    return "" if value is None else f"{float(value) * 100:.2f}%"  # type: ignore[arg-type]


def communities_csv(summary: dict[str, object]) -> bytes:
    rows: list[list[object]] = []
    for c in summary["communities"]:  # type: ignore[attr-defined]
        sent = c["reminders"]["sent"]
        rows.append(
            [
                c["community_id"],
                c["name"],
                c["collections"]["count"],
                plain_yuan(c["collections"]["amount_fen"]),
                c["current_period"]["period"],
                plain_yuan(c["current_period"]["billed_fen"]),
                plain_yuan(c["current_period"]["paid_fen"]),
                _pct(c["current_period"]["collection_rate"]),
                plain_yuan(c["back_arrears"]["outstanding_fen"]),
                plain_yuan(c["outstanding_fen"]),
                sent.get("sms", 0),
                sent.get("email", 0),
                sum(c["reminders"]["skipped"].values()),
            ]
        )
    header = [
        "community_id",
        "community",
        "payments_today",
        "collected_today_yuan",
        "period",
        "billed_yuan",
        "paid_yuan",
        "collection_rate",
        "back_arrears_outstanding_yuan",
        "outstanding_yuan",
        "sms_sent",
        "email_sent",
        "reminders_skipped",
    ]
    return _csv(header, rows)


def collections_csv(entries: list[CommunityDay]) -> bytes:
    rows: list[list[object]] = []
    for entry in entries:
        for p in sorted(entry.activity.payments, key=lambda p: (p.paid_at, p.reference)):
            rows.append(
                [
                    entry.community.community_id,
                    p.unit_id,
                    p.paid_at.isoformat(),
                    plain_yuan(p.amount_fen),
                    p.amount_fen,
                    p.method,
                    p.reference,
                ]
            )
    header = ["community_id", "unit_id", "paid_at", "amount_yuan", "amount_fen", "method", "reference"]
    return _csv(header, rows)


def reminders_csv(entries: list[CommunityDay]) -> bytes:
    rows: list[list[object]] = []
    for entry in entries:
        for r in sorted(entry.activity.reminders, key=lambda r: (r.claimed_at, r.unit_id, r.step)):
            rows.append(
                [
                    entry.community.community_id,
                    r.unit_id,
                    r.claimed_at.isoformat(),
                    r.step,
                    r.channel.value,
                    r.status.value,
                    plain_yuan(r.balance_fen),
                    "",
                ]
            )
        for s in sorted(entry.activity.skips, key=lambda s: (s.at, s.unit_id, s.step)):
            rows.append(
                [entry.community.community_id, s.unit_id, s.at.isoformat(), s.step, "", "skipped", "", s.reason]
            )
    header = ["community_id", "unit_id", "at", "step", "channel", "status", "balance_yuan", "skip_reason"]
    return _csv(header, rows)


def report_files(day: date, generated_at: datetime, entries: list[CommunityDay]) -> dict[str, bytes]:
    """File name -> content, all deterministic for the same inputs."""
    summary = build_summary(day, generated_at, entries)
    return {
        "summary.json": json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8"),
        "communities.csv": communities_csv(summary),
        "collections.csv": collections_csv(entries),
        "reminders.csv": reminders_csv(entries),
    }


def report_prefix(day: date) -> str:
    return f"reports/{day.isoformat()}/"


CONTENT_TYPES = {".json": "application/json", ".csv": "text/csv; charset=utf-8"}


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

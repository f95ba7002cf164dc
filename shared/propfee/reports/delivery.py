"""The daily report reaches its managers: an email of short-lived links to each after the report is written,
and the links a manager may list or follow through the report endpoint. Who reads which files is
propfee.reports.access; the store presigns the links, so opening one needs no AWS credentials and works only
until it expires."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from propfee.domain.models import Language
from propfee.domain.money import yuan
from propfee.domain.ports import EmailSender, ReportStore
from propfee.reports.access import (
    ReportAccess,
    ReportManager,
    community_report_prefix,
    report_day_prefix,
    scope_of,
)


class BadReportRequest(ValueError):
    """A request the endpoint cannot read (a date that is not YYYY-MM-DD)."""


class ReportNotFound(Exception):
    """No such report file, or no report at all for the day (or for that community)."""


class ReportAccessDenied(Exception):
    """The caller is not a manager, or the file is another community's."""


# what a manager's email links to, in the manager's language: the page, the workbook and the figures as data
EMAILED_FILES: dict[Language, tuple[str, ...]] = {
    "zh-CN": ("report.html", "report.xlsx", "summary.json"),
    "en": ("report.en.html", "report.en.xlsx", "summary.json"),
}


@dataclass(frozen=True)
class ReportLink:
    key: str
    community_id: str | None  # None: the company set
    url: str
    expires_at: datetime

    @property
    def file(self) -> str:
        """The file's name within its set: 'report.html'."""
        return self.key.rsplit("/", 1)[-1]

    def as_dict(self) -> dict[str, str | None]:
        return {
            "key": self.key,
            "file": self.file,
            "community_id": self.community_id,
            "url": self.url,
            "expires_at": self.expires_at.isoformat(),
        }


def report_day(text: str | None) -> date:
    try:
        return date.fromisoformat(text or "")
    except ValueError as error:
        raise BadReportRequest("date must be YYYY-MM-DD") from error


def download_name(key: str) -> str:
    """What the browser saves a file as: 'reports/2026-11-11/communities/C01/report.html' ->
    'propfee-2026-11-11-C01-report.html' (a manager's downloads folder holds many days' report.html)."""
    parts = key.split("/")
    community = [parts[3]] if len(parts) == 5 else []
    return "-".join(["propfee", parts[1], *community, parts[-1]])


def presign(store: ReportStore, key: str, now: datetime, expires_in_seconds: int) -> ReportLink:
    url = store.presigned_get(key, expires_in_seconds, download_name(key))
    return ReportLink(key, scope_of(key), url, now + timedelta(seconds=expires_in_seconds))


def list_links(
    access: ReportAccess, store: ReportStore, principal: str, day: date, now: datetime, expires_in_seconds: int
) -> list[ReportLink]:
    """Every file of the day the caller may read, each with a fresh link: a company manager's include each
    community's set; a community manager's only that community's."""
    prefixes = access.allowed_prefixes(principal, day)
    if not prefixes:
        raise ReportAccessDenied("not a manager of any report")
    keys = sorted({key for prefix in prefixes for key in store.keys(prefix) if access.may_read(principal, key)})
    if not keys:
        raise ReportNotFound(f"no report for {day.isoformat()}")
    return [presign(store, key, now, expires_in_seconds) for key in keys]


def link_to(
    access: ReportAccess, store: ReportStore, principal: str, key: str, now: datetime, expires_in_seconds: int
) -> ReportLink:
    """A fresh link to one file; refused before its existence is looked up, so a refusal says nothing of
    whether another community's file exists."""
    if not access.may_read(principal, key):
        raise ReportAccessDenied(key)
    if key not in store.keys(key):
        raise ReportNotFound(key)
    return presign(store, key, now, expires_in_seconds)


def download_report(store: ReportStore, day: date, community_id: str | None, target: Path) -> list[Path]:
    """The day's company set (its own files, not the communities' folders) or one community's set, into target."""
    prefix = report_day_prefix(day) if community_id is None else community_report_prefix(day, community_id)
    written = store.download_prefix(prefix, target, recursive=False)
    if not written:
        scope = "" if community_id is None else f" of community {community_id}"
        raise ReportNotFound(f"no report{scope} for {day.isoformat()}")
    return written


# ---------------------------------------------------------------------------------------- the managers' email
@dataclass(frozen=True)
class EmailOutcome:
    to: str
    sent: bool
    message_id: str | None = None
    reason: str | None = None  # why it was not sent: the error's type and message, without the address


_WORDS: dict[Language, dict[str, str]] = {
    "zh-CN": {
        "subject": "物业费日报 {date}",
        "title": "{date} 物业费日报",
        "expiry": "以下链接有效期至 {expires}（{zone} 时间），过期后请通过报表接口获取新链接。",
        "company": "全公司",
        "collected": "今日收款：¥{amount}（{count} 笔）",
        "rate": "本期（{period}）收缴率：{rate}",
        "outstanding": "欠费合计：¥{amount}",
        "sent": "今日催缴：短信 {sms} 条，邮件 {email} 封",
        "report.html": "报表网页",
        "report.xlsx": "Excel 工作簿",
        "summary.json": "数据（JSON）",
    },
    "en": {
        "subject": "Property fee report {date}",
        "title": "Property fee report for {date}",
        "expiry": "These links work until {expires} ({zone} time); after that, ask the report endpoint for new ones.",
        "company": "Whole company",
        "collected": "Collected today: ¥{amount} ({count} payments)",
        "rate": "Collection rate {period}: {rate}",
        "outstanding": "Outstanding: ¥{amount}",
        "sent": "Reminders sent today: SMS {sms}, email {email}",
        "report.en.html": "Report page",
        "report.en.xlsx": "Workbook (Excel)",
        "summary.json": "Data (JSON)",
    },
}


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def headlines(summary: Mapping[str, Any], language: Language) -> list[str]:
    """The figures an email shows: collections, the period's rate, what is owed, reminders sent; never a unit
    or an owner (those stay in the files behind the links)."""
    words, totals = _WORDS[language], summary["totals"]
    sent = totals["reminders"]["sent"]
    return [
        words["collected"].format(
            amount=yuan(totals["collections"]["amount_fen"]), count=totals["collections"]["count"]
        ),
        words["rate"].format(period=str(summary["date"])[:7], rate=_rate(totals["current_period"]["collection_rate"])),
        words["outstanding"].format(amount=yuan(totals["outstanding_fen"])),
        words["sent"].format(sms=sent.get("sms", 0), email=sent.get("email", 0)),
    ]


def _scope_title(summary: Mapping[str, Any], community_id: str | None, language: Language) -> str:
    if community_id is None:
        return _WORDS[language]["company"]
    names = [c["name"] for c in summary["communities"] if c["community_id"] == community_id]
    return f"{names[0]} ({community_id})" if names else community_id


def compose_email(
    day: date,
    language: Language,
    sections: list[tuple[Mapping[str, Any], str | None, list[ReportLink]]],
    expires_at: datetime,
    tz: ZoneInfo,
) -> tuple[str, str]:
    """Subject and text body: per set the manager reads (the company's, or each community's), its headline
    figures and its links, and when the links stop working, in the company's local time."""
    words = _WORDS[language]
    lines = [
        words["title"].format(date=day.isoformat()),
        "",
        words["expiry"].format(expires=f"{expires_at.astimezone(tz):%Y-%m-%d %H:%M}", zone=tz.key),
    ]
    for summary, community_id, links in sections:
        lines += ["", f"[{_scope_title(summary, community_id, language)}]", *headlines(summary, language)]
        lines += [f"  {words[link.file]}: {link.url}" for link in links]
    return words["subject"].format(date=day.isoformat()), "\n".join(lines) + "\n"


def _sections_for(
    manager: ReportManager,
    day: date,
    access: ReportAccess,
    store: ReportStore,
    available: set[str],
    summaries: dict[str, Mapping[str, Any]],
    now: datetime,
    expires_in_seconds: int,
) -> list[tuple[Mapping[str, Any], str | None, list[ReportLink]]]:
    sections = []
    for prefix in access.allowed_prefixes(manager.principal, day):
        if prefix + "summary.json" not in available:
            continue  # a community listed for the manager that had no report (unknown, or not yet loaded)
        if prefix not in summaries:
            summaries[prefix] = json.loads(store.get(prefix + "summary.json"))
        keys = [prefix + name for name in EMAILED_FILES[manager.language] if prefix + name in available]
        community_id = None if manager.company_wide else scope_of(prefix + "summary.json")
        sections.append((summaries[prefix], community_id, [presign(store, k, now, expires_in_seconds) for k in keys]))
    return sections


def email_report_links(
    day: date,
    access: ReportAccess,
    store: ReportStore,
    email: EmailSender,
    now: datetime,
    expires_in_seconds: int,
    tz: ZoneInfo,
) -> list[EmailOutcome]:
    """One email to each manager with an address: the links to the files they may read. Run after the report
    is written; a manager whose email fails is reported in the outcome and the others still get theirs."""
    available = set(store.keys(report_day_prefix(day)))
    summaries: dict[str, Mapping[str, Any]] = {}  # each set's summary.json, read once for all its managers
    outcomes = []
    for manager in access.managers:
        if manager.email is None:
            continue
        try:
            sections = _sections_for(manager, day, access, store, available, summaries, now, expires_in_seconds)
            if not sections:
                raise ReportNotFound(f"no report for {day.isoformat()} in the sets this manager reads")
            expires_at = now + timedelta(seconds=expires_in_seconds)
            subject, body = compose_email(day, manager.language, sections, expires_at, tz)
            message_id = email.send_email(manager.email, subject, body, {"report": day.isoformat()})
            outcomes.append(EmailOutcome(manager.email, True, message_id=message_id))
        except Exception as error:  # a refused address or a throttled provider must not keep the others waiting
            reason = f"{type(error).__name__}: {error}".replace(manager.email, "<the manager's address>")
            outcomes.append(EmailOutcome(manager.email, False, reason=reason))
    return outcomes

"""The collectors' morning digest: the tasks given to each since the last one, in one SMS or email per collector,
sent once per collector and day, and only in the company's contact window (staff are people at work, not
owners, but a text at 07:00 or 22:00 is no better for them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from propfee.collection.messages import LANGUAGES, lint, render_named, sms_segments, template_source
from propfee.collection.policy import ContactPolicy
from propfee.collection.tasks import WHAT, address_of
from propfee.domain.models import Channel, Collector, Task
from propfee.domain.money import yuan
from propfee.domain.ports import EmailSender, ProviderRejected, ProviderUnavailable, SmsSender

TEMPLATE = "task_digest"
SMS_LISTED = 2  # an SMS names the first tasks (two segments at most); the email lists every one
SMS_MAX_SEGMENTS = 3
DIGEST_PERIOD = timedelta(days=1)  # a digest covers the tasks made since the previous morning's
WHAT_EN = {Channel.CALL: "call", Channel.VISIT: "visit", Channel.LEGAL_REVIEW: "legal review"}


@dataclass(frozen=True)
class Digest:
    collector_id: str
    channel: Channel  # SMS or EMAIL
    destination: str
    subject: str | None
    body: str
    tasks: int
    template_version: str


@dataclass
class DigestSummary:
    day: date
    sent: list[str] = field(default_factory=list)  # collector ids (never their numbers or addresses)
    duplicates: list[str] = field(default_factory=list)  # claimed already: sent by an earlier run
    rejected: list[str] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)  # the claim was given back: a retry sends these
    no_contact: list[str] = field(default_factory=list)  # new tasks, but neither phone nor email on record
    blocked: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "day": self.day.isoformat(),
            "sent": len(self.sent),
            "duplicates": len(self.duplicates),
            "rejected": self.rejected,
            "unavailable": self.unavailable,
            "no_contact": self.no_contact,
            "blocked": self.blocked,
        }


def new_tasks(tasks: list[Task], until: datetime) -> list[Task]:
    """The open tasks made in the period before `until` (the scheduled time: a retry covers the same tasks)."""
    since = until - DIGEST_PERIOD
    return sorted((t for t in tasks if t.status == "open" and since < t.created_at <= until), key=_order)


def _order(task: Task) -> tuple[datetime, str]:
    return task.due_by, task.task_id


def _line(task: Task, language: str, tz: ZoneInfo) -> dict[str, str]:
    return {
        "what": WHAT[task.kind] if language == "zh-CN" else WHAT_EN[task.kind],
        "address": address_of(task, language),
        "owner": task.owner_name,
        "amount": yuan(task.balance_fen) if language == "zh-CN" else f"¥{yuan(task.balance_fen)}",
        "due_by": f"{task.due_by.astimezone(tz):%m-%d %H:%M}",
        "task_id": task.task_id,
    }


def digest_for(
    collector: Collector, open_tasks: list[Task], until: datetime, tz: ZoneInfo, signature: str
) -> Digest | None:
    """One message for a collector about the tasks new since the last digest; None when there are none or the
    collector has no phone or email on record. Email when there is one (it lists every task), else SMS."""
    fresh = new_tasks(open_tasks, until)
    if not fresh or not (collector.email or collector.phone):
        return None
    language = collector.language
    overdue = sum(1 for t in open_tasks if t.status == "open" and t.due_by < until)
    lines = [_line(t, language, tz) for t in fresh]
    context: dict[str, object] = {
        "signature": signature,
        "name": collector.name,
        "count": len(fresh),
        "overdue": overdue,
        "day": until.astimezone(tz).date().isoformat(),
        "tasks": lines,
        "listed": lines[:SMS_LISTED],
        "more": len(lines) > SMS_LISTED,
    }
    if collector.email:
        body, body_version = render_named(f"{TEMPLATE}.{language}.email.j2", context)
        subject, subject_version = render_named(f"{TEMPLATE}.{language}.subject.j2", context)
        return Digest(collector.collector_id, Channel.EMAIL, collector.email, subject, body, len(fresh),
                      f"{body_version}+{subject_version}")  # fmt: skip
    assert collector.phone is not None
    body, version = render_named(f"{TEMPLATE}.{language}.sms.j2", context)
    return Digest(collector.collector_id, Channel.SMS, collector.phone, None, body, len(fresh), version)


def check_digest_templates() -> list[str]:
    """What is wrong with the digest's templates: the lint, and an SMS of the longest names within its limit."""
    problems: list[str] = []
    longest = {"what": "法务审核(是否起诉或申请仲裁)", "address": "锦绣花园三期东区12栋2602室", "owner": "欧阳娜娜",
               "amount": yuan(99_999_999), "due_by": "12-31 23:59", "task_id": "C01-B12-2602.call_d15.1"}  # fmt: skip
    sample = {"signature": "物业服务中心", "name": "欧阳娜娜", "count": 99, "overdue": 99, "day": "2026-12-31",
              "tasks": [longest] * 3, "listed": [longest] * SMS_LISTED, "more": True}  # fmt: skip
    for language in LANGUAGES:
        for kind in ("sms", "email", "subject"):
            name = f"{TEMPLATE}.{language}.{kind}.j2"
            problems.extend(f"{name}: {p}" for p in lint(template_source(name)))
        parts = sms_segments(render_named(f"{TEMPLATE}.{language}.sms.j2", sample)[0])
        if parts > SMS_MAX_SEGMENTS:
            problems.append(f"{TEMPLATE}.{language}.sms.j2: {parts} SMS segments, more than {SMS_MAX_SEGMENTS}")
    return problems


class DigestStore(Protocol):
    def collectors(self) -> list[Collector]: ...

    def tasks(self, collector_id: str, status: str = "open") -> list[Task]: ...

    def claim_digest(self, collector_id: str, day: date, at: datetime) -> bool: ...

    def digest_sent(self, collector_id: str, day: date, provider_message_id: str, tasks: int, at: datetime) -> None: ...

    def release_digest(self, collector_id: str, day: date) -> None: ...


def staff_hours_blocked(now: datetime, tz: ZoneInfo, policy: ContactPolicy) -> str | None:
    """Staff messages keep to the company's contact window and quiet hours (not the owners' holiday rules: a
    digest only exists on a day the plan gave out tasks)."""
    local = now.astimezone(tz).time()
    if local not in policy.window:
        return "outside_contact_window"
    if policy.quiet_hours is not None and local in policy.quiet_hours:
        return "quiet_hours"
    return None


def send_digests(
    store: DigestStore,
    sms: SmsSender,
    email: EmailSender,
    scheduled: datetime,
    now: datetime,
    tz: ZoneInfo,
    policy: ContactPolicy,
    signature: str,
) -> DigestSummary:
    """Each collector's digest of the tasks new by `scheduled`, claimed first so that it goes out once a day."""
    day = scheduled.astimezone(tz).date()
    summary = DigestSummary(day=day)
    summary.blocked = staff_hours_blocked(now, tz, policy)
    if summary.blocked is not None:
        return summary
    for collector in sorted(store.collectors(), key=lambda c: c.collector_id):
        open_tasks = store.tasks(collector.collector_id, "open")
        digest = digest_for(collector, open_tasks, scheduled, tz, signature)
        if digest is None:
            if new_tasks(open_tasks, scheduled):
                summary.no_contact.append(collector.collector_id)
            continue
        if not store.claim_digest(collector.collector_id, day, now):
            summary.duplicates.append(collector.collector_id)
            continue
        context = {"collector": collector.collector_id, "digest": day.isoformat()}
        try:
            if digest.channel is Channel.EMAIL:
                assert digest.subject is not None
                message_id = email.send_email(digest.destination, digest.subject, digest.body, context)
            else:
                message_id = sms.send_sms(digest.destination, digest.body, context)
        except ProviderRejected:
            summary.rejected.append(collector.collector_id)  # the claim stays: the same message would fail again
            continue
        except ProviderUnavailable:
            store.release_digest(collector.collector_id, day)
            summary.unavailable.append(collector.collector_id)
            continue
        store.digest_sent(collector.collector_id, day, message_id, digest.tasks, now)
        summary.sent.append(collector.collector_id)
    return summary

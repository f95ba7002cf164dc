"""The small interfaces the domain needs from the outside world. Adapters implement them with AWS;
unit tests implement them in memory."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from propfee.domain.activity import DayActivity
from propfee.domain.day_snapshot import DaySnapshot
from propfee.domain.models import (
    Building,
    Collector,
    Community,
    PeriodTotal,
    Reminder,
    SendJob,
    Task,
    Ticket,
    Unit,
    UnitBillLink,
)


class ClaimResult(StrEnum):
    CLAIMED = "claimed"
    ALREADY_CLAIMED = "already_claimed"
    UNIT_CHANGED = "unit_changed"


class ProviderRejected(Exception):
    """The provider refused the message for good (bad number, suppressed address): do not retry."""


class ProviderUnavailable(Exception):
    """The provider did not accept the message (throttled, down): safe to retry later."""


class ProviderOutcomeUnknown(Exception):
    """The request may have reached the provider and nobody knows whether it was accepted (a timeout after
    sending): never retried blindly, the claim stays unconfirmed for a person or a provider look-up to settle."""


class ArrearsReader(Protocol):
    def communities(self) -> list[Community]: ...

    def buildings(self, community_id: str) -> list[Building]: ...  # their names address the owners

    def units_owing(self, community_id: str, due_before: date) -> Iterator[Unit]: ...


class JobQueue(Protocol):
    def enqueue(self, jobs: Sequence[SendJob]) -> int: ...


class ReminderStore(Protocol):
    def get_unit(self, unit_id: str) -> Unit | None: ...

    def claim(
        self,
        job: SendJob,
        reminder: Reminder,
        recent_contacts: tuple[datetime, ...],
        task: Task | None = None,
        new_link: UnitBillLink | None = None,
    ) -> ClaimResult:
        """`new_link`: the unit's new bill link, written with the claim (and only if the claim holds)."""
        ...

    def collectors(self) -> list[Collector]: ...

    def mark_sent(self, job: SendJob, provider_message_id: str, at: datetime) -> None: ...

    def mark_failed(self, job: SendJob, reason: str, at: datetime) -> None: ...

    def release(self, job: SendJob) -> None: ...

    def reminder(self, unit_id: str, claim_key: str) -> Reminder | None: ...

    def record_skip(self, job: SendJob, reason: str, at: datetime) -> None: ...


@dataclass(frozen=True)
class SmsTemplate:
    """Which template a text was rendered from, in which language, with which values: a mainland provider sends
    the approved template's code and these variables instead of the text (the text stays the evidence)."""

    name: str
    language: str
    variables: Mapping[str, str] = field(default_factory=dict)


class SmsSender(Protocol):
    """Sends one text. `template` names what it was rendered from: providers that send free text ignore it, those
    that send approved templates (Aliyun, Tencent) refuse a text without one (ProviderRejected)."""

    def send_sms(
        self, phone: str, body: str, context: dict[str, str] | None = None, template: SmsTemplate | None = None
    ) -> str: ...


@dataclass(frozen=True)
class SmsBatchItem:
    """One message of a batch send: to one number, with the claim it belongs to."""

    phone: str
    body: str
    context: dict[str, str]
    template: SmsTemplate | None = None


@runtime_checkable
class SmsBatchSender(Protocol):
    """A provider that takes many numbers in one request and answers for each (Tencent's SendSms). Each item's
    result, in order: its message id, or the error that item came to (ProviderRejected: refused for good,
    ProviderUnavailable: not sent, may be retried, ProviderOutcomeUnknown: it may have been sent)."""

    def send_sms_batch(self, items: Sequence[SmsBatchItem]) -> list[str | Exception]: ...


class EmailSender(Protocol):
    def send_email(self, to: str, subject: str, body: str, context: dict[str, str] | None = None) -> str: ...


class DeadLetters(Protocol):
    def reject(self, body: str, reason: str) -> None: ...


class ActivityReader(Protocol):
    def communities(self) -> list[Community]: ...

    def day_activity(self, community_id: str, day: date) -> DayActivity: ...

    def period_totals(self, community_id: str) -> list[PeriodTotal]: ...

    def units_owing(self, community_id: str, due_before: date) -> Iterable[Unit]: ...


class FeedbackReader(Protocol):
    def day_messages(self, community_id: str, day: date) -> list[dict[str, Any]]: ...

    def tickets(self, department: str, status: str = "open", due_before: datetime | None = None) -> list[Ticket]: ...


class ReportReader(ActivityReader, FeedbackReader, Protocol):
    """What the daily report reads: the day's activity, period totals, debtors, owners' messages, tickets,
    the collectors and their open tasks; and the snapshots it keeps of each community's day."""

    def collectors(self) -> list[Collector]: ...

    def tasks(self, collector_id: str, status: str = "open") -> list[Task]: ...

    def report_snapshots(self, community_id: str, first: date, last: date) -> list[DaySnapshot]: ...

    def report_snapshot_before(self, community_id: str, day: date) -> DaySnapshot | None: ...

    def keep_report_snapshot(self, snapshot: DaySnapshot) -> DaySnapshot: ...


class DeadLetterCounter(Protocol):
    def depths(self) -> dict[str, int]: ...


class ObjectStore(Protocol):
    def put(self, key: str, body: bytes, content_type: str) -> None: ...


class ReportStore(ObjectStore, Protocol):
    """Where the daily report files are: listed, read, and lent out for a while through presigned links."""

    def keys(self, prefix: str, recursive: bool = True) -> list[str]: ...

    def get(self, key: str) -> bytes: ...

    def presigned_get(self, key: str, expires_in_seconds: int, filename: str | None = None) -> str: ...

    def download_prefix(self, prefix: str, target: Path, recursive: bool = True) -> list[Path]: ...


class BillLinkIssuer(Protocol):
    """Gives the URL of a unit's bill page for a reminder (payments.links implements it)."""

    def for_reminder(self, job: SendJob, now: datetime) -> tuple[str, UnitBillLink | None]:
        """The URL, and the new link to record with the claim when the job's own is missing or ends soon."""
        ...

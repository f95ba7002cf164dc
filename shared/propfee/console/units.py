"""A unit's page in the console: its balance and open bills, the reminders sent (the evidence), the owner's replies,
its tickets, the collectors' tasks and their outcomes, its promises and holds, and the staff's actions, each with
its time; and the unit's evidence pack (collection.evidence, the staff actions included) for a manager to download.

Who reads it is console.permissions.unit_policy: the admin, the community's manager and finance, and a collector
through a task of theirs on the unit. The number is in full only for that collector (their tel: link)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from propfee.collection.evidence import bundle_files, letter_keys, zip_bundle
from propfee.collection.tasks import task_id_for
from propfee.console import audit
from propfee.console.collector import Contact, TicketLine, contacts
from propfee.console.masking import name_for, phone_for
from propfee.console.permissions import StaffMember, evidence_pack_policy, require, unit_policy
from propfee.domain.models import Channel, Task, Ticket, Unit
from propfee.domain.ports import ReportStore

TASK_CHANNELS = frozenset({Channel.CALL.value, Channel.VISIT.value, Channel.LEGAL_REVIEW.value})
PACK_LINK_SECONDS = 900  # the pack's link works for 15 minutes, as the reports' do


class UnitStore(Protocol):
    """What the unit page reads (aws.feedback.FeedbackTable in the cloud)."""

    def get_unit(self, unit_id: str) -> Unit | None: ...

    def unit_history(self, unit_id: str) -> list[dict[str, Any]]: ...

    def tasks_by_id(self, task_ids: Sequence[str]) -> list[Task]: ...

    def tickets_by_id(self, ticket_ids: Sequence[str]) -> list[Ticket]: ...

    def append(self, actions: Iterable[audit.StaffAction]) -> None: ...

    def for_unit(self, unit_id: str) -> list[audit.StaffAction]: ...


@dataclass(frozen=True)
class BillLine:
    period: str
    due: date
    outstanding_fen: int


@dataclass(frozen=True)
class HoldLine:
    kind: str
    until: date | None
    reason: str
    ticket: str | None


@dataclass(frozen=True)
class ActionLine:
    at: datetime
    action: str
    actor: str  # the opaque Cognito sub: the audit names no email
    target: str
    note: str


@dataclass(frozen=True)
class OwnerLine:
    name: str
    phone: str
    tel: str | None  # only for a collector with an open task on the unit


@dataclass(frozen=True)
class UnitView:
    unit: Unit
    balance_fen: int
    bills: tuple[BillLine, ...]
    owners: tuple[OwnerLine, ...]
    reminders: tuple[Contact, ...]
    replies: tuple[Contact, ...]
    tickets: tuple[TicketLine, ...]
    tasks: tuple[Task, ...]  # newest first
    holds: tuple[HoldLine, ...]
    actions: tuple[ActionLine, ...]  # newest first
    may_export: bool  # the evidence pack is the admin's and the manager's


def task_ids_of(unit_id: str, history: Iterable[Mapping[str, Any]]) -> list[str]:
    """The tasks the plan gave collectors for the unit: each reminder on a collector's channel is one (its
    evidence names the task as its provider message id)."""
    return list(
        dict.fromkeys(
            str(r.get("provider_message_id") or task_id_for(unit_id, str(r.get("step")), int(r.get("occurrence") or 1)))
            for r in history
            if r.get("kind") == "reminder" and r.get("channel") in TASK_CHANNELS and r.get("step")
        )
    )


def _aware(text: Any) -> datetime | None:
    try:
        found = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return found if found.tzinfo is not None else None


class UnitDesk:
    def __init__(self, store: UnitStore, files: ReportStore | None = None) -> None:
        self.store = store
        self.files = files  # the reports bucket: the letters' PDFs and the packs handed out; None: not configured

    def _read(self, member: StaffMember, unit_id: str) -> tuple[Unit, list[dict[str, Any]], list[Task]] | None:
        unit = self.store.get_unit(unit_id)
        if unit is None:
            return None
        history = self.store.unit_history(unit_id)
        tasks = self.store.tasks_by_id(task_ids_of(unit_id, history))
        require(unit_policy(member, unit.community_id, "view", tasks))
        return unit, history, tasks

    def view(self, member: StaffMember, unit_id: str) -> UnitView | None:
        """The unit's page; None when there is no such unit; Forbidden outside the reader's scope."""
        found = self._read(member, unit_id)
        if found is None:
            return None
        unit, history, tasks = found
        reminders, replies, ticket_ids = contacts(r for r in history if r.get("channel") not in TASK_CHANNELS)
        ticket_ids += [h.ticket for h in unit.holds if h.ticket]
        tickets = sorted(self.store.tickets_by_id(list(dict.fromkeys(ticket_ids))), key=lambda t: t.created_at)
        calling = next((t for t in tasks if t.status == "open" and member.collects(t)), None)
        owners = []
        for owner in unit.owners:
            phone = phone_for(member, owner.phone, task=calling)
            owners.append(
                OwnerLine(
                    name_for(member, owner.name, unit.community_id),
                    phone,
                    phone if phone and phone == owner.phone else None,
                )
            )
        actions = [
            ActionLine(
                at,
                str(r.get("action")),
                str(r.get("actor_sub")),
                f"{r.get('target_kind')} {r.get('target_id')}",
                str(r.get("note") or ""),
            )
            for r in history
            if r.get("kind") == "staff_action" and (at := _aware(r.get("at"))) is not None
        ]
        return UnitView(
            unit=unit,
            balance_fen=unit.balance_fen,
            bills=tuple(BillLine(p, b.due, b.outstanding_fen) for p, b in sorted(unit.open_bills.items())),
            owners=tuple(owners),
            reminders=tuple(reminders),
            replies=tuple(replies),
            tickets=tuple(TicketLine(t.ticket_id, t.department, t.status.value, t.created_at) for t in tickets),
            tasks=tuple(sorted(tasks, key=lambda t: t.created_at, reverse=True)),
            holds=tuple(HoldLine(h.kind.value, h.until, h.reason, h.ticket) for h in unit.holds),
            actions=tuple(sorted(actions, key=lambda a: a.at, reverse=True)),
            may_export=evidence_pack_policy(member, unit.community_id).allowed,
        )

    def evidence_pack(self, member: StaffMember, unit_id: str, now: datetime) -> tuple[str, bytes] | None:
        """The unit's evidence pack (collection.evidence: its reminders word for word, bills, payments, replies, the
        staff actions and the letters' PDFs), its export itself audited; the zip's name and bytes."""
        unit = self.store.get_unit(unit_id)
        if unit is None:
            return None
        require(evidence_pack_policy(member, unit.community_id))
        action = audit.record(self.store, member, "evidence.export", "unit", unit_id, [unit_id], now)
        history = self.store.unit_history(unit_id)  # with the export's own record
        if not any(r.get("action_id") == action[0].action_id for r in history):
            history.append(audit.evidence_record(action[0]))  # a store whose history is read before the write lands
        letters = {k: self.files.get(k) for k in letter_keys(history)} if self.files is not None else {}
        # the owners' messages kept whole stay in their bucket: received.csv names each by its s3:// address
        files = bundle_files(unit, history, now, letters=letters)
        return f"evidence-{unit_id}-{now:%Y%m%dT%H%M%S}.zip", zip_bundle(files)

    def evidence_link(self, member: StaffMember, unit_id: str, now: datetime) -> tuple[str, str] | None:
        """The pack put in the reports bucket (evidence/...) and a presigned link to it, as a report is lent out:
        the browser downloads it itself, no token needed. (file name, url); None: no such unit."""
        if self.files is None:
            raise RuntimeError("the console has no reports bucket configured for evidence packs")
        made = self.evidence_pack(member, unit_id, now)
        if made is None:
            return None
        name, body = made
        key = f"evidence/{unit_id}/{name}"
        self.files.put(key, body, "application/zip")
        return name, self.files.presigned_get(key, PACK_LINK_SECONDS, name)

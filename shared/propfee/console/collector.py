"""A collector's day in the console: their open tasks by priority, each with what its unit has been through
(reminders, replies, tickets), and a task's outcome recorded as `propfee task done` records it, then audited."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Protocol

from propfee.collection.tasks import TaskError, address_of, close_task, outcomes_for
from propfee.console import audit
from propfee.console.auth import StaffPrincipal, staff_member
from propfee.console.masking import phone_for
from propfee.console.permissions import (
    Decision,
    Role,
    StaffMember,
    StaffRecord,
    require,
    task_policy,
)
from propfee.domain.models import Collector, Task, TaskOutcome, Ticket, Unit
from propfee.observability import mask_text

REPLY_PREVIEW_CHARS = 140  # enough to see what the owner meant; the whole text is in the evidence pack


class ConsoleStore(Protocol):
    """What the collectors' pages read and write (aws.feedback.FeedbackTable in the cloud)."""

    def staff(self, sub: str) -> StaffRecord | None: ...

    def collectors(self) -> list[Collector]: ...

    def tasks(self, collector_id: str, status: str = "open") -> list[Task]: ...

    def get_task(self, task_id: str) -> Task | None: ...

    def get_unit(self, unit_id: str) -> Unit | None: ...

    def complete_task(self, done: Task, unit_after: Unit | None, unit_version: int) -> bool: ...

    def unit_history(self, unit_id: str) -> list[dict[str, Any]]: ...

    def get_ticket(self, ticket_id: str) -> Ticket | None: ...

    def units_by_id(self, unit_ids: Sequence[str]) -> dict[str, Unit]: ...

    def tickets_by_id(self, ticket_ids: Sequence[str]) -> list[Ticket]: ...

    def append(self, actions: Iterable[audit.StaffAction]) -> None: ...

    def for_unit(self, unit_id: str) -> list[audit.StaffAction]: ...


@dataclass(frozen=True)
class Contact:
    """One reminder sent or one reply received, as a line of the task's card."""

    at: datetime
    kind: str  # "reminder" or "reply"
    channel: str
    label: str  # the ladder step of a reminder, the understood intent of a reply
    status: str = ""  # a reminder's delivery status
    text: str = ""  # a reply's first words


@dataclass(frozen=True)
class TicketLine:
    ticket_id: str
    department: str
    status: str
    created_at: datetime | None


@dataclass(frozen=True)
class TaskCard:
    """A task as the collector's phone shows it."""

    task: Task
    address: str
    balance_fen: int
    owner: str
    phone: str  # in full for the task's collector, masked for anyone else
    tel: str | None  # the tel: link's number, only when shown in full
    overdue: bool
    reminders: tuple[Contact, ...] = ()
    replies: tuple[Contact, ...] = ()
    tickets: tuple[TicketLine, ...] = ()
    holds: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()  # the ladder's steps taken in the arrears episode (the unit item's)
    last_contact: datetime | None = None  # the unit's last automated message
    detail: bool = True  # the whole history (a task's page); False: a card of the list, from batched reads


def _preview(text: str) -> str:
    return text if len(text) <= REPLY_PREVIEW_CHARS else text[:REPLY_PREVIEW_CHARS] + "…"


def collector_policy(member: StaffMember, collector_id: str, collectors: Iterable[Collector]) -> Decision:
    """A collector's task list: the collector themself; the admin; a manager of a community the collector works."""
    if member.is_admin or (member.collector_id == collector_id and member.has(Role.COLLECTOR)):
        return Decision(True, "allowed")
    works = next((c for c in collectors if c.collector_id == collector_id), None)
    if works is not None and any(member.manages(c) for c in works.communities):
        return Decision(True, "allowed")
    return Decision(False, "not this collector, nor a manager of a community they work")


def priority(task: Task, now: datetime) -> tuple[int, datetime, int]:
    """Past its deadline first, then the nearest deadline, then the largest debt."""
    return (0 if task.due_by <= now else 1, task.due_by, -task.balance_fen)


def _aware(text: Any) -> datetime | None:
    try:
        found = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return found if found.tzinfo is not None else None


def contacts(history: Iterable[Mapping[str, Any]]) -> tuple[list[Contact], list[Contact], list[str]]:
    """The reminders and replies of a unit's history, newest first, and the tickets its replies opened."""
    reminders, replies, tickets = [], [], []
    for record in history:
        at = _aware(record.get("at"))
        if at is None:
            continue
        if record.get("kind") == "reminder":
            reminders.append(
                Contact(at, "reminder", str(record.get("channel", "")), str(record.get("step", "")),
                        status=str(record.get("status", "")))
            )  # fmt: skip
        elif record.get("kind") == "inbound":
            text = _preview(str(record.get("body") or ""))
            replies.append(Contact(at, "reply", str(record.get("channel", "")), str(record.get("intent") or ""),
                                   text=text))  # fmt: skip
            if record.get("ticket_id"):
                tickets.append(str(record["ticket_id"]))
    newest_first = (
        sorted(reminders, key=lambda c: c.at, reverse=True),
        sorted(replies, key=lambda c: c.at, reverse=True),
    )
    return newest_first[0], newest_first[1], tickets


class CollectorDesk:
    """The collectors' pages' logic over a store; every read and write checked by the console's policies."""

    def __init__(self, store: ConsoleStore) -> None:
        self.store = store

    def member(self, principal: StaffPrincipal) -> StaffMember:
        """Roles from the verified token, scope from the person's staff record (none: no communities)."""
        return staff_member(principal, self.store.staff(principal.sub))

    def card(self, member: StaffMember, task: Task, now: datetime, language: str) -> TaskCard:
        """A task's page: the unit's whole history (each reminder with its date and status, every reply), its
        tickets in one batch."""
        unit = self.store.get_unit(task.unit_id)
        reminders, replies, ticket_ids = contacts(self.store.unit_history(task.unit_id))
        ticket_ids += [h.ticket for h in unit.holds if h.ticket] if unit else []
        wanted = list(dict.fromkeys(ticket_ids))
        tickets = {t.ticket_id: t for t in self.store.tickets_by_id(wanted)} if wanted else {}
        return self._card(member, task, unit, now, language, tickets, wanted, tuple(reminders), tuple(replies))

    def _card(
        self,
        member: StaffMember,
        task: Task,
        unit: Unit | None,
        now: datetime,
        language: str,
        tickets: Mapping[str, Ticket],
        ticket_ids: Iterable[str],
        reminders: tuple[Contact, ...] = (),
        replies: tuple[Contact, ...] = (),
    ) -> TaskCard:
        phone = phone_for(member, task.call_number, task=task)
        holds = unit.holds if unit else ()
        found = [tickets[i] for i in dict.fromkeys(ticket_ids) if i in tickets]
        return TaskCard(
            task=task,
            address=address_of(task, language),
            balance_fen=unit.balance_fen if unit else task.balance_fen,
            owner=task.owner_name,
            phone=phone,
            tel=phone if phone and phone == task.call_number else None,
            overdue=task.due_by <= now,
            reminders=reminders,
            replies=replies,
            tickets=tuple(TicketLine(t.ticket_id, t.department, t.status.value, t.created_at) for t in found),
            holds=tuple(h.kind.value + (f" → {h.until.isoformat()}" if h.until else "") for h in holds),
            steps=tuple(sorted(unit.steps_done)) if unit else (),
            last_contact=max(unit.recent_contacts, default=None) if unit else None,
        )

    def _list_card(self, member: StaffMember, task: Task, unit: Unit | None, tickets: Mapping[str, Ticket],
                   now: datetime, language: str) -> TaskCard:  # fmt: skip
        """A card of the list, from the batched reads: the ladder's steps taken so far and the last message (the
        unit item's), the owner's replies that opened the tickets holding the unit (their words, numbers masked)."""
        ticket_ids = [h.ticket for h in unit.holds if h.ticket] if unit else []
        replies = tuple(
            Contact(t.created_at, "reply", t.channel, t.intent, text=_preview(mask_text(t.message)))
            for t in sorted((tickets[i] for i in dict.fromkeys(ticket_ids) if i in tickets),
                            key=lambda t: t.created_at, reverse=True)
        )  # fmt: skip
        card = self._card(member, task, unit, now, language, tickets, ticket_ids, replies=replies)
        return replace(card, detail=False)

    def todays_tasks(self, member: StaffMember, collector_id: str, now: datetime, language: str) -> list[TaskCard]:
        """The collector's open tasks by priority; refused (Forbidden) for anyone the collector policy refuses, and
        a task outside the reader's communities is not listed. Read in batches, whatever the number of tasks: the
        inbox Query, the units (BatchGetItem, 100 a call), the tickets holding them (the same)."""
        own = member.collector_id == collector_id
        require(collector_policy(member, collector_id, () if own else self.store.collectors()))
        tasks = [t for t in self.store.tasks(collector_id, "open") if task_policy(member, t, "view").allowed]
        tasks.sort(key=lambda t: priority(t, now))
        units = self.store.units_by_id(list(dict.fromkeys(t.unit_id for t in tasks))) if tasks else {}
        wanted = list(dict.fromkeys(h.ticket for u in units.values() for h in u.holds if h.ticket))
        tickets = {t.ticket_id: t for t in self.store.tickets_by_id(wanted)} if wanted else {}
        return [self._list_card(member, t, units.get(t.unit_id), tickets, now, language) for t in tasks]

    def task(self, member: StaffMember, task_id: str) -> Task | None:
        """The task, None when there is none; Forbidden when it is not the reader's to see."""
        task = self.store.get_task(task_id)
        if task is not None:
            require(task_policy(member, task, "view"))
        return task

    def record_outcome(
        self,
        member: StaffMember,
        task_id: str,
        outcome: TaskOutcome,
        promised: date | None,
        note: str,
        now: datetime,
        today: date,
    ) -> Task:
        """As `propfee task done`: close_task (a promise holds the ladder until its date), then the audit record of
        who did it, when, and the task's and the unit's fields before and after."""
        task = self.store.get_task(task_id)
        if task is None:
            raise TaskError(f"no task {task_id}")
        require(task_policy(member, task, "act"))
        if outcome not in outcomes_for(task.kind):
            raise TaskError(f"a {task.kind.value} task does not end {outcome.value}")
        unit_before = self.store.get_unit(task.unit_id)
        done = close_task(self.store, task_id, outcome, promised, note, now, today)
        unit_after = self.store.get_unit(task.unit_id)
        audit.record(
            self.store,
            member,
            "task.outcome",
            "task",
            task_id,
            [task.unit_id],
            now,
            before={**_task_fields(task), **_unit_fields(unit_before)},
            after={**_task_fields(done), **_unit_fields(unit_after)},
            note=note,
        )
        return done


def _task_fields(task: Task) -> dict[str, Any]:
    return {
        "status": task.status,
        "outcome": task.outcome.value if task.outcome else None,
        "promised_date": task.promised_date.isoformat() if task.promised_date else None,
    }


def _unit_fields(unit: Unit | None) -> dict[str, Any]:
    if unit is None:
        return {}
    return {
        "holds": [h.model_dump(mode="json") for h in unit.holds],
        # how many numbers are switched off (a wrong number), not which: the audit is read beyond the case
        "sms_disabled_owners": sum(1 for o in unit.owners if o.sms_disabled),
    }

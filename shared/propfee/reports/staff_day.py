"""The day's staff actions in the report (summary "staff_actions", schema 7): what each collector recorded by
outcome, where (the console or the `propfee task done` command) and with how many notes; what each department's
staff did with tickets (claimed, reassigned, replied: sent or queued, resolved), by whom. Read from the audit
trail's day index (one paged Query), so that the figures are the actions as recorded, whoever recorded them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from propfee.domain.models import Collector, Task, Ticket
from propfee.domain.staff_actions import CLI_ACTOR, StaffAction
from propfee.observability import mask_email
from propfee.reports.history import TASK_OUTCOMES

UNKNOWN = "unknown"  # a ticket the report did not read (its department), an outcome it does not know
TICKET_FIGURES = ("claimed", "reassigned", "replied_sent", "replied_queued", "replied_not_sent", "resolved")
_TICKET_ACTIONS = {"ticket.claim": "claimed", "ticket.reassign": "reassigned", "ticket.resolve": "resolved"}
_REPLIES = {"sent": "replied_sent", "queued": "replied_queued"}  # any other answer (refused, failed): not sent


class StaffName(Protocol):
    """What the report needs of a staff record (console.permissions.StaffRecord): whom to name, and how."""

    @property
    def sub(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def email(self) -> str: ...

    @property
    def collector_id(self) -> str | None: ...


class StaffDayReader(Protocol):
    """The audit trail's day index and the staff records (aws.dynamo_staff in the cloud)."""

    def staff_actions_on(self, day: date) -> list[StaffAction]: ...

    def all_staff(self) -> Sequence[StaffName]: ...


@dataclass(frozen=True)
class StaffLabel:
    """A staff member as the report names them: the console's display name, else the masked email."""

    label: str
    collector_id: str | None = None


def staff_labels(records: Iterable[StaffName]) -> dict[str, StaffLabel]:
    return {r.sub: StaffLabel(r.name or mask_email(r.email), r.collector_id) for r in records}


def _label(sub: str, staff: Mapping[str, StaffLabel]) -> str:
    if sub in staff:
        return staff[sub].label
    # the commands' operator by their login; a sub without a record (removed since) by its first characters
    return sub if sub.startswith(CLI_ACTOR) else f"{sub[:8]}…"


def _where(sub: str) -> str:
    return "cli" if sub.startswith(CLI_ACTOR) else "console"


def collector_actions(
    actions: Iterable[StaffAction],
    staff: Mapping[str, StaffLabel],
    collectors: Iterable[Collector],
    tasks: Mapping[str, Task],
) -> list[dict[str, object]]:
    """Per collector and who recorded it: the task outcomes recorded that day. The collector is the recorder's
    own collector id, else the task's collector (a manager or the office recording for them)."""
    names = {c.collector_id: c.name for c in collectors}
    outcomes: dict[tuple[str, str], Counter[str]] = {}
    notes: Counter[tuple[str, str]] = Counter()
    for a in actions:
        if a.action != "task.outcome":
            continue
        person = staff.get(a.actor_sub)
        task = tasks.get(a.target_id)
        key = ((person.collector_id if person else None) or (task.collector_id if task else None) or "", a.actor_sub)
        outcome = str(a.after.get("outcome") or UNKNOWN)
        outcomes.setdefault(key, Counter())[outcome if outcome in TASK_OUTCOMES else UNKNOWN] += 1
        notes[key] += bool(a.note.strip())
    return [
        {
            "collector_id": collector_id or None,
            "collector": names.get(collector_id, ""),
            "recorded_by": _label(sub, staff),
            "where": _where(sub),
            "recorded": sum(outcomes[(collector_id, sub)].values()),
            "outcomes": dict(sorted(outcomes[(collector_id, sub)].items())),
            "notes": notes[(collector_id, sub)],
        }
        for collector_id, sub in sorted(outcomes, key=lambda k: (k[0], _label(k[1], staff)))
    ]


def _ticket_figure(action: StaffAction) -> str | None:
    if action.action == "ticket.reply":
        return _REPLIES.get(str(action.after.get("reply")), "replied_not_sent")
    return _TICKET_ACTIONS.get(action.action)


def ticket_actions(
    actions: Iterable[StaffAction], staff: Mapping[str, StaffLabel], tickets: Mapping[str, Ticket]
) -> list[dict[str, object]]:
    """Per department and staff member: what they did with the department's tickets that day, one count per
    action (an action on a ticket of several units is recorded once per unit, counted once)."""
    counts: dict[tuple[str, str], Counter[str]] = {}
    for a in actions:
        figure = _ticket_figure(a) if a.target_kind == "ticket" else None
        if figure is None:
            continue
        ticket = tickets.get(a.target_id)
        key = (ticket.department if ticket else UNKNOWN, a.actor_sub)
        counts.setdefault(key, Counter())[figure] += 1
    return [
        {
            "department": department,
            "staff": _label(sub, staff),
            "where": _where(sub),
            **{f: counts[(department, sub)][f] for f in TICKET_FIGURES},
            "total": sum(counts[(department, sub)].values()),
        }
        for department, sub in sorted(counts, key=lambda k: (k[0], _label(k[1], staff)))
    ]


def once_each(actions: Iterable[StaffAction]) -> list[StaffAction]:
    """One record per action (the day index holds one; the records of a unit hold one per unit touched)."""
    return list({a.action_id: a for a in sorted(actions, key=lambda a: (a.at, a.action_id))}.values())


def staff_actions_section(
    actions: Sequence[StaffAction],
    staff: Mapping[str, StaffLabel],
    collectors: Iterable[Collector],
    tasks: Mapping[str, Task],
    tickets: Mapping[str, Ticket],
) -> dict[str, object]:
    unique = once_each(actions)
    return {
        "count": len(unique),
        "by_action": dict(sorted(Counter(a.action for a in unique).items())),
        "collectors": collector_actions(unique, staff, collectors, tasks),
        "tickets": ticket_actions(unique, staff, tickets),
    }


def within(actions: Iterable[StaffAction], tasks: Iterable[str], tickets: Iterable[str]) -> tuple[StaffAction, ...]:
    """The actions on these tasks and tickets (a community's set: those of its own tasks and tickets)."""
    task_ids, ticket_ids = set(tasks), set(tickets)
    return tuple(
        a
        for a in actions
        if (a.target_kind == "task" and a.target_id in task_ids)
        or (a.target_kind == "ticket" and a.target_id in ticket_ids)
    )

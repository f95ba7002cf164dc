"""A department clerk's day in the console: the department's ticket inbox (new, open, overdue, with the time left),
a ticket with the owner's words and the unit's context, claiming or reassigning it, answering the owner through the
normal send path, and resolving it as `propfee tickets resolve` does (the hold released); every action audited."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from propfee.console import audit
from propfee.console.auth import StaffPrincipal, staff_member
from propfee.console.permissions import (
    Forbidden,
    Role,
    StaffMember,
    StaffRecord,
    department_inbox_policy,
    require,
    ticket_policy,
)
from propfee.domain.models import Ticket, TicketStatus, Unit
from propfee.feedback.ticketing import OwnerReplies, TicketError, resolve_ticket
from propfee.observability import mask_destination, mask_email, mask_text

MAX_REPLY_CHARS = 500  # a few SMS segments; a longer answer is a call or a letter
# (community, department id) -> the department's name in Chinese and in English
DepartmentNames = Callable[[str, str], tuple[str, str] | None]


class ClerkStore(Protocol):
    """What the clerks' pages read and write (aws.feedback.FeedbackTable in the cloud)."""

    def staff(self, sub: str) -> StaffRecord | None: ...

    def all_staff(self) -> list[StaffRecord]: ...

    def get_ticket(self, ticket_id: str) -> Ticket | None: ...

    def get_unit(self, unit_id: str) -> Unit | None: ...

    def tickets(self, department: str, status: str = "open", due_before: datetime | None = None) -> list[Ticket]: ...

    def save_ticket(self, before: Ticket, after: Ticket, units_after: list[Unit]) -> bool: ...

    def append(self, actions: Iterable[audit.StaffAction]) -> None: ...

    def for_unit(self, unit_id: str) -> list[audit.StaffAction]: ...


@dataclass(frozen=True)
class InboxLine:
    ticket: Ticket
    state: str  # "new" (nobody claimed it), "open" (claimed), "overdue" (past its deadline, claimed or not)
    minutes_left: int  # negative once overdue
    claimed_by_me: bool


@dataclass(frozen=True)
class UnitContext:
    unit_id: str
    address: str
    balance_fen: int
    holds: tuple[str, ...]


@dataclass(frozen=True)
class TicketView:
    ticket: Ticket
    contact: str  # masked: a clerk answers through the send path, never by hand
    message: str  # the owner's words, a number in them masked (the page escapes the rest)
    units: tuple[UnitContext, ...]
    state: str
    minutes_left: int


def state_of(ticket: Ticket, now: datetime) -> str:
    if ticket.status is TicketStatus.RESOLVED:
        return "resolved"
    if ticket.due_by <= now:
        return "overdue"
    return "open" if ticket.assigned_to else "new"


def minutes_left(ticket: Ticket, now: datetime) -> int:
    return int((ticket.due_by - now).total_seconds() // 60)


class ClerkDesk:
    """The clerks' pages' logic over a store; every read and write checked by the console's policies."""

    def __init__(self, store: ClerkStore, replies: OwnerReplies, names: DepartmentNames | None = None) -> None:
        self.store = store
        self.replies = replies
        self.names = names  # the departments' names (the rules), for the owner's bill page

    def member(self, principal: StaffPrincipal) -> StaffMember:
        return staff_member(principal, self.store.staff(principal.sub))

    def departments(self, member: StaffMember) -> list[str]:
        return sorted(member.departments) if member.has(Role.DEPARTMENT_CLERK) else []

    def inbox(self, member: StaffMember, department: str, now: datetime) -> list[InboxLine]:
        """The department's open tickets in the reader's communities: overdue first, then the nearest deadline."""
        require(department_inbox_policy(member, department))
        found = [
            t for t in self.store.tickets(department, "open") if member.is_admin or t.community_id in member.communities
        ]
        lines = [InboxLine(t, state_of(t, now), minutes_left(t, now), t.assigned_to == member.sub) for t in found]
        return sorted(lines, key=lambda line: (line.state != "overdue", line.ticket.due_by))

    def ticket(self, member: StaffMember, ticket_id: str) -> Ticket | None:
        """The ticket, None when there is none; Forbidden outside the reader's department and communities."""
        ticket = self.store.get_ticket(ticket_id)
        if ticket is not None:
            require(ticket_policy(member, ticket, "view"))
            overseer = member.is_admin or member.manages(ticket.community_id)
            if not overseer and ticket.community_id not in member.communities:
                raise Forbidden("a clerk of the department, but not in the ticket's community")
        return ticket

    def view(self, member: StaffMember, ticket: Ticket, now: datetime) -> TicketView:
        units = []
        for unit_id in ticket.unit_ids:
            unit = self.store.get_unit(unit_id)
            if unit is None:
                continue
            holds = tuple(
                h.kind.value + (f" → {h.until.isoformat()}" if h.until else "") + (" ✎" if h.ticket else "")
                for h in unit.holds
            )
            units.append(UnitContext(unit.unit_id, f"{unit.building_id} {unit.room}", unit.balance_fen, holds))
        return TicketView(
            ticket,
            mask_destination(ticket.contact),
            mask_text(ticket.message),
            tuple(units),
            state_of(ticket, now),
            minutes_left(ticket, now),
        )

    def colleagues(self, member: StaffMember, ticket: Ticket) -> list[tuple[str, str]]:
        """Whom the ticket may be reassigned to: the other clerks of its department in its community (sub, name)."""
        return [
            (r.sub, r.name or mask_email(r.email))
            for r in self.store.all_staff()
            if r.sub != member.sub and ticket.department in r.departments and ticket.community_id in r.communities
        ]

    def _save(
        self,
        member: StaffMember,
        ticket: Ticket,
        after: Ticket,
        action: str,
        now: datetime,
        note: str = "",
        before_fields: dict[str, Any] | None = None,
        after_fields: dict[str, Any] | None = None,
    ) -> Ticket:
        if not self.store.save_ticket(ticket, after, []):
            raise TicketError(f"ticket {ticket.ticket_id} changed meanwhile; open it again")
        audit.record(self.store, member, action, "ticket", ticket.ticket_id, ticket.unit_ids, now,
                     before=before_fields, after=after_fields, note=note)  # fmt: skip
        return after

    def _open_ticket(self, member: StaffMember, ticket_id: str) -> Ticket:
        ticket = self.ticket(member, ticket_id)
        if ticket is None:
            raise TicketError(f"no ticket {ticket_id}")
        require(ticket_policy(member, ticket, "act"))
        if ticket.status is TicketStatus.RESOLVED:
            raise TicketError(f"ticket {ticket_id} is resolved")
        return ticket

    def assign(self, member: StaffMember, ticket_id: str, assignee_sub: str, now: datetime) -> Ticket:
        """Claim (the assignee is the reader) or reassign to another clerk of the same department and community."""
        ticket = self._open_ticket(member, ticket_id)
        if assignee_sub != member.sub:
            record = self.store.staff(assignee_sub)
            if record is None or ticket.department not in record.departments:
                raise Forbidden("the assignee is not a clerk of the ticket's department")
            if ticket.community_id not in record.communities:
                raise Forbidden("the assignee does not work the ticket's community")
        after = ticket.model_copy(update={"assigned_to": assignee_sub})
        action = "ticket.claim" if assignee_sub == member.sub else "ticket.reassign"
        before, changed = {"assigned_to": ticket.assigned_to}, {"assigned_to": assignee_sub}
        return self._save(member, ticket, after, action, now, before_fields=before, after_fields=changed)

    def reply(self, member: StaffMember, ticket_id: str, text: str, now: datetime) -> str:
        """Answer the owner now if the contact window allows ("sent"), else keep it on the ticket for the hourly run
        ("queued"); "failed" when the provider refused, "wechat_window_closed" past WeChat's 48 hours (both kept in
        the audit). "phone_only": a mainland SMS to a number of no unit has no bill page to show the answer on,
        so nothing is sent or recorded. The words are in the audit (the unit's evidence, and its bill page), with
        the department's name and, for an approved template, the text the owner received."""
        ticket = self._open_ticket(member, ticket_id)
        result = self.replies.answer(ticket, text, now)
        if result.outcome == "phone_only":
            return "phone_only"
        department = self.departments_named(ticket)
        if result.outcome == "outside_window":
            after = ticket.model_copy(update={"queued_replies": (*ticket.queued_replies, text)})
            fields = {"reply": "queued", **department}
            self._save(member, ticket, after, "ticket.reply", now, note=text, after_fields=fields)
            return "queued"
        fields = {"reply": result.outcome, "route": result.route, **department}
        if result.outcome == "sent" and result.template:  # the SMS evidence: what the owner's phone shows
            fields |= {"template": result.template, "sms_text": result.sent_text, "message_id": result.message_id}
        audit.record(self.store, member, "ticket.reply", "ticket", ticket.ticket_id, ticket.unit_ids, now,
                     after=fields, note=text)  # fmt: skip
        return result.outcome

    def departments_named(self, ticket: Ticket) -> dict[str, str]:
        """The department's name as the owner knows it, for the bill page's answers."""
        named = {"department": ticket.department}
        names = self.names(ticket.community_id, ticket.department) if self.names else None
        if names:
            named |= {"department_name": names[0], "department_name_en": names[1]}
        return named

    def resolve(self, member: StaffMember, ticket_id: str, note: str, now: datetime) -> tuple[Ticket, list[str]]:
        """As `propfee tickets resolve`: the ticket closed with the note and its holds released, then audited."""
        ticket = self._open_ticket(member, ticket_id)
        units_before = {u: self.store.get_unit(u) for u in ticket.unit_ids}
        done, released = resolve_ticket(self.store, ticket_id, note, now)
        audit.record(
            self.store, member, "ticket.resolve", "ticket", ticket_id, ticket.unit_ids, now,
            before={"status": ticket.status.value, "holds": _holds(units_before)},
            after={"status": done.status.value, "holds": _holds({u: self.store.get_unit(u) for u in ticket.unit_ids})},
            note=note,
        )  # fmt: skip
        return done, released


def _holds(units: dict[str, Unit | None]) -> list[dict[str, Any]]:
    return [h.model_dump(mode="json") | {"unit_id": u} for u, unit in units.items() if unit for h in unit.holds]

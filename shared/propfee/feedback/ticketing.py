"""Department tickets after they are opened: resolving one (which releases its hold on reminders) and
the hourly escalation of tickets past their deadline to the site manager."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from propfee.domain.config import Settings
from propfee.domain.models import Ticket, TicketStatus, Unit
from propfee.feedback.intents import Department
from propfee.feedback.receiving import TicketRouter, ticket_email
from propfee.feedback.responses import RepliesRules, release_ticket_holds


class TicketError(ValueError):
    pass


class TicketStore(Protocol):
    def get_ticket(self, ticket_id: str) -> Ticket | None: ...

    def get_unit(self, unit_id: str) -> Unit | None: ...

    def tickets(self, department: str, status: str = "open", due_before: datetime | None = None) -> list[Ticket]: ...

    def save_ticket(self, before: Ticket, after: Ticket, units_after: list[Unit]) -> bool: ...


class QueuedReplies(Protocol):
    def tickets_with_queued_replies(self) -> list[Ticket]:
        """The tickets holding answers that wait for the contact window (read without every open ticket)."""
        ...

    def save_ticket(self, before: Ticket, after: Ticket, units_after: list[Unit]) -> bool: ...


def resolve_ticket(store: TicketStore, ticket_id: str, note: str, now: datetime) -> tuple[Ticket, list[str]]:
    """Close a ticket and release the holds it placed; returns it and the units whose reminders resume."""
    if not note.strip():
        raise TicketError("say what was done (--note): the owner's history keeps it")
    for _attempt in range(3):
        ticket = store.get_ticket(ticket_id)
        if ticket is None:
            raise TicketError(f"no ticket {ticket_id}")
        if ticket.status is TicketStatus.RESOLVED:
            raise TicketError(f"ticket {ticket_id} was resolved at {ticket.resolved_at:%Y-%m-%d %H:%M}")
        units = [store.get_unit(unit_id) for unit_id in ticket.unit_ids]
        released = [after for u in units if u is not None and (after := release_ticket_holds(u, ticket_id))]
        done = ticket.model_copy(update={"status": TicketStatus.RESOLVED, "resolved_at": now, "resolution": note})
        if store.save_ticket(ticket, done, released):
            return done, [u.unit_id for u in released]
    raise TicketError(f"ticket {ticket_id} or its units kept changing; try again")


def escalate_overdue(
    store: TicketStore, router: TicketRouter, rules: RepliesRules, settings: Settings, now: datetime
) -> list[str]:
    """Tickets past their deadline and not yet escalated go to the site manager's inbox, once each."""
    escalated, failures = [], []
    for department in Department:
        for ticket in store.tickets(department.value, "open", due_before=now):
            if ticket.escalated_at is not None:
                continue
            # claimed first (a ticket resolved meanwhile is not escalated), given back if the email fails, so
            # that the next hourly run tries again
            after = ticket.model_copy(update={"escalated_at": now})
            if not store.save_ticket(ticket, after, []):
                continue
            departments = rules.feedback_for(ticket.community_id).departments
            manager = departments[Department.SITE_MANAGER]
            subject, body = ticket_email(after, departments[Department(ticket.department)], settings)
            try:
                router.route(after, Department.SITE_MANAGER.value, manager, f"【超时未处理 overdue】{subject}", body)
            except Exception as error:  # the others are still escalated; the run fails at the end
                store.save_ticket(after, ticket, [])
                failures.append(error)
                continue
            escalated.append(ticket.ticket_id)
    if failures:
        raise failures[0]
    return escalated


@dataclass(frozen=True)
class ReplyResult:
    """What became of an answer: the outcome (feedback.owner_replies.OwnerReplier.answer), the route it took and,
    once sent, what the owner received when it is not the clerk's words (an approved SMS template) and its id."""

    outcome: str
    route: str = ""
    sent_text: str = ""
    template: str | None = None
    message_id: str = ""


class OwnerReplies(Protocol):
    """The send path of the acknowledgements (feedback.owner_replies.OwnerReplier)."""

    def answer(self, ticket: Ticket, text: str, now: datetime) -> ReplyResult: ...


def send_queued_replies(store: QueuedReplies, replies: OwnerReplies, now: datetime) -> dict[str, int]:
    """The clerks' answers written outside the contact window, sent once it opens (the hourly run); a reply the
    provider refuses stays queued for the next hour (one that can never go, phone_only or past WeChat's 48 hours,
    leaves the queue: it stays in the ticket's audit). Counts by outcome."""
    counts: dict[str, int] = {}
    for ticket in store.tickets_with_queued_replies():
        kept = []
        for text in ticket.queued_replies:
            outcome = replies.answer(ticket, text, now).outcome
            counts[outcome] = counts.get(outcome, 0) + 1
            if outcome in ("outside_window", "failed"):
                kept.append(text)
        if len(kept) != len(ticket.queued_replies):
            store.save_ticket(ticket, ticket.model_copy(update={"queued_replies": tuple(kept)}), [])
    return counts

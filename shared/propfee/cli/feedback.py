"""Owners' replies: how a text is understood (`route`) and the departments' tickets (`tickets`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from propfee.cli.common import settings_and_table
from propfee.cli.tables import Column, local, print_rows


def cmd_route(args: argparse.Namespace) -> int:
    """How a text from an owner is understood and where it goes: for operators testing their rules."""
    from propfee.domain import clock
    from propfee.domain.config import Settings
    from propfee.feedback.intents import classify, load_intent_rules

    tz = Settings(table="-").tz  # type: ignore[call-arg]
    today = args.today or clock.now().astimezone(tz).date()
    rules = load_intent_rules(Path(args.rules) if args.rules else None)
    result = classify(args.text, today, rules)
    shown = {
        "intent": result.intent.value,
        "department": result.department.value if result.department else None,
        "category": result.category,
        "promise_date": result.promise_date.isoformat() if result.promise_date else None,
        "matched_rule": result.matched_rule,
        "also_detected": [i.value for i in result.also_detected],
        "refuses_to_pay": result.refuses_to_pay,
        "possible_opt_out": result.possible_opt_out,  # SMS stops, the owner is asked once
        "decided_by": result.decided_by,
        "confidence": result.confidence,
        "guesses": [i.value for i in result.guesses],
    }
    print(json.dumps(shown, ensure_ascii=False))
    return 0


TICKET_COLUMNS = [
    Column("ticket_id", "ticket"),
    Column("department", "department"),
    Column("priority", "priority"),
    Column("community", "community"),
    Column("rooms", "units"),
    Column("contact", "contact"),
    Column("created_at", "received"),
    Column("due_by", "due by"),
    Column("category", "about"),
    Column("message", "message"),
]


def cmd_tickets_list(args: argparse.Namespace) -> int:
    """A department's tickets (or every department's), the nearest deadline first."""
    from propfee.feedback.intents import Department
    from propfee.observability import mask_destination

    settings, table = settings_and_table(args)
    tz = settings.tz
    community_names = {c.community_id: c.name for c in table.communities()}
    rows: list[dict[str, Any]] = []
    for department in [args.department] if args.department else [d.value for d in Department]:
        for ticket in table.tickets(department, args.status):
            if args.community and ticket.community_id != args.community:
                continue
            rows.append(
                {
                    "ticket_id": ticket.ticket_id,
                    "department": ticket.department,
                    "intent": ticket.intent,
                    "category": ticket.category,
                    "priority": ticket.priority,
                    "community_id": ticket.community_id,
                    "community": community_names.get(ticket.community_id, ticket.community_id),
                    "units": list(ticket.unit_ids),
                    "rooms": [unit_id.split("-", 1)[-1] for unit_id in ticket.unit_ids],
                    "contact": ticket.contact if args.show_contact else mask_destination(ticket.contact),
                    "created_at": local(ticket.created_at, tz),
                    "due_by": local(ticket.due_by, tz),
                    "escalated": ticket.escalated_at is not None,
                    "hold": ticket.hold.value if ticket.hold else None,
                    "message": ticket.message,
                }
            )
    rows.sort(key=lambda row: row["due_by"])
    title = f"{args.status} tickets ({settings.timezone} time)"
    print_rows(rows, TICKET_COLUMNS, title, args.json, f"no {args.status} tickets")
    return 0


def cmd_tickets_resolve(args: argparse.Namespace) -> int:
    from propfee.domain import clock
    from propfee.feedback.ticketing import TicketError, resolve_ticket

    _, table = settings_and_table(args)
    try:
        done, resumed = resolve_ticket(table, args.ticket_id, args.note, clock.now())
    except TicketError as error:
        print(str(error), file=sys.stderr)
        return 1
    print(json.dumps({"ticket_id": done.ticket_id, "status": done.status.value, "reminders_resume_for": resumed}))
    return 0

"""What happened in one community on one local day, as the daily report and the console read it."""

from __future__ import annotations

from pydantic import AwareDatetime

from propfee.domain.models import Payment, Record, Reminder, Task


class Skip(Record):
    """A planned reminder that was not sent, and why."""

    unit_id: str
    community_id: str
    step: str
    reason: str
    at: AwareDatetime


class LinkOpened(Record):
    """A unit's bill link opened on the bill page: the first time that day (kept once per link and day), and
    nothing of who opened it or from where."""

    unit_id: str
    community_id: str
    at: AwareDatetime


class StartedOrder(Record):
    """An online payment order started on the bill page, as the report reads it (payments.orders.PaymentOrder)."""

    unit_id: str
    community_id: str
    provider: str
    amount_fen: int
    created_at: AwareDatetime
    status: str  # open, paid, held, closed


class DayActivity(Record):
    """Everything that happened in one community on one local day."""

    payments: tuple[Payment, ...] = ()
    reminders: tuple[Reminder, ...] = ()
    skips: tuple[Skip, ...] = ()
    tasks_done: tuple[Task, ...] = ()  # calls, visits and reviews their collector closed that day
    link_openings: tuple[LinkOpened, ...] = ()  # bill links first opened that day
    orders: tuple[StartedOrder, ...] = ()  # online payment orders created that day (their status now)

"""A fake of the departments' inboxes and queues, shared by the receive and ticket tests."""

from dataclasses import dataclass

from propfee.feedback.responses import DepartmentContact


@dataclass(frozen=True)
class Routed:
    ticket_id: str
    department: str
    contact: DepartmentContact
    subject: str
    body: str


class Inboxes:
    """The departments' inboxes and queues; fails the first `failures` times (SES throttled)."""

    def __init__(self, failures: int = 0) -> None:
        self.routed: list[Routed] = []
        self.failures = failures

    def route(self, ticket, department, contact, subject, body):
        if self.failures:
            self.failures -= 1
            raise ConnectionError("Throttling: maximum sending rate exceeded")
        self.routed.append(Routed(ticket.ticket_id, department, contact, subject, body))

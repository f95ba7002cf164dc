"""tickets (hourly): escalate tickets past their deadline to the site manager, and send the
acknowledgements, the clerks' answers and the e-receipts' messages that waited for the contact window to open."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from propfee.domain import clock
from propfee.feedback.ticketing import escalate_overdue, send_queued_replies
from propfee.observability import lambda_entry, logger, metrics
from propfee.wiring import LazyServices

services = LazyServices()


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    svc = services()
    now = clock.now()
    escalated = escalate_overdue(svc.table, svc.ticket_inboxes, svc.rules, svc.settings, now)
    acknowledgements = [svc.receiver.acknowledge(record, now) for record in svc.table.deferred_acks()]
    replies = send_queued_replies(svc.table, svc.owner_replies, now)  # the clerks' answers that waited for the window
    # the e-receipts' messages planned with their payments outside the window (or not sent then): due now
    receipts = svc.receipt_messages.send_due(svc.payments_table, now) if svc.receipt_messages is not None else {}
    summary = {
        "escalated": escalated,
        "receipt_messages": receipts,
        "queued_replies": replies,
        "acknowledgements": {outcome: acknowledgements.count(outcome) for outcome in sorted(set(acknowledgements))},
    }
    if escalated:  # a custom metric is billed for each hour it gets data: the hourly run sends it only when it counts
        metrics.add_metric(name="TicketsEscalated", unit="Count", value=len(escalated))
    logger.info("tickets checked", extra=summary)
    return summary

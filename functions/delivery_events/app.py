"""delivery_events: SMS receipts and SES notifications (SNS invokes this function) -> evidence status and
reachable addresses. An unreadable event goes to the DLQ at once with its reason; a failure raises, so that Lambda
retries the event twice and then keeps it in the same DLQ."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from propfee.collection.delivery import UnreadableEvent, apply_delivery_event, parse_delivery_event
from propfee.events import fitting_notifications
from propfee.observability import lambda_entry, logger, tracer
from propfee.wiring import LazyServices

services = LazyServices()


@tracer.capture_method
def handle_receipt(body: str, sns_message_id: str) -> None:
    svc = services()
    try:
        event = parse_delivery_event(body)
    except UnreadableEvent as problem:
        svc.dead_letters.reject(body, f"unreadable delivery event: {problem}")
        logger.warning("delivery event rejected", extra={"sns_message_id": sns_message_id, "reason": str(problem)})
        return
    outcome = apply_delivery_event(event, svc.table)
    logger.info("delivery event", extra={"unit_id": event.unit_id, "channel": event.channel.value,
                                         "provider_message_id": event.provider_message_id,
                                         "status": event.status, "outcome": outcome})  # fmt: skip


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    notifications = fitting_notifications(event, services().dead_letters.reject)  # SNS delivers one at a time
    for sns in notifications:
        handle_receipt(str(sns.Message), sns.MessageId)
    return {"receipts": len(notifications)}

"""receive: owners' SMS replies (End User Messaging two-way SMS -> SNS -> this function) -> kept whole, understood,
acted on, routed, acknowledged. What is malformed goes to the DLQ at once with its reason; a failure raises, so
that Lambda retries the event twice and then keeps it in the same DLQ."""

from typing import Any

from aws_lambda_powertools.utilities.parser.models import SnsNotificationModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from propfee.domain import clock
from propfee.events import fitting_notifications
from propfee.feedback.receiving import keep_sms_whole, parse_inbound_sms
from propfee.observability import lambda_entry, logger, mask_phone, tracer
from propfee.wiring import LazyServices

services = LazyServices()


@tracer.capture_method
def handle_reply(sns: SnsNotificationModel) -> None:
    svc, now, payload = services(), clock.now(), str(sns.Message)
    message, problem = parse_inbound_sms(payload, now)
    if message is None:
        svc.dead_letters.reject(payload, problem)
        logger.warning("inbound SMS rejected", extra={"sns_message_id": sns.MessageId, "reason": problem})
        return
    result = svc.receiver.receive(keep_sms_whole(message, payload, sns.Timestamp, svc.originals), now)
    fields = {"outcome": result.outcome.value, "intent": result.intent, "ticket_id": result.ticket_id}
    fields |= {"acknowledged": result.acknowledged, "inbound_message_id": message.source_id}
    logger.info("inbound SMS done", extra={"from": mask_phone(message.sender), **fields})


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    notifications = fitting_notifications(event, services().dead_letters.reject)  # SNS delivers one at a time
    for sns in notifications:
        handle_reply(sns)
    return {"replies": len(notifications)}

"""receive: owners' SMS replies (End User Messaging two-way SMS -> SNS, which invokes this function) -> understood,
acted on, routed to the department's inbox, acknowledged. A malformed message goes to the DLQ at once with its
reason; a failure raises, so that Lambda retries the event twice and then keeps it in the same DLQ."""

from typing import Any

from aws_lambda_powertools.utilities.data_classes import SNSEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from propfee import clock
from propfee.observability import lambda_entry, logger, mask_phone, tracer
from propfee.receiving import parse_inbound_sms
from propfee.wiring import LazyServices

services = LazyServices()


@tracer.capture_method
def handle_reply(body: str, sns_message_id: str) -> None:
    svc = services()
    now = clock.now()
    message, problem = parse_inbound_sms(body, now)
    if message is None:
        svc.dead_letters.reject(body, problem)
        logger.warning("inbound SMS rejected", extra={"sns_message_id": sns_message_id, "reason": problem})
        return
    result = svc.receiver.receive(message, now)
    logger.info(
        "inbound SMS done",
        extra={
            "from": mask_phone(message.sender),
            "inbound_message_id": message.source_id,
            "outcome": result.outcome.value,
            "intent": result.intent,
            "ticket_id": result.ticket_id,
            "acknowledged": result.acknowledged,
        },
    )


@lambda_entry
@event_source(data_class=SNSEvent)
def lambda_handler(event: SNSEvent, context: LambdaContext) -> dict[str, Any]:
    records = list(event.records)  # SNS delivers one message an invocation
    for record in records:
        handle_reply(record.sns.message, record.sns.message_id)
    return {"replies": len(records)}

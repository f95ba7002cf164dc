"""receive: owners' SMS replies (End User Messaging two-way SMS -> SNS -> SQS) -> understood, acted on,
routed to the department's inbox, acknowledged. Partial batch failures; malformed messages go to the DLQ."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from propfee import clock
from propfee.observability import lambda_entry, logger, mask_phone, metrics, tracer
from propfee.receiving import parse_inbound_sms
from propfee.wiring import LazyServices

services = LazyServices()
processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    svc = services()
    now = clock.now()
    message, problem = parse_inbound_sms(record.body, now)
    if message is None:
        svc.dead_letters.reject(record.body, problem)
        logger.warning("inbound SMS rejected", extra={"sqs_message_id": record.message_id, "reason": problem})
        return
    result = svc.receiver.receive(message, now)
    metrics.add_metric(name=f"Replies_{result.outcome.value}", unit="Count", value=1)
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
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)

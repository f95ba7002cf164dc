"""delivery_events: SMS receipts and SES notifications -> evidence status and reachable addresses."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from propfee.delivery import UnreadableEvent, apply_delivery_event, parse_delivery_event
from propfee.observability import lambda_entry, logger, metrics, tracer
from propfee.wiring import LazyServices

services = LazyServices()
processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    svc = services()
    try:
        event = parse_delivery_event(record.body)
    except UnreadableEvent as problem:
        svc.dead_letters.reject(record.body, f"unreadable delivery event: {problem}")
        logger.warning("delivery event rejected", extra={"sqs_message_id": record.message_id, "reason": str(problem)})
        return
    outcome = apply_delivery_event(event, svc.table)
    metrics.add_metric(name=f"DeliveryEvents_{outcome}", unit="Count", value=1)
    logger.info("delivery event", extra={"unit_id": event.unit_id, "channel": event.channel.value,
                                         "status": event.status, "outcome": outcome})  # fmt: skip


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)

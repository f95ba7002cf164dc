"""send: SQS send jobs -> re-check, claim exactly once, SMS/email, evidence. Partial batch failures."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from propfee.collection.sending import Outcome
from propfee.domain import clock
from propfee.events import SendJobRecord, job_body, parse, send_jobs_together
from propfee.observability import lambda_entry, logger, metrics, tracer
from propfee.wiring import LazyServices

services = LazyServices()
processor = BatchProcessor(event_type=EventType.SQS)
settled: dict[str, object] = {}  # messageId -> what sending it together with its batch came to


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    svc = services()
    parsed = parse(SendJobRecord, record.raw_event, "send job")
    if parsed.model is None:
        # a message that can never succeed goes to the DLQ now, with its reason, not after 5 retries
        svc.dead_letters.reject(job_body(parsed.raw), parsed.problem)
        logger.warning("send job rejected", extra={"sqs_message_id": record.get("messageId"), "reason": parsed.problem})
        return
    job = parsed.model.job
    # sent with the batch (one provider request for many numbers where it allows), else on its own here
    result = settled.pop(record.message_id, None) or svc.sender.send(job, clock.now(), parsed.model.redelivered)
    if isinstance(result, Exception):
        raise result
    if result.outcome is Outcome.UNCONFIRMED:
        # sending again might send twice, dropping it would lose it: a person decides, with the reason
        svc.dead_letters.reject(record.body, result.reason or "unconfirmed claim")
    metrics.add_metric(name=f"Reminders_{result.outcome.value}", unit="Count", value=1)
    fields = {"unit_id": job.unit_id, "step": job.step, "channel": job.channel.value, "reason": result.reason}
    logger.info("send job done", extra={**fields, "outcome": result.outcome.value})


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    with services().table.deferred_evidence():  # the batch's "sent" records in one write
        settled.update(send_jobs_together(event, services().sender, clock.now()))
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

"""plan: every morning, one planning message per community (the fan-out); then, for each community, decide each
unit's next reminder and enqueue the send jobs."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from propfee import clock
from propfee.models import PlanRequest, ScheduledEvent
from propfee.observability import lambda_entry, logger, metrics, tracer
from propfee.planning import plan_day
from propfee.wiring import LazyServices

services = LazyServices()
processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def plan_community(record: SQSRecord) -> None:
    svc = services()
    # a malformed request raises: retried, then kept in the plan DLQ with the others proceeding
    request = PlanRequest.model_validate_json(record.body)
    summary = plan_day(
        request.day, svc.settings.tz, svc.table, svc.send_queue, svc.rules, community_ids=[request.community_id]
    )
    metrics.add_metric(name="SendJobsEnqueued", unit=MetricUnit.Count, value=summary.jobs_enqueued)
    logger.info("plan finished", extra={"community_id": request.community_id, **summary.as_dict()})


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, object]:
    if "Records" in event:  # the plan queue: one community each
        return process_partial_response(
            event=event, record_handler=plan_community, processor=processor, context=context
        )
    svc = services()
    request = ScheduledEvent.model_validate(event)
    today = request.local_day(svc.settings.tz, clock.now())
    community_ids = request.communities or sorted(c.community_id for c in svc.table.communities())
    fanned_out = svc.plan_queue.enqueue([PlanRequest(day=today, community_id=c) for c in community_ids])
    logger.info("plan fanned out", extra={"day": today.isoformat(), "communities": fanned_out})
    return {"day": today.isoformat(), "communities": fanned_out}

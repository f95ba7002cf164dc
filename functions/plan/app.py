"""plan: every morning, one asynchronous run of this function per community (the fan-out); then, for each
community, decide each unit's next reminder and enqueue the send jobs."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from propfee.collection.planning import plan_day
from propfee.domain import clock
from propfee.domain.models import PlanRequest, ScheduledEvent
from propfee.observability import lambda_entry, logger, metrics, tracer
from propfee.wiring import LazyServices

services = LazyServices()


@tracer.capture_method
def plan_community(request: PlanRequest) -> dict[str, object]:
    svc = services()
    summary = plan_day(
        request.day, svc.settings.tz, svc.table, svc.send_queue, svc.rules, community_ids=[request.community_id]
    )
    metrics.add_metric(name="SendJobsEnqueued", unit=MetricUnit.Count, value=summary.jobs_enqueued)
    logger.info("plan finished", extra={"community_id": request.community_id, **summary.as_dict()})
    return {"community_id": request.community_id, **summary.as_dict()}


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, object]:
    if "community_id" in event:  # one community's run, from the fan-out
        # a malformed request raises: Lambda retries it twice, then keeps it in the function's DLQ
        return plan_community(PlanRequest.model_validate(event))
    svc = services()
    request = ScheduledEvent.model_validate(event)
    today = request.local_day(svc.settings.tz, clock.now())
    community_ids = request.communities or sorted(c.community_id for c in svc.table.communities())
    started = svc.plan_fan_out.start([PlanRequest(day=today, community_id=c) for c in community_ids])
    logger.info("plan fanned out", extra={"day": today.isoformat(), "communities": started})
    return {"day": today.isoformat(), "communities": started}

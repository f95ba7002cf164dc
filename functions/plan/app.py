"""plan: every morning, decide each unit's next reminder and enqueue the send jobs."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from propfee import clock
from propfee.models import ScheduledEvent
from propfee.observability import lambda_entry, logger, metrics
from propfee.planning import plan_day
from propfee.wiring import LazyServices

services = LazyServices()


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, object]:
    svc = services()
    request = ScheduledEvent.model_validate(event)
    today = request.local_day(svc.settings.tz, clock.now())
    summary = plan_day(today, svc.settings.tz, svc.table, svc.send_queue, svc.rules, community_ids=request.communities)
    metrics.add_metric(name="SendJobsEnqueued", unit=MetricUnit.Count, value=summary.jobs_enqueued)
    logger.info("plan finished", extra=summary.as_dict())
    return summary.as_dict()

"""print_batch: just after midnight, the previous day's demand letters in one PDF with a print list."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from propfee.collection.letters import publish_print_batch
from propfee.domain import clock
from propfee.domain.models import ScheduledEvent
from propfee.observability import lambda_entry, logger
from propfee.wiring import LazyServices

services = LazyServices()


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    svc = services()
    request = ScheduledEvent.model_validate(event)
    day = request.local_day(svc.settings.tz, request.scheduled_time or clock.now())
    result = publish_print_batch(day.isoformat(), svc.reports)
    logger.info("print batch written", extra=result)
    return result

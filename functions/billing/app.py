"""billing: on the 1st, each unit's bill for the month from its fee schedule (idempotent per period)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from propfee.accounts.billing import issue_period
from propfee.domain import clock
from propfee.domain.models import ScheduledEvent
from propfee.observability import lambda_entry, logger, metrics
from propfee.wiring import LazyServices

services = LazyServices()


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, object]:
    svc = services()
    request = ScheduledEvent.model_validate(event)
    day = request.local_day(svc.settings.tz, clock.now())
    period = f"{day.year:04d}-{day.month:02d}"
    summary = issue_period(svc.table, svc.rules.billing, period, clock.now(), request.communities)
    metrics.add_metric(name="BillsIssued", unit="Count", value=int(str(summary.get("issued", 0))))
    logger.info("billing finished", extra=summary)
    return summary

"""reconcile_payments: mornings, each provider's trade bill of the day before compared with what was recorded; a
payment whose notification never came applied once, unknown and mismatched ones in a finance ticket."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from propfee.domain import clock
from propfee.domain.models import ScheduledEvent
from propfee.observability import lambda_entry, logger, metrics
from propfee.payments.reconciliation import reconcile_providers
from propfee.wiring import LazyServices

services = LazyServices()


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    svc = services()
    request = ScheduledEvent.model_validate(event)
    now = clock.now()
    day = request.local_day(svc.settings.tz, request.scheduled_time or now)
    results = reconcile_providers(svc.payment_providers, svc.payments_table, svc.reports, day, now, svc.settings.tz)
    summary = {r.provider: {"rows": r.rows, "reconciled": r.reconciled, "exceptions": r.exceptions} for r in results}
    metrics.add_metric(name="PaymentsReconciled", unit="Count", value=sum(r.reconciled for r in results))
    metrics.add_metric(name="ReconciliationExceptions", unit="Count", value=sum(r.exceptions for r in results))
    logger.info("payments reconciled", extra={"date": day.isoformat(), "providers": summary})
    return {"date": day.isoformat(), "providers": summary, "tickets": [r.ticket_id for r in results if r.ticket_id]}

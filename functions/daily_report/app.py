"""daily_report: just after midnight, the previous day's collections, collection rate, reminders, arrears aging,
top debtors, replies, tickets and dead-letter depths -> S3."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from propfee import clock
from propfee.models import ScheduledEvent
from propfee.observability import lambda_entry, logger
from propfee.reporting import publish_daily_report
from propfee.wiring import LazyServices

services = LazyServices()


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    svc = services()
    request = ScheduledEvent.model_validate(event)
    generated_at = request.scheduled_time or clock.now()
    day = request.local_day(svc.settings.tz, generated_at)
    keys = publish_daily_report(day, generated_at, svc.table, svc.reports, svc.dead_letter_depths, svc.settings.tz)
    logger.info("daily report written", extra={"date": day.isoformat(), "files": keys})
    return {"date": day.isoformat(), "bucket": svc.reports.bucket, "keys": keys}

"""daily_report: after midnight, the previous day's report -> S3 (the company's set, each community's)."""

# collections, rates, reminders, arrears, debtors, replies, tickets, staff actions and DLQ depths; then each manager
# is emailed short-lived links to the files they may read

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from propfee.domain import clock
from propfee.domain.models import ScheduledEvent
from propfee.observability import lambda_entry, logger, mask_email, mask_text, metrics
from propfee.reports.delivery import email_report_links
from propfee.reports.publishing import publish_daily_report
from propfee.wiring import LazyServices

services = LazyServices()


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    svc = services()
    request = ScheduledEvent.model_validate(event)
    generated_at = request.scheduled_time or clock.now()
    day = request.local_day(svc.settings.tz, generated_at)
    keys = publish_daily_report(
        day,
        generated_at,
        svc.table,
        svc.reports,
        svc.dead_letter_depths,
        svc.settings.tz,
        svc.rules.targets,
        svc.rules.feedback.departments,
        svc.rules.department_names(),
        svc.payments_table.reconciliations(day - timedelta(days=1)),  # run that morning, of the bills before
        staff=svc.table,  # the day's staff actions (the audit trail's day index)
        abandoned_after=svc.rules.reports.abandoned_after,  # the rules' cut-off of an order left unpaid
    )
    logger.info("daily report written", extra={"date": day.isoformat(), "files": len(keys)})
    access, expiry = svc.rules.report_access, svc.settings.report_link_expiry_seconds
    emails = email_report_links(day, access, svc.reports, svc.email, clock.now(), expiry, svc.settings.tz)
    for failed in (outcome for outcome in emails if not outcome.sent):  # the report stays written; logged, masked
        logger.warning(
            "report links not emailed", extra={"to": mask_email(failed.to), "reason": mask_text(failed.reason or "")}
        )
    metrics.add_metric(name="ReportLinkEmailsFailed", unit="Count", value=sum(not o.sent for o in emails))
    return {"date": day.isoformat(), "bucket": svc.reports.bucket, "keys": keys, "emailed": sum(o.sent for o in emails)}

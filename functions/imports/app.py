"""imports: ledger and payment files uploaded under incoming/ledger/ and incoming/payments/ are applied at
once (a payment stops that unit's queued reminders at their send-time check); the summary and the rejects
file are written under results/."""

from collections import Counter
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from propfee import clock
from propfee.adapters.storage import S3Store
from propfee.imports.uploads import import_upload
from propfee.observability import lambda_entry, logger, metrics
from propfee.wiring import LazyServices

services = LazyServices()


@lambda_entry
@event_source(data_class=S3Event)
def lambda_handler(event: S3Event, context: LambdaContext) -> dict[str, int]:
    svc = services()
    totals: Counter[str] = Counter()
    for record in event.records:
        key = unquote_plus(record.s3.get_object.key)
        summary = import_upload(S3Store(record.s3.bucket.name), key, svc.table, svc.settings.tz, clock.now())
        for name in ("rows_applied", "rows_already_applied", "rows_rejected"):
            totals[name] += int(summary.get(name, 0))
            metrics.add_metric(name=f"Import_{name}", unit="Count", value=int(summary.get(name, 0)))
        logger.info("import done", extra={k: v for k, v in summary.items() if k != "rejects"})
    return dict(totals)

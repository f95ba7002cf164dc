"""imports: ledger and payment files uploaded under incoming/ledger/ and incoming/payments/ are applied at
once (a payment stops that unit's queued reminders at their send-time check); the summary and the rejects
file are written under results/. A record that is not an upload goes to the function's DLQ with its reason."""

from collections import Counter
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from propfee.accounts.imports.uploads import import_upload
from propfee.domain import clock
from propfee.events import fitting, s3_uploads
from propfee.observability import lambda_entry, logger, metrics
from propfee.wiring import LazyServices

services = LazyServices()


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    svc = services()
    totals: Counter[str] = Counter()
    records = s3_uploads(event)
    uploads = fitting(records, svc.dead_letters.reject)
    if rejected := len(records) - len(uploads):
        totals["records_rejected"] = rejected
    for upload in uploads:
        summary = import_upload(svc.bucket(upload.bucket), upload.key, svc.table, svc.settings.tz, clock.now())
        for name in ("rows_applied", "rows_already_applied", "rows_rejected"):
            totals[name] += int(summary.get(name, 0))
            metrics.add_metric(name=f"Import_{name}", unit="Count", value=int(summary.get(name, 0)))
        logger.info("import done", extra={k: v for k, v in summary.items() if k != "rejects"})
    return dict(totals)

"""task_digest: in the morning, after the plan's tasks are given out, one SMS or email per collector with them."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from propfee.collection.digest import send_digests
from propfee.domain import clock
from propfee.domain.models import ScheduledEvent
from propfee.observability import lambda_entry, logger
from propfee.wiring import LazyServices

services = LazyServices()


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    svc = services()
    request = ScheduledEvent.model_validate(event)
    now = clock.now()
    summary = send_digests(svc.table, svc.sms, svc.email, request.scheduled_time or now, now, svc.settings.tz,
                           svc.rules.contact_policy, svc.identity.sms_signature)  # fmt: skip
    result = summary.as_dict()
    logger.info("task digests", extra=result)  # collector ids and counts: no numbers, addresses or names
    if summary.unavailable:  # their claims were given back: Lambda's retry sends them, the others are claimed
        raise RuntimeError(f"the provider was unavailable for {len(summary.unavailable)} digests")
    return result

"""feedback_mail: owners' emails to the feedback address (直通车). SES stores each one in S3; the upload
invokes this function, which understands, acts on and routes it exactly as an SMS reply."""

from collections import Counter
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from propfee import clock
from propfee.adapters.storage import S3Store
from propfee.observability import lambda_entry, logger, mask_email
from propfee.receiving import parse_inbound_email
from propfee.wiring import LazyServices

services = LazyServices()
REJECTED = "rejected/"  # beside the mail: why a message was not acted on, for the on-call engineer


@lambda_entry
@event_source(data_class=S3Event)
def lambda_handler(event: S3Event, context: LambdaContext) -> dict[str, int]:
    outcomes: Counter[str] = Counter()
    for record in event.records:
        bucket, key = S3Store(record.s3.bucket.name), unquote_plus(record.s3.get_object.key)
        now = clock.now()
        message, problem = parse_inbound_email(bucket.get(key), key.rsplit("/", 1)[-1], now)
        if message is None:
            bucket.put(f"{REJECTED}{key}.txt", problem.encode("utf-8"), "text/plain; charset=utf-8")
            logger.warning("feedback email not acted on", extra={"key": key, "reason": problem})
            outcomes["rejected"] += 1
            continue
        result = services().receiver.receive(message, now)
        outcomes[result.outcome.value] += 1
        logger.info(
            "feedback email done",
            extra={"from": mask_email(message.sender), "key": key, "intent": result.intent, "ticket": result.ticket_id},
        )
    return dict(outcomes)

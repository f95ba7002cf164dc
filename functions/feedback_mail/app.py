"""feedback_mail: owners' emails to the feedback address (直通车). SES stores each one in S3; the upload
invokes this function, which understands, acts on and routes it exactly as an SMS reply (its record points at the
mail SES stored). A record that is not an upload goes to the function's DLQ with its reason."""

from collections import Counter
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from propfee.domain import clock
from propfee.events import fitting, s3_uploads
from propfee.feedback.receiving import parse_inbound_email
from propfee.observability import lambda_entry, logger, mask_email
from propfee.wiring import LazyServices

services = LazyServices()
REJECTED = "rejected/"  # beside the mail: why a message was not acted on, for the on-call engineer


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    outcomes: Counter[str] = Counter()
    records = s3_uploads(event)
    uploads = fitting(records, services().dead_letters.reject)
    if rejected := len(records) - len(uploads):
        outcomes["malformed"] = rejected
    for upload in uploads:
        bucket, key, now = services().bucket(upload.bucket), upload.key, clock.now()
        source_id, original = key.rsplit("/", 1)[-1], bucket.uri(key)
        message, problem = parse_inbound_email(bucket.get(key), source_id, now, original)
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

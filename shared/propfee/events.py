"""The envelopes AWS delivers events in, read by models: SQS records (Powertools' SqsRecordModel), SNS
notifications (SnsRecordModel), S3 notifications and Function URL requests (LambdaFunctionUrlModel). What does
not fit is refused with the fields and the reason, never their values (they may be an owner's number or words),
so that the handler can put it in its DLQ and go on with the rest of the batch."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, Protocol, TypeVar
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser.models import (
    LambdaFunctionUrlModel,
    SnsNotificationModel,
    SnsRecordModel,
    SqsAttributesModel,
    SqsRecordModel,
)
from pydantic import AwareDatetime, BaseModel, Field, Json, NonNegativeInt, PositiveInt, ValidationError

from propfee.domain.models import SendJob
from propfee.observability import logger

M = TypeVar("M", bound=BaseModel)


def fields_wrong(error: ValidationError) -> str:
    """Which fields are wrong and why, without their values."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'event'}: {e['msg']}" for e in error.errors(include_input=False)
    )


@dataclass(frozen=True)
class Parsed(Generic[M]):
    """One record: the model, or None and why it does not fit."""

    model: M | None
    raw: Any
    problem: str = ""

    @property
    def raw_text(self) -> str:
        """What the DLQ keeps of a refused record: the record as it came."""
        return self.raw if isinstance(self.raw, str) else json.dumps(self.raw, ensure_ascii=False, default=str)


def parse(model: type[M], raw: Any, what: str) -> Parsed[M]:
    try:
        return Parsed(model.model_validate(raw), raw)
    except ValidationError as error:
        return Parsed(None, raw, f"malformed {what}: {fields_wrong(error)}"[:900])


def parse_records(event: Any, model: type[M], what: str) -> list[Parsed[M]]:
    """Each record of an event, parsed on its own: one that does not fit leaves the others alone."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not records:
        return [Parsed(None, event, f"malformed {what}: Records: a non-empty list of records is required")]
    return [parse(model, record, what) for record in records]


def fitting(parsed: list[Parsed[M]], reject: Callable[[str, str], None]) -> list[M]:
    """The records that fit their model; each that does not goes to `reject` (the function's DLQ) with its reason,
    and the others go on."""
    models = []
    for record in parsed:
        if record.model is None:
            reject(record.raw_text, record.problem)
            logger.warning("event record rejected", extra={"reason": record.problem})
        else:
            models.append(record.model)
    return models


# ------------------------------------------------------------------------------------------------- SQS


class _ReceiveAttributes(SqsAttributesModel):
    ApproximateReceiveCount: PositiveInt  # type: ignore[assignment]  # SQS sends "2": read as the number it is


class SendJobRecord(SqsRecordModel):
    """A send job as the SQS event source delivers it: the body is the job."""

    body: Json[SendJob]  # type: ignore[assignment]
    # the attributes a receive asked for; a record may come without them (AWS documents the map as optional):
    # taken as a first delivery, which is safe, since a claim still in flight is never sent twice
    attributes: _ReceiveAttributes | None = None  # type: ignore[assignment]

    @property
    def job(self) -> SendJob:
        return self.body  # type: ignore[return-value]

    @property
    def redelivered(self) -> bool:
        return self.attributes is not None and self.attributes.ApproximateReceiveCount > 1


def job_body(raw: Any) -> str:
    """The job's text of a record, as the DLQ keeps it (redriven, it is a job again), or the record itself."""
    body = raw.get("body") if isinstance(raw, dict) else None
    return body if isinstance(body, str) and body else json.dumps(raw, ensure_ascii=False, default=str)


# ------------------------------------------------------------------------------------------------- SNS


def sns_notifications(event: Any) -> list[Parsed[SnsRecordModel]]:
    """The notifications of an SNS event (one a delivery to Lambda), envelope checked."""
    return parse_records(event, SnsRecordModel, "SNS notification")


def fitting_notifications(event: Any, reject: Callable[[str, str], None]) -> list[SnsNotificationModel]:
    """The SNS notifications whose envelope fits its model (see `fitting`)."""
    return [record.Sns for record in fitting(sns_notifications(event), reject)]


# -------------------------------------------------------------------------------------------------- S3
# Powertools' S3RecordModel is not used: it requires what propfee never reads (requestParameters with an IP
# address, responseElements, the bucket's owner) and raises a bare AttributeError, not a ValidationError, on a
# record without `s3.object`. These models hold what the handlers read, as S3 documents it
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html).


class S3BucketRef(BaseModel):
    name: str = Field(min_length=3, max_length=63)


class S3ObjectRef(BaseModel):
    key: str = Field(min_length=1)  # URL-encoded, as S3 sends it
    size: NonNegativeInt | None = None
    versionId: str | None = None


class S3Entity(BaseModel):
    bucket: S3BucketRef
    object: S3ObjectRef


class S3ObjectCreated(BaseModel):
    """One record of an S3 event notification for a new object."""

    eventSource: Literal["aws:s3"]
    eventName: str = Field(pattern=r"^ObjectCreated:")
    eventTime: AwareDatetime
    s3: S3Entity

    @property
    def bucket(self) -> str:
        return self.s3.bucket.name

    @property
    def key(self) -> str:
        return unquote_plus(self.s3.object.key)  # "Happy%20Face.jpg" -> "Happy Face.jpg", "+" -> " "


def s3_uploads(event: Any) -> list[Parsed[S3ObjectCreated]]:
    return parse_records(event, S3ObjectCreated, "S3 event")


# --------------------------------------------------------------------------------------- Function URL


def signing_identity(request: LambdaFunctionUrlModel) -> str | None:
    """The IAM identity that signed the request (AWS_IAM auth), or None for an unsigned one."""
    authorizer = request.requestContext.authorizer
    iam = authorizer.iam if authorizer is not None else None
    return iam.userArn if iam is not None and iam.userArn else None


def function_url_refusal(event: Any) -> dict[str, Any] | None:
    """The answer to a request that is not a signed Function URL request (400 malformed, 403 unsigned), or None
    for one the routes may answer. Synchronous: the caller gets the reason, there is no event to keep."""
    parsed = parse(LambdaFunctionUrlModel, event, "Function URL request")
    if parsed.model is None:
        logger.warning("request refused", extra={"reason": parsed.problem})
        return http_refusal(400, parsed.problem)
    if signing_identity(parsed.model) is None:  # only AWS_IAM requests carry one: the URL must not be open
        logger.warning("request refused", extra={"reason": "unsigned"})
        return http_refusal(403, "the request is not signed with an IAM identity")
    return None


def http_refusal(status: int, message: str) -> dict[str, Any]:
    """A Function URL response that refuses the request, in the shape Powertools' resolver answers errors."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"statusCode": status, "message": message}),
        "isBase64Encoded": False,
    }


class BatchSender(Protocol):
    def send_batch(self, jobs: Sequence[tuple[SendJob, bool]], now: datetime) -> Sequence[object]: ...


def send_jobs_together(event: Any, sender: BatchSender, now: datetime) -> dict[str, object]:
    """The SQS batch's well-formed jobs sent together (collection.sending.Sender.send_batch), each one's result
    by its record's messageId; the malformed are left to the record handler, which rejects them."""
    fitting = [p.model for p in parse_records(event, SendJobRecord, "send job") if p.model is not None]
    if not fitting:
        return {}
    results = sender.send_batch([(r.job, r.redelivered) for r in fitting], now)
    return {r.messageId: result for r, result in zip(fitting, results, strict=True)}

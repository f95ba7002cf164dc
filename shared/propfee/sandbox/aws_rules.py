"""The input rules AWS documents and moto does not check, so that the sandbox refuses what AWS refuses.

Each rule names the API reference it comes from. Measured against moto 5.2.5 first: what moto already refuses
as AWS does (SQS batches of more than 10 entries, repeated or malformed batch ids, DelaySeconds above 900,
DynamoDB items over ~400 KB, BatchGetItem over 100 keys, TransactWriteItems over 100 actions or two on one item,
unused expression attribute names and values, reserved words, empty sets, key sizes, SNS SMS over 1,600 characters)
is left to moto. moto refuses items a little under DynamoDB's 400 KB (above 405,000 bytes by its own count), and
one key in two tables of a BatchWriteItem: stricter than AWS, left as they are.

Server-side rules wrap moto's backends or responses (the sandbox's moto server runs in this process), so a plain
boto3 client pointed at the sandbox gets the error code, HTTP status and a message like AWS's. End User Messaging
SMS (pinpoint-sms-voice-v2) is not in moto at all: `check_client` validates its requests on the client against the
constraints of the service model that the API reference is generated from (lengths, patterns, enums).
"""

from __future__ import annotations

import base64
import functools
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from botocore.exceptions import ClientError

_INSTALLED = False

# SQS API reference, SendMessage MessageBody and SendMessageBatch: at most 1 MiB (1,048,576 bytes) per message and
# per batch; MessageAttributeValue: "All parts of the message attribute, including Name, Type, and Value, are part of
# the message size restriction". (The 256 KiB limit of older pages was raised to 1 MiB in 2025; moto 5.2.5 has the
# new limit but counts characters of the body only.)
SQS_MAX_MESSAGE_BYTES = 1_048_576
# SQS Developer Guide, "Amazon SQS message attributes": "Each message can have up to 10 attributes."
SQS_MAX_ATTRIBUTES = 10
# SQS API reference, SendMessage DelaySeconds: "Valid values: 0 to 900." (moto refuses only above 900)
SQS_MAX_DELAY_SECONDS = 900
# DynamoDB API reference, BatchWriteItem: "up to 25 item put or delete operations" (moto takes any number)
DYNAMODB_BATCH_WRITE_LIMIT = 25
# S3 User Guide, "Naming Amazon S3 objects": "a sequence of Unicode characters whose UTF-8 encoding is at most
# 1,024 bytes long"; S3 API reference, Error codes: KeyTooLongError, "Your key is too long.", 400 Bad Request
S3_MAX_KEY_BYTES = 1024
# Lambda API reference, Invoke: "For asynchronous invocations, the maximum payload size is 1 MB."
# (256 KB before 2025, still the InvokeAsync limit.) Error RequestTooLargeException, 413.
LAMBDA_MAX_ASYNC_PAYLOAD_BYTES = 1_048_576
# SNS Developer Guide, "Publishing to a mobile phone": E.164, "a maximum of 15 digits along with the prefix of a
# plus sign (+) and the country code" (moto's check makes the + optional)
E164 = re.compile(r"\+[1-9]\d{1,14}")
# SNS API reference, SetSMSAttributes: DefaultSMSType Promotional | Transactional; "The sender ID can be 1 - 11
# alphanumeric characters, and it must contain at least one letter." Publish's AWS.SNS.SMS.* attributes override
# these defaults for one message (SNS Developer Guide, "Publishing to a mobile phone").
SNS_SMS_TYPES = frozenset({"Promotional", "Transactional"})
SNS_SENDER_ID = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9]{1,11}")
# SNS Developer Guide, "Publishing to a mobile phone": the message attributes SNS itself reads for an SMS
SNS_SMS_ATTRIBUTES = frozenset(
    {
        "AWS.SNS.SMS.SenderID",
        "AWS.SNS.SMS.MaxPrice",
        "AWS.SNS.SMS.SMSType",
        "AWS.MM.SMS.OriginationNumber",
        "AWS.MM.SMS.EntityId",
        "AWS.MM.SMS.TemplateId",
    }
)
# SNS Developer Guide "Amazon SNS message attributes" and SQS API reference SendMessage MessageAttributes (the same
# rule): A-Z a-z 0-9 _ - . only, not starting or ending with a period, no two periods in a row, at most 256
# characters, not starting with AWS. or Amazon. in any casing (reserved)
ATTRIBUTE_NAME = re.compile(r"(?!\.)(?!.*\.\.)[A-Za-z0-9_.-]{1,256}(?<!\.)")
RESERVED_ATTRIBUTE_PREFIXES = ("aws.", "amazon.")


# ---------------------------------------------------------------------------------------------- message attributes
def attribute_problem(name: str, value: dict[str, Any]) -> str | None:
    """Why SNS or SQS refuses this message attribute (None when it is fine)."""
    if not ATTRIBUTE_NAME.fullmatch(name) or name.lower().startswith(RESERVED_ATTRIBUTE_PREFIXES):
        return (
            f"The message attribute name '{name}' is invalid. Attribute name can contain A-Z, a-z, 0-9, underscore "
            "(_), hyphen (-), and period (.) characters, must not start or end with a period nor have two in a row, "
            "is at most 256 characters long and must not start with AWS. or Amazon."
        )
    data_type = str(value.get("DataType") or "")
    string_value = value.get("StringValue")
    binary_value = value.get("BinaryValue")
    if string_value in (None, "") and binary_value in (None, b"", ""):
        # SQS API reference, MessageAttributeValue: "Name, type, value and the message body must not be empty or null."
        return f"The message attribute '{name}' must contain non-empty message attribute value."
    if data_type.split(".", 1)[0] == "Number":
        # SQS Developer Guide, message attribute data types: Number "can have up to 38 digits of precision, and it
        # can be between 10^-128 and 10^+126"
        try:
            number = Decimal(str(string_value))
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            return f"Can't cast the value of message (user) attribute '{name}' to a number."
        if _significant_digits(number) > 38 or (number != 0 and not -128 <= number.adjusted() <= 126):
            return f"The value of message (user) attribute '{name}' is out of the range of a Number."
    return None


def _attributes_size(attributes: dict[str, Any]) -> int:
    size = 0
    for name, value in (attributes or {}).items():
        size += len(name.encode()) + len(str(value.get("DataType", "")).encode())
        if value.get("StringValue") is not None:
            size += len(str(value["StringValue"]).encode())
        elif value.get("BinaryValue") is not None:
            binary = value["BinaryValue"]
            size += len(binary) if isinstance(binary, bytes) else len(base64.b64decode(binary))
    return size


# ---------------------------------------------------------------------------------------------- SQS
def sqs_message_problem(body: str, attributes: dict[str, Any] | None, delay_seconds: Any, limit: int) -> str | None:
    if len(attributes or {}) > SQS_MAX_ATTRIBUTES:
        return f"Number of message attributes [{len(attributes or {})}] exceeds the allowed maximum [10]."
    for name, value in (attributes or {}).items():
        problem = attribute_problem(name, value)
        if problem:
            return problem
    if delay_seconds is not None and int(delay_seconds) < 0:
        return (
            f"Value {delay_seconds} for parameter DelaySeconds is invalid. "
            "Reason: DelaySeconds must be >= 0 and <= 900."
        )
    if len(body.encode()) + _attributes_size(attributes or {}) > limit:
        return f"One or more parameters are invalid. Reason: Message must be shorter than {limit} bytes."
    return None


def _install_sqs() -> None:
    import moto.sqs.models as sqs_models
    from moto.sqs.exceptions import BatchRequestTooLong, InvalidParameterValue

    backend = sqs_models.SQSBackend
    original_send = backend.send_message
    original_batch = backend.send_message_batch

    @functools.wraps(original_send)
    def send_message(
        self: Any, queue_name: str, message_body: str, message_attributes: Any = None, *args: Any, **kw: Any
    ) -> Any:
        delay = kw.get("delay_seconds", args[0] if args else None)
        limit = int(self.get_queue(queue_name).maximum_message_size or SQS_MAX_MESSAGE_BYTES)
        problem = sqs_message_problem(message_body, message_attributes, delay, limit)
        if problem:
            raise InvalidParameterValue(problem)
        return original_send(self, queue_name, message_body, message_attributes, *args, **kw)

    @functools.wraps(original_batch)
    def send_message_batch(self: Any, queue_name: str, entries: dict[str, dict[str, Any]]) -> Any:
        # SendMessageBatch: "the maximum total payload size (the sum of the individual lengths of all of the batched
        # messages) [is] 1 MiB"; moto sums characters of the bodies only
        total = sum(
            len(e["MessageBody"].encode()) + _attributes_size(e.get("MessageAttributes") or {})
            for e in entries.values()
        )
        if total > SQS_MAX_MESSAGE_BYTES and len(entries) <= 10:
            raise BatchRequestTooLong(total)
        # "The result of sending each message is reported individually": an entry AWS refuses fails alone
        limit = int(self.get_queue(queue_name).maximum_message_size or SQS_MAX_MESSAGE_BYTES)
        failed, accepted = [], {}
        for key, entry in entries.items():
            problem = sqs_message_problem(
                entry["MessageBody"], entry.get("MessageAttributes"), entry.get("DelaySeconds"), limit
            )
            if problem and re.fullmatch(r"[\w-]{1,80}", entry["Id"]):
                failed.append(
                    {"Id": entry["Id"], "SenderFault": True, "Code": "InvalidParameterValue", "Message": problem}
                )
            else:
                accepted[key] = entry
        if not accepted:
            return [], failed
        messages, moto_failed = original_batch(self, queue_name, accepted)
        return messages, failed + moto_failed

    backend.send_message = send_message  # type: ignore[method-assign]
    backend.send_message_batch = send_message_batch  # type: ignore[method-assign]


# ---------------------------------------------------------------------------------------------- SNS
def sns_sms_problem(phone: str, attributes: dict[str, Any]) -> tuple[str, str] | None:
    """(error code, message) for a Publish to a phone number that SNS refuses."""
    if not E164.fullmatch(phone):
        return (
            "InvalidParameter",
            "Invalid parameter: PhoneNumber Reason: the number is not in E.164 format "
            "(+, country code, at most 15 digits)",
        )
    for name, value in attributes.items():
        if name in SNS_SMS_ATTRIBUTES:
            text = value.get("StringValue")
            if name == "AWS.SNS.SMS.SMSType" and text not in SNS_SMS_TYPES:
                return (
                    "ParameterValueInvalid",
                    "Invalid value for AWS.SNS.SMS.SMSType: it must be Promotional or Transactional",
                )
            if name == "AWS.SNS.SMS.SenderID" and not SNS_SENDER_ID.fullmatch(str(text or "")):
                return (
                    "ParameterValueInvalid",
                    "Invalid value for AWS.SNS.SMS.SenderID: 1 to 11 alphanumeric characters with at least one letter",
                )
            continue
        problem = attribute_problem(name, value)
        if problem:
            return "ParameterValueInvalid", problem
    return None


# SNS API reference, Publish Message: "By default, a message can be at most 256 KiB in size (262,144 bytes, not
# 262,144 characters)... the topic's MaximumMessageSize attribute... Amazon SNS validates the combined size of the
# message body and message attributes against this value and returns an InvalidParameter error" (moto counts
# characters of the body only)
SNS_MAX_MESSAGE_BYTES = 262_144
# attributes SNS defines and reads itself (SMS, mobile push): the reserved prefix is theirs
SNS_OWN_ATTRIBUTE_PREFIXES = ("AWS.SNS.", "AWS.MM.")


def sns_topic_problem(message: str, attributes: dict[str, Any], limit: int) -> tuple[str, str] | None:
    """(error code, message) for a Publish to a topic that SNS refuses."""
    for name, value in attributes.items():
        problem = None if name.startswith(SNS_OWN_ATTRIBUTE_PREFIXES) else attribute_problem(name, value)
        if problem:
            return "ParameterValueInvalid", problem
    if len(message.encode()) + _attributes_size(attributes) > limit:
        return "InvalidParameter", "Invalid parameter: Message too long"
    return None


def _install_sns() -> None:
    from moto.sns.exceptions import SNSException
    from moto.sns.responses import SNSResponse

    original = SNSResponse.publish

    @functools.wraps(original)
    def publish(self: Any) -> Any:
        phone = self._get_param("PhoneNumber")
        attributes = self._get_param("MessageAttributes", {}) or {}
        if phone is not None:
            problem = sns_sms_problem(phone, attributes)
        else:
            arn = self._get_param("TopicArn") or self._get_param("TargetArn")
            topic = self.backend.topics.get(arn) if arn else None
            limit = int(getattr(topic, "maximum_message_size", None) or SNS_MAX_MESSAGE_BYTES)
            problem = sns_topic_problem(self._get_param("Message") or "", attributes, limit)
        if problem:
            raise SNSException(problem[0], problem[1])
        return original(self)

    SNSResponse.publish = publish  # type: ignore[method-assign]


# ---------------------------------------------------------------------------------------------- DynamoDB
_EXPRESSIONS = (
    "UpdateExpression",
    "ConditionExpression",
    "KeyConditionExpression",
    "FilterExpression",
    "ProjectionExpression",
)
_NAME_TOKEN = re.compile(r"#[A-Za-z0-9_]+")
_VALUE_TOKEN = re.compile(r":[A-Za-z0-9_]+")


def expression_problem(request: dict[str, Any]) -> str | None:
    """DynamoDB Developer Guide, "Expression attribute names" and "values": every #name and :value an expression
    uses must be defined in ExpressionAttributeNames / ExpressionAttributeValues. moto answers an undefined one with
    a 500 (a crash), which a caller would retry as a server error; DynamoDB refuses it with a ValidationException."""
    names = request.get("ExpressionAttributeNames") or {}
    values = request.get("ExpressionAttributeValues") or {}
    for kind in _EXPRESSIONS:
        expression = request.get(kind)
        if not expression:
            continue
        for token in _NAME_TOKEN.findall(expression):
            if token not in names:
                return (
                    f"Invalid {kind}: An expression attribute name used in the document path is not defined; "
                    f"attribute name: {token}"
                )
        for token in _VALUE_TOKEN.findall(expression):
            if token not in values:
                return (
                    f"Invalid {kind}: An expression attribute value used in expression is not defined; "
                    f"attribute value: {token}"
                )
    return None


# DynamoDB Developer Guide, "Service, account, and table quotas", Expression parameters: "The maximum length of any
# expression string is 4 KB" (moto's parser overflows its stack on long ones: a 500)
DYNAMODB_MAX_EXPRESSION_BYTES = 4096
# DynamoDB Developer Guide, "Supported data types and naming rules": numbers have "up to 38 digits of precision",
# positive and negative range 1E-130 to 9.9999999999999999999999999999999999999E+125; each value within a set must
# be unique (moto takes duplicates and any number)
_MAX_NUMBER = Decimal("9.9999999999999999999999999999999999999E+125")
_MIN_NUMBER = Decimal("1E-130")


def _significant_digits(number: Decimal) -> int:
    """Exactly (Decimal's normalize() would round to the context's 28 digits)."""
    return len("".join(map(str, number.as_tuple().digits)).strip("0")) or 1


def _number_problem(text: str) -> str | None:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None  # moto refuses what is not a number
    if not number.is_finite() or number == 0:
        return None
    if _significant_digits(number) > 38:
        return "Attempting to store more than 38 significant digits in a Number"
    if number.copy_abs() > _MAX_NUMBER:  # copy_abs: exact (abs() would round to 28 digits)
        return "Number overflow. Attempting to store a number with magnitude larger than supported range"
    if number.copy_abs() < _MIN_NUMBER:
        return "Number underflow. Attempting to store a number with magnitude smaller than supported range"
    return None


def attribute_value_problem(value: Any) -> str | None:
    if not isinstance(value, dict) or len(value) != 1:
        return None
    kind, content = next(iter(value.items()))
    if kind == "N" and isinstance(content, str):
        return _number_problem(content)
    if kind in ("SS", "NS", "BS") and isinstance(content, list):
        canonical = [Decimal(str(v)) for v in content] if kind == "NS" else content  # 1 and 1.0 are one number
        try:
            duplicated = len(set(canonical)) != len(canonical)
        except (TypeError, InvalidOperation):
            duplicated = False
        if duplicated:
            return (
                "One or more parameter values were invalid: Input collection "
                f"[{', '.join(map(str, content))}] contains duplicates."
            )
        if kind == "NS":
            return next((p for v in content if (p := _number_problem(str(v)))), None)
    if kind == "M" and isinstance(content, dict):
        return next((p for v in content.values() if (p := attribute_value_problem(v))), None)
    if kind == "L" and isinstance(content, list):
        return next((p for v in content if (p := attribute_value_problem(v))), None)
    return None


def _values_problem(request: dict[str, Any]) -> str | None:
    """The attribute values of a request: its item, key and expression values."""
    for field in ("Item", "Key", "ExpressionAttributeValues"):
        values = request.get(field)
        if isinstance(values, dict):
            problem = next((p for v in values.values() if (p := attribute_value_problem(v))), None)
            if problem:
                return problem
    for kind in _EXPRESSIONS:
        size = len(str(request.get(kind) or "").encode())
        if size > DYNAMODB_MAX_EXPRESSION_BYTES:
            return f"Invalid {kind}: Expression size has exceeded the maximum allowed size; expression size: {size}"
    return None


def dynamodb_problem(operation: str, body: dict[str, Any]) -> str | None:
    problem = _dynamodb_shape_problem(operation, body)
    if problem:
        return problem
    if operation == "BatchWriteItem":
        for requests in (body.get("RequestItems") or {}).values():
            for request in requests:
                for action in request.values():
                    if problem := _values_problem(action):
                        return problem
        return None
    if operation == "TransactWriteItems":
        for entry in body.get("TransactItems") or []:
            for action in entry.values():
                if problem := _values_problem(action):
                    return problem
        return None
    return _values_problem(body)


def _dynamodb_shape_problem(operation: str, body: dict[str, Any]) -> str | None:
    if operation == "BatchWriteItem":
        requests = body.get("RequestItems") or {}
        if any(len(r) > DYNAMODB_BATCH_WRITE_LIMIT for r in requests.values()):
            return (
                "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must "
                "satisfy constraint: [Member must have length less than or equal to 25, Member must have length "
                "greater than or equal to 1]"
            )
        if sum(len(r) for r in requests.values()) > DYNAMODB_BATCH_WRITE_LIMIT:
            return "Too many items requested for the BatchWriteItem call"
        return None
    if operation in ("TransactWriteItems", "TransactGetItems"):
        for entry in body.get("TransactItems") or []:
            for action in entry.values():
                problem = expression_problem(action)
                if problem:
                    return problem
        return None
    return expression_problem(body)


def _install_dynamodb() -> None:
    from moto.dynamodb.exceptions import MockValidationException
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action

    @functools.wraps(original)
    def call_action(self: Any) -> Any:
        body = getattr(self, "params", None)
        if isinstance(body, dict):
            problem = dynamodb_problem(self._get_action(), body)
            if problem:
                raise MockValidationException(problem)
        return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


# ---------------------------------------------------------------------------------------------- S3
def _install_s3() -> None:
    import moto.s3.models as s3_models
    from moto.s3.exceptions import S3ClientError

    class KeyTooLongError(S3ClientError):
        code = "KeyTooLongError"

        def __init__(self) -> None:
            super().__init__("KeyTooLongError", "Your key is too long")

    def check(key: str) -> None:
        if len(str(key).encode()) > S3_MAX_KEY_BYTES:
            raise KeyTooLongError()

    backend = s3_models.S3Backend

    def wrap(name: str, key_of: Any) -> None:
        original = getattr(backend, name)

        @functools.wraps(original)
        def checked(self: Any, *args: Any, **kwargs: Any) -> Any:
            check(key_of(args, kwargs))
            return original(self, *args, **kwargs)

        setattr(backend, name, checked)

    wrap("put_object", lambda a, k: k.get("key_name", a[1] if len(a) > 1 else ""))
    wrap("get_object", lambda a, k: k.get("key_name", a[1] if len(a) > 1 else ""))
    wrap("create_multipart_upload", lambda a, k: k.get("key_name", a[1] if len(a) > 1 else ""))
    wrap("copy_object", lambda a, k: k.get("dest_key_name", a[2] if len(a) > 2 else ""))


# ---------------------------------------------------------------------------------------------- Scheduler
def _model_problem(service: str, shape_name: str, field: str, value: Any) -> str | None:
    from botocore.session import get_session

    shape = get_session().get_service_model(service).shape_for(shape_name)
    return _constraint_problem(shape, field, value)


def _install_scheduler() -> None:
    from moto.scheduler.exceptions import ValidationException
    from moto.scheduler.models import EventBridgeSchedulerBackend

    # Scheduler API reference, CreateSchedule Name and CreateScheduleGroup Name: 1 to 64 characters,
    # pattern [0-9a-zA-Z-_.]+ (moto takes any name)
    for method in ("create_schedule", "create_schedule_group"):
        original = getattr(EventBridgeSchedulerBackend, method)

        def checked(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            for field in ("name", "group_name"):
                value = kwargs.get(field)
                if value:
                    problem = _model_problem(
                        "scheduler", "Name" if field == "name" else "ScheduleGroupName", field, value
                    )
                    if problem:
                        raise ValidationException(problem)
            return _original(self, *args, **kwargs)

        setattr(EventBridgeSchedulerBackend, method, functools.wraps(original)(checked))


def schedule_name_problem(name: str) -> str | None:
    """The Scheduler name rule, for the schedules the sandbox reads from the template (it creates no API object)."""
    return _model_problem("scheduler", "Name", "name", name)


# ---------------------------------------------------------------------------------------------- Lambda
def async_payload_too_large(payload: bytes | str | None) -> bool:
    size = len(payload.encode() if isinstance(payload, str) else payload or b"")
    return size > LAMBDA_MAX_ASYNC_PAYLOAD_BYTES


def _install_lambda() -> None:
    from moto.awslambda.responses import LambdaResponse

    original = LambdaResponse.invoke

    @functools.wraps(original)
    def invoke(self: Any) -> Any:
        invocation_type = {k.lower(): v for k, v in dict(self.headers).items()}.get("x-amz-invocation-type")
        body = self.body if isinstance(self.body, bytes | str) else b""
        if invocation_type == "Event" and async_payload_too_large(body):
            size = len(body.encode() if isinstance(body, str) else body)
            message = (
                f"Request must be smaller than {LAMBDA_MAX_ASYNC_PAYLOAD_BYTES} bytes for the InvokeFunction "
                f"operation (the request was {size} bytes)"
            )
            headers = {
                "status": 413,
                "x-amzn-ErrorType": "RequestTooLargeException",
                "Content-Type": "application/json",
            }
            return 413, headers, json.dumps({"Type": "User", "message": message})
        return original(self)

    LambdaResponse.invoke = invoke  # type: ignore[method-assign]


# ---------------------------------------------------------------------------------------------- client-side rules
def _constraint_problem(shape: Any, field: str, value: Any) -> str | None:
    """The first constraint of the service model (the API reference's Length / Pattern / Valid Values / Range) that
    `value` breaks, in the words AWS's request validation uses. Values are not echoed: they may be phone numbers or
    message text."""
    metadata = shape.metadata  # a value of the wrong type is left to botocore's own validation, which follows
    prefix = f"1 validation error detected: Value at '{field}' failed to satisfy constraint: Member must"
    if shape.type_name == "string" and isinstance(value, str):
        if "max" in metadata and len(value) > metadata["max"]:
            return f"{prefix} have length less than or equal to {metadata['max']}"
        if "min" in metadata and len(value) < metadata["min"]:
            return f"{prefix} have length greater than or equal to {metadata['min']}"
        if shape.enum and value not in shape.enum:
            return f"{prefix} satisfy enum value set: [{', '.join(shape.enum)}]"
        if "pattern" in metadata and not re.fullmatch(metadata["pattern"], value):
            return f"{prefix} satisfy regular expression pattern: {metadata['pattern']}"
    elif shape.type_name in ("integer", "long") and isinstance(value, int):
        if "max" in metadata and value > metadata["max"]:
            return f"{prefix} have value less than or equal to {metadata['max']}"
        if "min" in metadata and value < metadata["min"]:
            return f"{prefix} have value greater than or equal to {metadata['min']}"
    elif shape.type_name == "map" and isinstance(value, dict):
        if "max" in metadata and len(value) > metadata["max"]:
            return f"{prefix} have length less than or equal to {metadata['max']}"
        for key, item in value.items():
            problem = _constraint_problem(shape.key, f"{field}.key", key) or _constraint_problem(
                shape.value, f"{field}.value", item
            )
            if problem:
                return problem
    elif shape.type_name == "list" and isinstance(value, list | tuple):
        if "max" in metadata and len(value) > metadata["max"]:
            return f"{prefix} have length less than or equal to {metadata['max']}"
        for index, item in enumerate(value):
            problem = _constraint_problem(shape.member, f"{field}.{index + 1}", item)
            if problem:
                return problem
    elif shape.type_name == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                problem = _constraint_problem(
                    member,
                    f"{field}.{name[0].lower()}{name[1:]}" if field else f"{name[0].lower()}{name[1:]}",
                    value[name],
                )
                if problem:
                    return problem
    return None


# services moto does not implement, whose requests the sandbox checks before they leave the client
CLIENT_CHECKED_SERVICES = frozenset({"pinpoint-sms-voice-v2"})


def _refuse_invalid_request(params: dict[str, Any], model: Any, **_: Any) -> None:
    problem = _constraint_problem(model.input_shape, "", params) if model.input_shape is not None else None
    if problem:
        # the service's answer: ValidationException, 400, with the reason its API reference lists
        response: Any = {
            "Error": {"Code": "ValidationException", "Message": problem},
            "Reason": "FIELD_VALIDATION_FAILED",
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
        raise ClientError(response, model.name)


def check_client(client: Any) -> Any:
    """Make a client of a service moto lacks (End User Messaging SMS) refuse, as the service would, a request that
    breaks the API reference's constraints; also works on a client wrapped by botocore's Stubber. Returns it."""
    service = client.meta.service_model.service_name
    if service in CLIENT_CHECKED_SERVICES:
        # the node botocore's Stubber uses, and first in it: a Stubber's own checks would otherwise run first
        client.meta.events.register_first(
            "before-parameter-build.*.*", _refuse_invalid_request, unique_id="propfee-aws-rules"
        )
    return client


def install() -> None:
    """Idempotent; affects this process's moto backends (the sandbox's server runs in-process)."""
    global _INSTALLED
    if _INSTALLED:
        return
    _install_sqs()
    _install_sns()
    _install_dynamodb()
    _install_s3()
    _install_scheduler()
    _install_lambda()
    _INSTALLED = True

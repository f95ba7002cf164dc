"""SNS and SQS: message size in bytes with attributes, message attribute names and Number values, SQS
DelaySeconds below 0, and SMS to a phone number (E.164, SMS type, sender ID)."""

from __future__ import annotations

import base64
import functools
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from propfee.local.sandbox.aws_rules.common import significant_digits

# SQS API reference, SendMessage MessageBody and SendMessageBatch: at most 1 MiB (1,048,576 bytes) per message and
# per batch; MessageAttributeValue: "All parts of the message attribute, including Name, Type, and Value, are part of
# the message size restriction". (The 256 KiB limit of older pages was raised to 1 MiB in 2025; moto 5.2.5 has the
# new limit but counts characters of the body only.)
SQS_MAX_MESSAGE_BYTES = 1_048_576
# SQS Developer Guide, "Amazon SQS message attributes": "Each message can have up to 10 attributes."
SQS_MAX_ATTRIBUTES = 10
# SQS API reference, SendMessage DelaySeconds: "Valid values: 0 to 900." (moto refuses only above 900)
SQS_MAX_DELAY_SECONDS = 900
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
        if significant_digits(number) > 38 or (number != 0 and not -128 <= number.adjusted() <= 126):
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


def install_sqs() -> None:
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


def install_sns() -> None:
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

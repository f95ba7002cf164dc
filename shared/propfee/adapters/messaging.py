"""SMS through SNS publish and email through SESv2, with provider errors mapped to retry or not."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from propfee.adapters.aws import client, error_code
from propfee.ports import ProviderRejected, ProviderUnavailable

# errors that mean "this message will never be accepted as it is"
PERMANENT_ERRORS = {
    "InvalidParameter",
    "InvalidParameterValue",
    "InvalidParameterException",
    "MessageRejected",
    "BadRequestException",
    "AccountSuspendedException",
    "OptedOut",
}


def _mapped(error: ClientError) -> Exception:
    code = error_code(error)
    if code in PERMANENT_ERRORS:
        return ProviderRejected(code)
    return ProviderUnavailable(code or "unknown provider error")


class SnsSms:
    def __init__(self, sender_id: str | None = None, sns: Any | None = None) -> None:
        self._sender_id = sender_id
        self._sns = sns

    def send_sms(self, phone: str, body: str) -> str:
        attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
        if self._sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": self._sender_id}
        try:
            response = (self._sns or client("sns")).publish(
                PhoneNumber=phone, Message=body, MessageAttributes=attributes
            )
        except ClientError as error:
            raise _mapped(error) from error
        return str(response["MessageId"])


class SesEmail:
    def __init__(self, sender: str, sesv2: Any | None = None) -> None:
        self._sender = sender
        self._ses = sesv2

    def send_email(self, to: str, subject: str, body: str) -> str:
        try:
            response = (self._ses or client("sesv2")).send_email(
                FromEmailAddress=self._sender,
                Destination={"ToAddresses": [to]},
                Content={
                    "Simple": {
                        "Subject": {"Data": subject, "Charset": "UTF-8"},
                        "Body": {"Text": {"Data": body, "Charset": "UTF-8"}},
                    }
                },
            )
        except ClientError as error:
            raise _mapped(error) from error
        return str(response["MessageId"])

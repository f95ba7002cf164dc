"""SMS through SNS publish and email through SESv2, with provider errors mapped to retry or not."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

from propfee.aws.clients import client, error_code
from propfee.collection.message_tags import encode_tag
from propfee.domain.models import Ticket
from propfee.domain.ports import ProviderRejected, ProviderUnavailable, SmsTemplate
from propfee.feedback.responses import DepartmentContact

# errors that mean "this message will never be accepted as it is"
PERMANENT_ERRORS = {
    "ValidationException",
    "ResourceNotFoundException",
    "AccessDeniedException",
    "ConflictException",
    "InvalidParameter",
    "InvalidParameterValue",
    "ParameterValueInvalid",  # SNS's wire code for InvalidParameterValueException (e.g. a sender ID it refuses)
    "InvalidParameterException",
    "MessageRejected",
    "BadRequestException",
    "AccountSuspendedException",
    "OptedOut",
}


# raised before the request left: the provider cannot have accepted anything
NOT_SENT = (EndpointConnectionError, ConnectTimeoutError)


def _mapped(error: Exception) -> Exception:
    if isinstance(error, NOT_SENT):
        return ProviderUnavailable(type(error).__name__)
    code = error_code(error)
    if code in PERMANENT_ERRORS:
        return ProviderRejected(code)
    return ProviderUnavailable(code or "unknown provider error")


class SnsSms:
    def __init__(self, sender_id: str | None = None, sns: Any | None = None) -> None:
        self._sender_id = sender_id
        self._sns = sns

    def send_sms(
        self, phone: str, body: str, context: dict[str, str] | None = None, template: SmsTemplate | None = None
    ) -> str:
        """Free text: the template it came from does not travel."""
        attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
        if self._sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": self._sender_id}
        try:
            response = (self._sns or client("sns")).publish(
                PhoneNumber=phone, Message=body, MessageAttributes=attributes
            )
        except (ClientError, *NOT_SENT) as error:
            raise _mapped(error) from error
        return str(response["MessageId"])


class EndUserMessagingSms:
    """AWS End User Messaging SMS (pinpoint-sms-voice-v2): an origination identity (sender ID, long code,
    pool) and a configuration set whose event destination feeds the delivery events back to propfee.
    The context travels with the message into those events, so a receipt finds its evidence record."""

    def __init__(self, origination_identity: str, configuration_set: str | None = None, client_: Any | None = None):
        self._identity = origination_identity
        self._configuration_set = configuration_set
        self._client = client_

    def send_sms(
        self, phone: str, body: str, context: dict[str, str] | None = None, template: SmsTemplate | None = None
    ) -> str:
        """Free text: the template it came from does not travel."""
        request: dict[str, Any] = {
            "DestinationPhoneNumber": phone,
            "OriginationIdentity": self._identity,
            "MessageBody": body,
            "MessageType": "TRANSACTIONAL",
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        if context:
            request["Context"] = context
        try:
            response = (self._client or client("pinpoint-sms-voice-v2")).send_text_message(**request)
        except (ClientError, *NOT_SENT) as error:
            raise _mapped(error) from error
        return str(response["MessageId"])


class SesEmail:
    """SESv2 simple email. The configuration set makes SES publish the message's delivery, bounce and complaint
    events (with its tags) to the delivery-events topic; the context travels as tags, encoded in the characters
    SES allows (propfee.collection.message_tags)."""

    def __init__(self, sender: str, sesv2: Any | None = None, configuration_set: str | None = None) -> None:
        self._sender = sender
        self._ses = sesv2
        self._configuration_set = configuration_set

    def send_email(self, to: str, subject: str, body: str, context: dict[str, str] | None = None) -> str:
        request: dict[str, Any] = {
            "FromEmailAddress": self._sender,
            "Destination": {"ToAddresses": [to]},
            "EmailTags": [{"Name": k, "Value": encode_tag(v)} for k, v in sorted((context or {}).items())],
            "Content": {
                "Simple": {
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": body, "Charset": "UTF-8"}},
                }
            },
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        try:
            response = (self._ses or client("sesv2")).send_email(**request)
        except (ClientError, *NOT_SENT) as error:
            raise _mapped(error) from error
        return str(response["MessageId"])


class TicketInboxes:
    """A ticket reaches its department twice: an email to the department's inbox, and a message on the
    department's own queue, for the helpdesk or work-order system that integrates with propfee."""

    def __init__(self, email: SesEmail, queue_urls: dict[str, str], sqs: Any | None = None) -> None:
        self._email = email
        self._queue_urls = queue_urls
        self._sqs = sqs

    def route(self, ticket: Ticket, department: str, contact: DepartmentContact, subject: str, body: str) -> None:
        if contact.email:
            self._email.send_email(contact.email, subject, body, {"ticket": ticket.ticket_id})
        queue_url = self._queue_urls.get(department)
        if queue_url is None:
            return
        attributes = {
            "department": {"DataType": "String", "StringValue": department},
            "priority": {"DataType": "String", "StringValue": ticket.priority},
        }
        try:
            (self._sqs or client("sqs")).send_message(
                QueueUrl=queue_url, MessageBody=ticket.model_dump_json(), MessageAttributes=attributes
            )
        except (ClientError, *NOT_SENT) as error:
            raise _mapped(error) from error

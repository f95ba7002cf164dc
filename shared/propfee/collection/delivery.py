"""Delivery events from the providers -> what they mean for the evidence and the owner's addresses.

End User Messaging SMS events, SES event publishing (the configuration set's events, with the message's tags) and
SES notifications (an identity's, without tags) arrive as JSON through the delivery-events topic. Each is read by
a pydantic model of the shape AWS documents (samples in events/aws/); what does not fit is refused with the field
and the reason. The context propfee attached when sending (unit and claim) leads an event to its evidence record;
an event without it (an identity notification) is led there by the provider's message id.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, ValidationError, model_validator

from propfee.collection.message_tags import UnreadableTag, decode_tag
from propfee.domain.models import Channel, ReminderStatus

# End User Messaging SMS event types: final ones only ("TEXT_SUCCESSFUL" means handed to the carrier)
SMS_DELIVERED = {"TEXT_DELIVERED"}
SMS_FAILED_FOR_GOOD = {"TEXT_INVALID", "TEXT_BLOCKED", "TEXT_INVALID_MESSAGE"}  # the number will not work
SMS_FAILED = {"TEXT_CARRIER_UNREACHABLE", "TEXT_UNREACHABLE", "TEXT_TTL_EXPIRED", "TEXT_SPAM", "TEXT_UNKNOWN",
              "TEXT_CARRIER_BLOCKED", "TEXT_PROTECT_BLOCKED"} | SMS_FAILED_FOR_GOOD  # fmt: skip

# how far along a reminder is: a status moves only forward, so a late or repeated receipt cannot undo a
# definitive failure (or a complaint); a bounce after a delivery does move it (SES reports late bounces)
STATUS_RANK = {
    ReminderStatus.CLAIMED: 0,
    ReminderStatus.SENT: 1,
    ReminderStatus.DELIVERED: 2,
    ReminderStatus.FAILED: 3,
    ReminderStatus.COMPLAINED: 3,
}


class UnreadableEvent(ValueError):
    """Not a delivery event propfee understands; goes to the DLQ with this reason."""


@dataclass(frozen=True)
class DeliveryEvent:
    channel: Channel
    provider_message_id: str
    event_id: str  # the same for every copy of one provider event (SNS delivers at least once)
    unit_id: str | None
    claim_key: str | None
    status: ReminderStatus | None  # None: nothing to record (an intermediate state)
    reason: str
    at: datetime
    disable: tuple[str, ...] = ()  # addresses that must not be used again on this channel


# ---------------------------------------------------------------------------------------------- the shapes
Timestamp = Annotated[AwareDatetime, Field(strict=True)]  # ISO 8601 with its offset, as SES writes it


class _Shape(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class SesRecipient(_Shape):
    emailAddress: str = Field(min_length=3)


class SesBounce(_Shape):
    bounceType: Literal["Undetermined", "Permanent", "Transient"]
    bounceSubType: str
    bouncedRecipients: list[SesRecipient] = Field(min_length=1)
    timestamp: Timestamp
    feedbackId: str = Field(min_length=1)


class SesComplaint(_Shape):
    complainedRecipients: list[SesRecipient] = Field(min_length=1)
    timestamp: Timestamp
    feedbackId: str = Field(min_length=1)
    complaintFeedbackType: str | None = None


class SesDelivery(_Shape):
    timestamp: Timestamp
    recipients: list[str] = []


class SesReject(_Shape):
    reason: str


class SesRenderingFailure(_Shape):
    errorMessage: str
    templateName: str | None = None


class SesMail(_Shape):
    timestamp: Timestamp
    messageId: str = Field(min_length=1)
    destination: list[str] = []
    tags: dict[str, list[str]] = {}  # event publishing only: identity notifications carry none


SES_DETAIL = {"Bounce": "bounce", "Complaint": "complaint", "Delivery": "delivery", "Reject": "reject",
              "Rendering Failure": "failure"}  # fmt: skip


class SesEvent(_Shape):
    """SES event publishing names the kind `eventType`; an identity's notifications name it `notificationType`."""

    eventType: str | None = None
    notificationType: str | None = None
    mail: SesMail
    bounce: SesBounce | None = None
    complaint: SesComplaint | None = None
    delivery: SesDelivery | None = None
    reject: SesReject | None = None
    failure: SesRenderingFailure | None = None

    @property
    def kind(self) -> str:
        return self.eventType or self.notificationType or ""

    @model_validator(mode="after")
    def _detail_present(self) -> SesEvent:
        if not self.kind:
            raise ValueError("eventType or notificationType is required")
        detail = SES_DETAIL.get(self.kind)
        if detail is not None and getattr(self, detail) is None:
            raise ValueError(f"a {self.kind} event needs its `{detail}` object")
        return self


class SmsEvent(_Shape):
    eventType: str = Field(pattern=r"^TEXT_[A-Z_]+$")
    eventTimestamp: StrictInt = Field(gt=0)  # milliseconds since the epoch
    messageId: str = Field(min_length=1)
    destinationPhoneNumber: str | None = None
    messageStatusDescription: str | None = None
    context: dict[str, str] = {}


# ---------------------------------------------------------------------------------------------- reading
def _problems(error: ValidationError) -> str:
    """Fields and reasons, never the values (addresses, phone numbers)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'event'}: {e['msg']}" for e in error.errors(include_input=False)
    )[:900]


def _context(unit_id: str | None, claim: str | None) -> tuple[str | None, str | None]:
    if not unit_id or not claim:
        return None, None
    return unit_id, claim


def _sms_claim(claim: str | None) -> str | None:
    # claims sent before the tags were encoded carried `.` for `#` (REMINDER.sms_d1.1)
    return claim.replace(".", "#") if claim and "#" not in claim else claim


def _ses_tag(tags: dict[str, list[str]], name: str) -> str | None:
    values = tags.get(name) or []
    if not values:
        return None
    try:
        return decode_tag(values[0])
    except UnreadableTag as problem:
        raise UnreadableEvent(f"mail.tags.{name}: {problem}") from problem


def _sms(body: str) -> DeliveryEvent:
    try:
        event = SmsEvent.model_validate_json(body)
    except ValidationError as error:
        raise UnreadableEvent(f"SMS event: {_problems(error)}") from error
    kind = event.eventType
    status = (
        ReminderStatus.DELIVERED if kind in SMS_DELIVERED else ReminderStatus.FAILED if kind in SMS_FAILED else None
    )
    unit_id, claim_key = _context(event.context.get("unit_id"), _sms_claim(event.context.get("claim")))
    phone = event.destinationPhoneNumber
    return DeliveryEvent(
        channel=Channel.SMS,
        provider_message_id=event.messageId,
        event_id=f"sms:{event.messageId}:{kind}",
        unit_id=unit_id,
        claim_key=claim_key,
        status=status,
        reason=event.messageStatusDescription or kind,
        at=datetime.fromtimestamp(event.eventTimestamp / 1000, UTC),
        disable=(phone,) if kind in SMS_FAILED_FOR_GOOD and phone else (),
    )


def _email(body: str) -> DeliveryEvent:
    try:
        event = SesEvent.model_validate_json(body)
    except ValidationError as error:
        raise UnreadableEvent(f"SES event: {_problems(error)}") from error
    mail, kind = event.mail, event.kind
    unit_id, claim_key = _context(_ses_tag(mail.tags, "unit_id"), _ses_tag(mail.tags, "claim"))
    status: ReminderStatus | None = None
    disable: tuple[str, ...] = ()
    reason, at, event_id = kind.lower(), mail.timestamp, f"ses:{mail.messageId}:{kind}"
    if event.bounce is not None and kind == "Bounce":
        bounce = event.bounce
        status, at = ReminderStatus.FAILED, bounce.timestamp
        reason, event_id = f"bounce: {bounce.bounceType}/{bounce.bounceSubType}", f"ses:bounce:{bounce.feedbackId}"
        if bounce.bounceType == "Permanent":
            disable = tuple(r.emailAddress for r in bounce.bouncedRecipients)
    elif event.complaint is not None and kind == "Complaint":
        complaint = event.complaint
        status, at, reason = ReminderStatus.COMPLAINED, complaint.timestamp, "complaint"
        event_id = f"ses:complaint:{complaint.feedbackId}"
        disable = tuple(r.emailAddress for r in complaint.complainedRecipients)
    elif event.delivery is not None and kind == "Delivery":
        status, at, reason = ReminderStatus.DELIVERED, event.delivery.timestamp, "delivered"
    elif event.reject is not None and kind == "Reject":
        status, reason = ReminderStatus.FAILED, f"reject: {event.reject.reason}"[:300]
    elif event.failure is not None and kind == "Rendering Failure":
        status, reason = ReminderStatus.FAILED, f"rendering failure: {event.failure.errorMessage}"[:300]
    return DeliveryEvent(Channel.EMAIL, mail.messageId, event_id, unit_id, claim_key, status, reason, at, disable)


def parse_delivery_event(body: str) -> DeliveryEvent:
    try:
        event = json.loads(body)
    except json.JSONDecodeError as error:
        raise UnreadableEvent(f"not JSON: {error.msg}") from error
    if not isinstance(event, dict):
        raise UnreadableEvent("not a JSON object")
    if "mail" in event:
        return _email(body)
    if str(event.get("eventType", "")).startswith("TEXT_"):
        return _sms(body)
    raise UnreadableEvent("neither an SES event nor an SMS event")


# ---------------------------------------------------------------------------------------------- acting
class Recorded(StrEnum):
    """What the evidence record made of an event."""

    RECORDED = "recorded"  # the status moved forward
    KEPT = "kept"  # a status as far along as the record's: added to the timeline, the status kept
    CONFLICT = "conflict"  # an earlier status than the record's (a late receipt after a failure): noted, kept
    DUPLICATE = "duplicate"  # this event was recorded before (SNS delivers at least once)
    UNKNOWN_REMINDER = "unknown_reminder"


class Disabled(StrEnum):
    """What became of the addresses an event says must not be used again."""

    DISABLED = "address_disabled"
    ALREADY = "address_already_disabled"
    NOT_ON_UNIT = "address_not_on_unit"
    UNKNOWN_UNIT = "unknown_unit"


class DeliveryStore(Protocol):
    def reminder_of_message(self, provider_message_id: str) -> tuple[str, str] | None: ...

    def record_delivery(self, event: DeliveryEvent) -> Recorded: ...

    def disable_addresses(
        self, unit_id: str, channel: Channel, addresses: tuple[str, ...], reason: str
    ) -> Disabled: ...


def apply_delivery_event(event: DeliveryEvent, store: DeliveryStore) -> str:
    """Record what the provider said; returns what was done, for the log."""
    if event.status is None:
        return "ignored"
    unit_id, claim_key = event.unit_id, event.claim_key
    if unit_id is None or claim_key is None:
        found = store.reminder_of_message(event.provider_message_id)
        if found is None:
            return "not_ours"
        unit_id, claim_key = found
        event = replace(event, unit_id=unit_id, claim_key=claim_key)
    recorded = store.record_delivery(event)
    if not event.disable:
        return recorded.value
    disabled = store.disable_addresses(unit_id, event.channel, event.disable, event.reason)
    return f"{recorded.value}_and_{disabled.value}"


def _split(address: str) -> tuple[str, str]:
    local, at, domain = address.strip().rpartition("@")
    return (local, domain.lower()) if at else (address.strip(), "")


def addresses_meant(stored: Iterable[str], reported: Iterable[str]) -> set[str]:
    """The stored email addresses a provider's report names. Domains are compared in any case; the local part
    as stored, or, when no stored address has it so, in any case (mail systems treat it so in practice, and SES
    may report the address as the receiving server wrote it)."""
    stored = list(stored)
    meant: set[str] = set()
    for address in reported:
        local, domain = _split(address)
        exact = {s for s in stored if _split(s) == (local, domain)}
        meant |= exact or {s for s in stored if _split(s)[1] == domain and _split(s)[0].casefold() == local.casefold()}
    return meant

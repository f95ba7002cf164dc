"""Delivery events from the providers -> what they mean for the evidence and the owner's addresses.

End User Messaging SMS events and SES notifications arrive as JSON (through the delivery-events topic).
The context propfee attached when sending (unit and claim) leads each event to its evidence record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from propfee import clock
from propfee.models import Channel, ReminderStatus

# End User Messaging SMS event types: final ones only ("TEXT_SUCCESSFUL" means handed to the carrier)
SMS_DELIVERED = {"TEXT_DELIVERED"}
SMS_FAILED_FOR_GOOD = {"TEXT_INVALID", "TEXT_BLOCKED", "TEXT_INVALID_MESSAGE"}  # the number will not work
SMS_FAILED = {"TEXT_CARRIER_UNREACHABLE", "TEXT_UNREACHABLE", "TEXT_TTL_EXPIRED", "TEXT_SPAM", "TEXT_UNKNOWN",
              "TEXT_CARRIER_BLOCKED", "TEXT_PROTECT_BLOCKED"} | SMS_FAILED_FOR_GOOD  # fmt: skip


class UnreadableEvent(ValueError):
    """Not a delivery event propfee understands; goes to the DLQ with this reason."""


@dataclass(frozen=True)
class DeliveryEvent:
    channel: Channel
    provider_message_id: str
    unit_id: str | None
    claim_key: str | None
    status: ReminderStatus | None  # None: nothing to record (an intermediate state)
    reason: str
    at: datetime
    disable: tuple[str, ...] = ()  # addresses that must not be used again on this channel


def _claim(context: dict[str, object]) -> tuple[str | None, str | None]:
    def first(value: object) -> str | None:
        if isinstance(value, list):
            value = value[0] if value else None
        return str(value) if value else None

    claim = first(context.get("claim"))
    return first(context.get("unit_id")), claim.replace(".", "#") if claim else None


def _sms(event: dict[str, object]) -> DeliveryEvent:
    kind = str(event.get("eventType", ""))
    context = event.get("context") or {}
    unit_id, claim_key = _claim(context if isinstance(context, dict) else {})
    if kind in SMS_DELIVERED:
        status: ReminderStatus | None = ReminderStatus.DELIVERED
    elif kind in SMS_FAILED:
        status = ReminderStatus.FAILED
    else:
        status = None
    stamp = event.get("eventTimestamp")
    at = datetime.fromtimestamp(int(stamp) / 1000, UTC) if isinstance(stamp, int | float | str) else clock.now()
    phone = str(event.get("destinationPhoneNumber", ""))
    return DeliveryEvent(Channel.SMS, str(event.get("messageId", "")), unit_id, claim_key, status,
                         str(event.get("messageStatusDescription") or kind), at,
                         (phone,) if kind in SMS_FAILED_FOR_GOOD and phone else ())  # fmt: skip


def _email(event: dict[str, object]) -> DeliveryEvent:
    kind = str(event.get("eventType") or event.get("notificationType") or "")
    mail = event.get("mail")
    if not isinstance(mail, dict) or "messageId" not in mail:
        raise UnreadableEvent(f"SES {kind or 'event'} without mail.messageId")
    unit_id, claim_key = _claim(mail.get("tags") or {})
    at = (
        datetime.fromisoformat(str(mail.get("timestamp", "")).replace("Z", "+00:00")) if mail.get("timestamp") else None
    )
    disable: tuple[str, ...] = ()
    if kind == "Delivery":
        status: ReminderStatus | None = ReminderStatus.DELIVERED
        reason = "delivered"
    elif kind == "Bounce":
        bounce = event.get("bounce") or {}
        assert isinstance(bounce, dict)
        permanent = bounce.get("bounceType") == "Permanent"
        status, reason = ReminderStatus.FAILED, f"bounce: {bounce.get('bounceType')}/{bounce.get('bounceSubType')}"
        if permanent:
            disable = tuple(
                str(r.get("emailAddress")) for r in bounce.get("bouncedRecipients", []) if isinstance(r, dict)
            )
    elif kind == "Complaint":
        complaint = event.get("complaint") or {}
        assert isinstance(complaint, dict)
        status, reason = ReminderStatus.COMPLAINED, "complaint"
        recipients = complaint.get("complainedRecipients", [])
        disable = tuple(str(r.get("emailAddress")) for r in recipients if isinstance(r, dict))
    elif kind in ("Reject", "RenderingFailure"):
        status, reason = ReminderStatus.FAILED, kind.lower()
    else:
        status, reason = None, kind.lower()
    return DeliveryEvent(Channel.EMAIL, str(mail["messageId"]), unit_id, claim_key, status, reason,
                         at or clock.now(), disable)  # fmt: skip


def parse_delivery_event(body: str) -> DeliveryEvent:
    try:
        event = json.loads(body)
    except json.JSONDecodeError as error:
        raise UnreadableEvent(f"not JSON: {error.msg}") from error
    if not isinstance(event, dict):
        raise UnreadableEvent("not a JSON object")
    if "mail" in event:
        return _email(event)
    if str(event.get("eventType", "")).startswith("TEXT_"):
        return _sms(event)
    raise UnreadableEvent("neither an SES notification nor an SMS event")


class DeliveryStore(Protocol):
    def record_delivery(self, event: DeliveryEvent) -> bool: ...

    def disable_addresses(self, unit_id: str, channel: Channel, addresses: tuple[str, ...], reason: str) -> bool: ...


def apply_delivery_event(event: DeliveryEvent, store: DeliveryStore) -> str:
    """Record what the provider said; returns what was done, for the log."""
    if event.status is None:
        return "ignored"
    if event.unit_id is None or event.claim_key is None:
        return "not_ours"
    recorded = store.record_delivery(event)
    if event.disable:
        store.disable_addresses(event.unit_id, event.channel, event.disable, event.reason)
        return "recorded_and_address_disabled" if recorded else "address_disabled"
    return "recorded" if recorded else "unknown_reminder"

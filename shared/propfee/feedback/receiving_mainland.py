"""Owners' answers through Aliyun (SmsUp, a JSON array) and Tencent (the reply callback, one object) -> the
inbound messages the receive flow already classifies and acts on (feedback.receiving)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from propfee.domain.models import InboundMessage
from propfee.feedback.receiving import MAX_BODY


class UnreadableReply(ValueError):
    """Not a reply push propfee understands (names the fields, never their values)."""


class _Shape(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class AliyunReply(_Shape):
    phone_number: str = Field(pattern=r"^(\+?86)?1\d{10}$")
    content: str
    send_time: str
    dest_code: str = ""
    sequence_id: int


class TencentReply(_Shape):
    mobile: str = Field(pattern=r"^\d{5,15}$")
    nationcode: str = Field(pattern=r"^\d{1,4}$")
    text: str
    time: int
    sign: str = ""
    extend: str = ""


def _fields(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors(include_input=False))


def _e164(phone: str) -> str:
    digits = phone.lstrip("+")
    return f"+{digits}" if digits.startswith("86") and len(digits) == 13 else f"+86{digits}"


def aliyun_reply(item: object, received_at: datetime) -> InboundMessage:
    """One SmsUp item: its id Aliyun's sequence id (a redelivery has the same)."""
    try:
        reply = AliyunReply.model_validate(item)
    except ValidationError as error:
        raise UnreadableReply(f"Aliyun SmsUp: {_fields(error)}"[:900]) from error
    return InboundMessage(
        source_id=f"aliyun:{reply.sequence_id}",
        channel="sms",
        sender=_e164(reply.phone_number),
        recipient=reply.dest_code,
        body=reply.content[:MAX_BODY],
        body_chars=len(reply.content),
        received_at=received_at,
    )


def aliyun_replies(body: str, received_at: datetime) -> list[InboundMessage]:
    """An SmsUp push (a JSON array), every item readable."""
    try:
        items = json.loads(body)
    except json.JSONDecodeError as error:
        raise UnreadableReply("Aliyun SmsUp: not JSON") from error
    if not isinstance(items, list):
        raise UnreadableReply("Aliyun SmsUp: not a JSON array")
    return [aliyun_reply(item, received_at) for item in items]


def tencent_reply_item(item: object, received_at: datetime) -> InboundMessage:
    """A reply callback's object. It carries no id: the number, time and text make one, the same for a redelivery."""
    try:
        reply = TencentReply.model_validate(item)
    except ValidationError as error:
        raise UnreadableReply(f"Tencent reply: {_fields(error)}"[:900]) from error
    sender = f"+{reply.nationcode}{reply.mobile}"
    digest = hashlib.sha256(f"{sender}|{reply.time}|{reply.text}".encode()).hexdigest()[:32]
    return InboundMessage(
        source_id=f"tencent:{digest}",
        channel="sms",
        sender=sender,
        recipient=reply.extend,
        body=reply.text[:MAX_BODY],
        body_chars=len(reply.text),
        received_at=received_at,
    )


def tencent_reply(body: str, received_at: datetime) -> InboundMessage:
    """A reply callback's body (one object)."""
    try:
        item = json.loads(body)
    except json.JSONDecodeError as error:
        raise UnreadableReply("Tencent reply: not JSON") from error
    return tencent_reply_item(item, received_at)

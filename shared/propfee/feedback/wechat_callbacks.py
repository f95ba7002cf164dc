"""What the WeChat official account pushes to its server URL: the GET check (echostr), owners' text messages (into
the same receive flow as SMS replies: classification, opt-outs, tickets, holds) and the send-finish events of
the template messages (TEMPLATESENDJOBFINISH, into the reminders' evidence).

Every push is signed with the account's token and, the account being in safe mode, AES-encrypted with its
EncodingAESKey (the adapter checks both with wechatpy). A push that does not check is refused with 403 and nothing
is read or written. WeChat waits 5 seconds and tries three more times; it reads "success" (or an empty body) as
"received, no passive reply", and the MsgId (the MsgID of an event) makes a repeat come to nothing new."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Protocol

from propfee.collection.delivery import DeliveryEvent, apply_delivery_event
from propfee.domain.models import Channel, InboundMessage, ReminderStatus, Unit
from propfee.feedback.receiving import MAX_BODY, ReceiveResult
from propfee.feedback.sms_callbacks import ReceiptStore, ours

PLAIN = "text/plain; charset=utf-8"
SUCCESS = "success"
WECHAT_SENDER = "wechat:"  # an owner's openid as the receive flow names a sender (beside numbers and addresses)


class ForgedPush(ValueError):
    """A push whose signature, msg_signature or AppID does not check (the adapter raises it)."""


class WechatInbox(Protocol):
    """The account's side of the pushes (providers.wechat_official implements it)."""

    def echo(self, query: Mapping[str, str]) -> str: ...

    def read_push(self, query: Mapping[str, str], body: str) -> dict[str, str]: ...


class WechatStore(ReceiptStore, Protocol):
    def units_by_contact(self, sender: str) -> list[Unit]: ...


class WechatCallbackServices(Protocol):
    def inbox(self) -> WechatInbox: ...

    def store(self) -> WechatStore: ...

    def receive(self, message: InboundMessage, raw: str, now: datetime) -> ReceiveResult: ...

    def reject(self, body: str, reason: str) -> None: ...


def owner_message(fields: Mapping[str, str], received_at: datetime) -> InboundMessage:
    """A text push as the receive flow reads it: the sender is wechat:<openid>, the id WeChat's MsgId."""
    content = fields.get("Content", "")
    return InboundMessage(
        source_id=f"wechat:{fields['MsgId']}",
        channel="wechat",
        sender=f"{WECHAT_SENDER}{fields['FromUserName']}",
        recipient=fields.get("ToUserName", ""),
        body=content[:MAX_BODY],
        body_chars=len(content),
        received_at=received_at,
    )


def send_finished(fields: Mapping[str, str], received_at: datetime) -> DeliveryEvent:
    """TEMPLATESENDJOBFINISH: Status "success", "failed:user block" (the owner refuses the account's messages)
    or "failed: system failed"."""
    status = fields.get("Status", "")
    blocked = "user block" in status
    created = fields.get("CreateTime", "")
    at = datetime.fromtimestamp(int(created), UTC) if created.isdigit() else received_at
    return DeliveryEvent(
        channel=Channel.WECHAT,
        provider_message_id=f"wechat:{fields['MsgID']}",
        event_id=f"wechat:{fields['MsgID']}:{status}",
        unit_id=None,
        claim_key=None,
        status=ReminderStatus.DELIVERED if status == SUCCESS else ReminderStatus.FAILED,
        reason=f"wechat {status}",
        at=at,
        disable=(fields["FromUserName"],) if blocked else (),
    )


def answer_wechat(
    method: str, query: Mapping[str, str], body: str, now: datetime, services: WechatCallbackServices
) -> tuple[int, str, Counter[str]]:
    """(HTTP status, plain-text body, what the push came to)."""
    inbox = services.inbox()
    try:
        if method == "GET":
            return 200, inbox.echo(query), Counter(echo=1)
        fields = inbox.read_push(query, body)
    except ForgedPush:
        return 403, "forbidden", Counter(forged=1)
    kind, event = fields.get("MsgType", ""), fields.get("Event", "")
    try:
        if kind == "text":
            result = services.receive(owner_message(fields, now), _kept(fields), now)
            return 200, SUCCESS, Counter({f"reply_{result.outcome.value}": 1})
        if kind == "event" and event == "TEMPLATESENDJOBFINISH":
            finished = send_finished(fields, now)
            matched = ours(finished, fields["FromUserName"], services.store())
            if matched is None:
                services.reject(_kept(fields), "wechat send-finish event: names no message propfee sent to that openid")
                return 200, SUCCESS, Counter(rejected=1)
            return 200, SUCCESS, Counter({f"receipt_{apply_delivery_event(matched, services.store())}": 1})
        if kind == "event" and event == "unsubscribe":
            return 200, SUCCESS, unfollowed(fields["FromUserName"], services.store())
    except KeyError as missing:  # signed by the account, yet without a field its kind always has
        services.reject(_kept(fields), f"wechat {kind or 'push'} without {missing}")
        return 200, SUCCESS, Counter(rejected=1)
    return 200, SUCCESS, Counter({f"ignored_{kind or 'unknown'}": 1})  # images, voice, subscribe events...


UNFOLLOWED = "wechat: unfollowed the account"


def unfollowed(openid: str, store: WechatStore) -> Counter[str]:
    """The owner unfollowed the account: template messages to them would be refused (43004) and the step spent,
    so each binding of theirs stops and the ladder's next step falls back to SMS or email. Binding again from the
    bill page (after following again) starts it anew."""
    tally: Counter[str] = Counter()
    for unit in store.units_by_contact(f"{WECHAT_SENDER}{openid}"):
        tally[f"unfollowed_{store.disable_addresses(unit.unit_id, Channel.WECHAT, (openid,), UNFOLLOWED).value}"] += 1
    return tally or Counter(unfollowed_unbound=1)


def _kept(fields: Mapping[str, str]) -> str:
    """The decrypted push as kept (the owner's words are personal: the rejects and originals hold them, logs never)."""
    return json.dumps(dict(fields), ensure_ascii=False)

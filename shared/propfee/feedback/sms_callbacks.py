"""Aliyun's and Tencent's pushed receipts and replies, item by item, into the delivery-events and receive flows.

Neither provider signs its pushes, so a push is believed only as far as it can be checked: its URL carries the
deploy's callback token (a secret, compared in constant time), and a receipt must name a message propfee sent to
that number (its BizId or SerialNo is the reminder's provider message id, its number the reminder's destination).
A push without the token is refused whole; an item that is unreadable or names no message of ours goes to the
rejects with its reason, and the rest of the push proceeds."""

from __future__ import annotations

import hmac
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal, Protocol

from propfee.collection.delivery import DeliveryEvent, DeliveryStore, UnreadableEvent, apply_delivery_event
from propfee.collection.delivery_mainland import aliyun_report, reported_phone, tencent_report
from propfee.domain.models import InboundMessage, Reminder
from propfee.feedback.receiving import ReceiveResult
from propfee.feedback.receiving_mainland import UnreadableReply, aliyun_reply, tencent_reply_item

MainlandProvider = Literal["aliyun", "tencent"]
Reject = Callable[[str, str], None]  # (the item as received, the reason)

# what each provider reads as "received, do not push again" (prc-messaging.md), and as a refusal
ACCEPTED: dict[MainlandProvider, dict[str, Any]] = {
    "aliyun": {"code": 0, "msg": "接收成功"},
    "tencent": {"result": 0, "errmsg": "OK"},
}


def refused(provider: MainlandProvider, reason: str) -> dict[str, Any]:
    return {"code": 1, "msg": reason} if provider == "aliyun" else {"result": 1, "errmsg": reason}


def token_matches(given: str, expected: bytes) -> bool:
    """The path's token against the deploy's, in constant time; an empty secret matches nothing."""
    return bool(expected) and hmac.compare_digest(given.encode(), expected)


class UnreadablePush(ValueError):
    """The body is not JSON, or not the array (or, for a Tencent reply, the object) the provider pushes."""


def push_items(body: str, one_object_allowed: bool = False) -> list[Any]:
    try:
        parsed = json.loads(body)
    except ValueError as error:
        raise UnreadablePush("not JSON") from error
    if isinstance(parsed, dict) and one_object_allowed:
        return [parsed]
    if not isinstance(parsed, list):
        raise UnreadablePush("not a JSON array")
    return parsed


class ReceiptStore(DeliveryStore, Protocol):
    def reminder(self, unit_id: str, claim_key: str) -> Reminder | None: ...


def _acknowledgement(provider: MainlandProvider, item: Any) -> bool:
    """A receipt of a reply's acknowledgement (sent with `reply_to`, not a claim): nothing to record."""
    context = item.get("out_id") if provider == "aliyun" else item.get("session_context")
    return isinstance(context, str) and context.startswith("reply_to=")


def ours(event: DeliveryEvent, phone: str, store: ReceiptStore) -> DeliveryEvent | None:
    """The event led to its reminder, when the reminder was sent as this provider message to this number."""
    unit_id, claim_key = event.unit_id, event.claim_key
    if unit_id is None or claim_key is None:
        found = store.reminder_of_message(event.provider_message_id)
        if found is None:
            return None
        unit_id, claim_key = found
    reminder = store.reminder(unit_id, claim_key)
    if reminder is None or reminder.provider_message_id != event.provider_message_id or reminder.destination != phone:
        return None
    return replace(event, unit_id=unit_id, claim_key=claim_key)


def accept_receipts(provider: MainlandProvider, body: str, store: ReceiptStore, reject: Reject) -> Counter[str]:
    """Each receipt of a push recorded on its reminder; what each item came to, counted."""
    read = aliyun_report if provider == "aliyun" else tencent_report
    tally: Counter[str] = Counter()
    for index, item in enumerate(push_items(body)):
        raw = json.dumps(item, ensure_ascii=False)
        try:
            event = read(item)
        except UnreadableEvent as problem:
            reject(raw, f"{provider} receipt {index}: {problem}"[:1000])
            tally["rejected"] += 1
            continue
        if _acknowledgement(provider, item):
            tally["acknowledgement"] += 1
            continue
        matched = ours(event, reported_phone(provider, item), store)
        if matched is None:
            reject(raw, f"{provider} receipt {index}: names no message propfee sent to that number")
            tally["rejected"] += 1
            continue
        tally[apply_delivery_event(matched, store)] += 1
    return tally


def accept_replies(
    provider: MainlandProvider,
    body: str,
    now: datetime,
    receive: Callable[[InboundMessage, str], ReceiveResult],
    reject: Reject,
) -> Counter[str]:
    """Each owner's reply of a push received (kept whole, understood, acted on); `receive(message, raw item)`."""
    tally: Counter[str] = Counter()
    for index, item in enumerate(push_items(body, one_object_allowed=provider == "tencent")):
        raw = json.dumps(item, ensure_ascii=False)
        try:
            message = aliyun_reply(item, now) if provider == "aliyun" else tencent_reply_item(item, now)
        except UnreadableReply as problem:
            reject(raw, f"{provider} reply {index}: {problem}"[:1000])
            tally["rejected"] += 1
            continue
        tally[receive(message, raw).outcome.value] += 1
    return tally


PushKind = Literal["report", "status", "reply"]


class CallbackServices(Protocol):
    """What answering a push needs: the deploy's token, the evidence, the receive flow, the rejects."""

    def token(self) -> bytes: ...

    def store(self) -> ReceiptStore: ...

    def receive(self, message: InboundMessage, raw: str, now: datetime) -> ReceiveResult: ...

    def reject(self, body: str, reason: str) -> None: ...


def answer_push(
    provider: MainlandProvider, kind: PushKind, token: str, body: str, now: datetime, services: CallbackServices
) -> tuple[int, dict[str, Any], Counter[str]]:
    """(HTTP status, the answer the provider reads, what the items came to). Without the token: 403 and the
    provider's refusal, nothing read. An unreadable body: kept in the rejects, 400 and a refusal."""
    if not token_matches(token, services.token()):
        return 403, refused(provider, "forbidden"), Counter(forged=1)
    try:
        if kind == "reply":
            tally = accept_replies(provider, body, now, lambda m, raw: services.receive(m, raw, now), services.reject)
        else:
            tally = accept_receipts(provider, body, services.store(), services.reject)
    except UnreadablePush as problem:
        services.reject(body, f"{provider} {kind} push: {problem}")
        return 400, refused(provider, str(problem)), Counter(unreadable=1)
    return 200, ACCEPTED[provider], tally


# the callback routes /sms/<provider>/<token>/<kind> there are: each provider's own names for its pushes
ROUTES: dict[tuple[str, str], tuple[MainlandProvider, PushKind]] = {
    ("aliyun", "report"): ("aliyun", "report"),
    ("aliyun", "reply"): ("aliyun", "reply"),
    ("tencent", "status"): ("tencent", "status"),
    ("tencent", "reply"): ("tencent", "reply"),
}


def answer_route(
    provider: str, kind: str, token: str, body: str, now: datetime, services: CallbackServices
) -> tuple[int, dict[str, Any], Counter[str]]:
    """answer_push for a route's path; a provider or kind that is not one of ROUTES: 404, nothing read."""
    route = ROUTES.get((provider, kind))
    if route is None:
        return 404, {"message": "Not Found"}, Counter(unknown_route=1)
    return answer_push(*route, token, body, now, services)


class TencentPull(Protocol):
    def pull_status_reports(self) -> list[dict[str, Any]]: ...

    def pull_replies(self) -> list[dict[str, Any]]: ...


def pull_tencent(puller: TencentPull, services: CallbackServices, now: datetime) -> Counter[str]:
    """Tencent's pull APIs (PullSmsSendStatus, PullSmsReplyStatus) on a schedule: what a push never brought, read
    the same way with the same checks. What was pushed already comes to nothing new (each receipt and reply is
    recorded once)."""
    tally: Counter[str] = Counter()
    reports = puller.pull_status_reports()
    if reports:
        tally += accept_receipts("tencent", json.dumps(reports, ensure_ascii=False), services.store(), services.reject)
    for reply in puller.pull_replies():
        receive = lambda m, raw: services.receive(m, raw, now)  # noqa: E731
        tally += accept_replies("tencent", json.dumps(reply, ensure_ascii=False), now, receive, services.reject)
    return tally

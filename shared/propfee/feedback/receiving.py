"""The receive flow for one owner's message: record it once, understand it, act, route, acknowledge.

Order matters for safety. The message, its ticket and every change to the owner's units are written in
one transaction keyed by the provider's message id, so a redelivery can never act twice. What follows
(the department's email and queue message, the owner's acknowledgement) is listed as pending on the
record and ticked off one by one; a redelivery after a crash finishes what is left. The acknowledgement
is ticked off before it is sent: an owner may miss one, never receive two.
"""

from __future__ import annotations

import email.policy
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr
from enum import StrEnum
from html.parser import HTMLParser
from typing import Any, Protocol
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from propfee.collection.messages import render_reply, reply_subject, reply_template
from propfee.collection.policy import time_blocked
from propfee.domain.config import Settings
from propfee.domain.models import E164, InboundMessage, Ticket, Unit
from propfee.domain.ports import EmailSender, ProviderRejected, ProviderUnavailable, SmsSender
from propfee.feedback.intents import Department, Intent, classify
from propfee.feedback.responses import (
    TICKET_ACK,
    UNKNOWN_COMMUNITY,
    DepartmentContact,
    RepliesRules,
    Response,
    ack_context,
    respond,
)

MAX_BODY = 2000  # what is classified and recorded of a longer text (kept whole in S3); the classifier reads less
SMS_ORIGINALS = "incoming/sms/"  # beside the owners' emails (incoming/mail/) in the inbound bucket
MAX_UNITS = 40  # one transaction holds at most 100 writes: no owner has more units than this here


class InboundSms(BaseModel):
    """AWS End User Messaging two-way SMS, as published to the inbound SNS topic."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    originationNumber: E164  # the provider's field names, as they arrive
    destinationNumber: str = ""
    messageKeyword: str = ""
    messageBody: str = ""
    inboundMessageId: str = Field(min_length=1, max_length=200)
    previousPublishedMessageId: str | None = None


def parse_inbound_sms(body: str, received_at: datetime) -> tuple[InboundMessage | None, str]:
    """The message in an SQS body, or None and a reason that names fields, never their values."""
    try:
        payload = json.loads(body)
        if isinstance(payload, dict) and "Message" in payload and "TopicArn" in payload:
            payload = json.loads(payload["Message"])  # an SNS envelope (raw delivery off)
        sms = InboundSms.model_validate(payload)
    except (ValueError, TypeError) as error:
        if isinstance(error, ValidationError):
            fields = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in error.errors(include_input=False)
            )
            return None, f"malformed inbound SMS: {fields}"[:900]
        return None, "malformed inbound SMS: not JSON"
    return (
        InboundMessage(
            source_id=sms.inboundMessageId,
            channel="sms",
            sender=sms.originationNumber,
            recipient=sms.destinationNumber,
            body=sms.messageBody[:MAX_BODY],
            body_chars=len(sms.messageBody),
            received_at=received_at,
            answers_message_id=sms.previousPublishedMessageId,
        ),
        "",
    )


class OriginalStore(Protocol):
    def keep(self, key: str, body: bytes, content_type: str) -> str: ...


def keep_sms_whole(
    message: InboundMessage, payload: str, published_at: datetime, store: OriginalStore
) -> InboundMessage:
    """Keep the payload End User Messaging published, whole, before anything is acted on; the record points at it.
    Its key comes from the provider's id and SNS's publish time, so a redelivery writes the same object."""
    key = f"{SMS_ORIGINALS}{published_at.astimezone(UTC):%Y-%m-%d}/{quote(message.source_id, safe='')}.json"
    return message.model_copy(update={"original": store.keep(key, payload.encode("utf-8"), "application/json")})


# where the owner's own words end in a reply: the quoted message below (Outlook, Gmail, QQ Mail, 163)
_QUOTE_STARTS = re.compile(
    r"^\s*(>|on .{4,80} wrote:|-{2,}\s*(original message|原始邮件|回复的原邮件)\s*-{2,}"
    r"|(发件人|from)\s*[:：]|在.{4,60}写道[:：])",
    re.IGNORECASE,
)
_SUBJECT_PREFIX = re.compile(r"^\s*((re|fw|fwd|回复|答复|转发)\s*[:：]\s*)+", re.IGNORECASE)


class _Text(HTMLParser):
    """The text of an HTML mail body (scripts and styles dropped)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in ("script", "style")
        if tag in ("br", "p", "div", "li", "tr"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style") and self._skip > 0

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _owner_words(text: str) -> str:
    lines = []
    for line in text.splitlines():
        if _QUOTE_STARTS.match(line):
            break
        lines.append(line)
    return "\n".join(lines).strip()


def parse_inbound_email(
    raw: bytes, source_id: str, received_at: datetime, original: str | None = None
) -> tuple[InboundMessage | None, str]:
    """An owner's email to the feedback address (SES receipt rule -> S3), or None and why it is not acted on.
    Automatic replies are never acted on (no loops with out-of-office messages), nor spam or viruses.
    `original`: where SES stored the mail whole (s3://bucket/key), for the evidence record."""
    try:
        mail = BytesParser(policy=email.policy.default).parsebytes(raw)
        sender = parseaddr(str(mail.get("From", "")))[1].strip().lower()
    except (ValueError, TypeError, IndexError):
        return None, "unreadable email"
    if "@" not in sender or len(sender) > 254:
        return None, "email without a sender address"
    if str(mail.get("Auto-Submitted", "no")).lower() != "no" or str(mail.get("Precedence", "")).lower() in (
        "bulk",
        "junk",
        "list",
        "auto_reply",
    ):
        return None, "automatic reply, not acted on"
    for verdict in ("X-SES-Spam-Verdict", "X-SES-Virus-Verdict"):
        if str(mail.get(verdict, "PASS")).upper() == "FAIL":
            return None, f"{verdict}: FAIL"
    part = mail.get_body(preferencelist=("plain", "html")) if isinstance(mail, EmailMessage) else None
    body = ""
    if part is not None:
        content = str(part.get_content())
        if part.get_content_subtype() == "html":
            parser = _Text()
            parser.feed(content)
            content = "".join(parser.parts)
        body = _owner_words(content)
    subject = _SUBJECT_PREFIX.sub("", str(mail.get("Subject", ""))).strip()
    text = "\n".join(t for t in (subject, body) if t)
    message = InboundMessage(
        source_id=source_id[:200],
        channel="email",
        sender=sender,
        body=text[:MAX_BODY],
        body_chars=len(text),
        received_at=received_at,
        original=original,
    )
    return message, ""


class Outcome(StrEnum):
    ACTED = "acted"
    DUPLICATE = "duplicate"
    FLOOD = "flood"  # over the sender's limit: kept as evidence, not acted on


@dataclass(frozen=True)
class ReceiveResult:
    outcome: Outcome
    intent: str | None = None
    ticket_id: str | None = None
    acknowledged: str | None = None  # sent, deferred, cooldown, none


class FeedbackStore(Protocol):
    def get_inbound(self, source_id: str) -> dict[str, Any] | None: ...

    def count_message(self, sender: str, at: datetime) -> tuple[int, int]: ...

    def units_by_contact(self, sender: str) -> list[Unit]: ...

    def reminder_answered(self, provider_message_id: str | None) -> tuple[str, str] | None: ...

    def record_message(
        self, message: InboundMessage, units: list[Unit], response: Response | None, outcome: str, pending: list[str]
    ) -> Any: ...

    def get_ticket(self, ticket_id: str) -> Ticket | None: ...

    def finish_step(self, source_id: str, step: str, **fields: Any) -> None: ...

    def defer_ack(self, source_id: str, received_at: datetime) -> None: ...

    def claim_ack(self, sender: str, now: datetime, every: timedelta, ticket_id: str | None = None) -> bool: ...


class WechatTexter(Protocol):
    """The official account's customer-service text to an openid (allowed within 48 hours of their message)."""

    def send_text(self, openid: str, text: str) -> str: ...


class TicketRouter(Protocol):
    """Puts a ticket in front of its department: its inbox (email) and its queue (integrations)."""

    def route(self, ticket: Ticket, department: str, contact: DepartmentContact, subject: str, body: str) -> None: ...


class UnitsKeepChanging(Exception):
    """The owner's units changed under every attempt (or ticket ids kept colliding); SQS delivers it again."""


class Receiver:
    def __init__(
        self,
        settings: Settings,
        store: FeedbackStore,
        sms: SmsSender,
        email: EmailSender,
        router: TicketRouter,
        rules: RepliesRules,
        wechat: WechatTexter | None = None,
    ) -> None:
        self._wechat = wechat  # the official account's customer-service texts, for owners who wrote there
        self._settings = settings
        self._store = store
        self._sms = sms
        self._email = email
        self._router = router
        self._rules = rules

    def receive(self, message: InboundMessage, now: datetime) -> ReceiveResult:
        record = self._store.get_inbound(message.source_id)
        if record is None:
            recorded = self._record(message)
            if isinstance(recorded, ReceiveResult):
                return recorded
            record = recorded
        elif not record.get("pending"):
            return ReceiveResult(Outcome.DUPLICATE)
        return self._finish(record, now)

    def _record(self, message: InboundMessage) -> dict[str, Any] | ReceiveResult:
        feedback = self._rules.feedback
        hour, day = self._store.count_message(message.sender, message.received_at)
        today = message.received_at.astimezone(self._settings.tz).date()
        classification = classify(message.body, today)
        flooded = hour > feedback.messages_per_hour or day > feedback.messages_per_day
        if flooded and classification.intent is not Intent.OPT_OUT:  # an opt-out is honoured whatever the flood
            result = self._store.record_message(message, [], None, Outcome.FLOOD.value, [])
            return ReceiveResult(Outcome.FLOOD if result == "recorded" else Outcome.DUPLICATE)
        answered = self._store.reminder_answered(message.answers_message_id)
        salt = 0
        for _attempt in range(4):
            units = self._store.units_by_contact(message.sender)[:MAX_UNITS]
            community = units[0].community_id if units else UNKNOWN_COMMUNITY
            rules = self._rules.feedback_for(community)
            response = respond(message, classification, units, rules, self._settings.tz, answered, salt)
            pending = [step for step, due in (("notify", response.ticket), ("ack", response.acknowledgement)) if due]
            result = self._store.record_message(message, units, response, Outcome.ACTED.value, pending)
            if result == "duplicate":
                return ReceiveResult(Outcome.DUPLICATE)
            if result == "recorded":
                return self._store.get_inbound(message.source_id) or {}
            if result == "ticket_id_taken":
                salt += 1
        raise UnitsKeepChanging(message.source_id)

    def _finish(self, record: dict[str, Any], now: datetime) -> ReceiveResult:
        """The steps after the transaction: route the ticket, then acknowledge (each once)."""
        source_id = str(record["source_id"])
        ticket_id = record.get("ticket_id")
        pending = list(record.get("pending") or [])
        if "notify" in pending and ticket_id:
            ticket = self._store.get_ticket(str(ticket_id))
            if ticket is not None:
                self._route(ticket)
            self._store.finish_step(source_id, "notify", notified_at=now.isoformat())
        acknowledged = "none"
        if "ack" in pending:
            acknowledged = self.acknowledge(record, now)
        intent = (record.get("classification") or {}).get("intent")
        return ReceiveResult(Outcome.ACTED, intent, str(ticket_id) if ticket_id else None, acknowledged)

    def acknowledge(self, record: dict[str, Any], now: datetime) -> str:
        """Send the acknowledgement now if the contact window allows, else leave it for the hourly run."""
        source_id, sender = str(record["source_id"]), str(record["sender"])
        # an answer to the owner's own message is not a collection contact: lawful hours, but holidays too
        policy = self._rules.policy_for(str(record.get("community_id") or UNKNOWN_COMMUNITY)).model_copy(
            update={"contact_on_statutory_holidays": True, "contact_on_weekends": True, "extra_holidays": ()}
        )
        if time_blocked(now, self._settings.tz, policy) is not None:
            if not record.get("inbox_pk"):
                self._store.defer_ack(source_id, datetime.fromisoformat(str(record["received_at"])))
            return "deferred"
        every = timedelta(minutes=self._rules.feedback.ack_every_minutes)
        # a new complaint is answered once whatever the period: two different complaints get two answers (an
        # auto-responder's "收到" opens unknown tickets, which still share the one answer an hour)
        complaint = (record.get("classification") or {}).get("intent") == Intent.COMPLAINT.value
        ticket_ack = complaint and record.get("ticket_id") and record["ack"]["template"] == TICKET_ACK
        opened = str(record["ticket_id"]) if ticket_ack else None
        if not self._store.claim_ack(sender, now, every, opened):
            self._store.finish_step(source_id, "ack", ack_outcome="cooldown")
            return "cooldown"
        ack = record["ack"]
        language, channel = str(ack["language"]), str(record.get("channel") or "sms")
        identity = self._rules.identity_for(str(record.get("community_id") or UNKNOWN_COMMUNITY))
        context = ack_context(dict(ack["context"]), now)
        text = render_reply(str(ack["template"]), language, context, identity, channel)
        self._store.finish_step(source_id, "ack", ack_outcome="sending", acked_at=now.isoformat())
        try:
            if channel == "wechat":
                provider_id = self._wechat_text(sender, text)
            elif record.get("channel") == "email":
                provider_id = self._email.send_email(
                    sender, reply_subject(identity, language), text, {"reply_to": source_id[:200]}
                )
            else:
                template = reply_template(str(ack["template"]), language, context, identity)
                provider_id = self._sms.send_sms(sender, text, {"reply_to": source_id[:200]}, template)
        except (ProviderRejected, ProviderUnavailable) as error:
            self._store.finish_step(source_id, "ack", ack_outcome=f"failed: {type(error).__name__}")
            return "failed"
        self._store.finish_step(source_id, "ack", ack_outcome="sent", ack_message_id=provider_id)
        return "sent"

    def reply_window_opens(self, community_id: str, now: datetime) -> bool:
        """Whether an answer to an owner may go now: the acknowledgement's window (lawful hours, holidays too)."""
        policy = self._rules.policy_for(community_id).model_copy(
            update={"contact_on_statutory_holidays": True, "contact_on_weekends": True, "extra_holidays": ()}
        )
        return time_blocked(now, self._settings.tz, policy) is None

    def _wechat_text(self, sender: str, text: str) -> str:
        if self._wechat is None:
            raise ProviderUnavailable("no WeChat official account is configured")
        return self._wechat.send_text(sender.removeprefix("wechat:"), text)

    def _route(self, ticket: Ticket) -> None:
        rules = self._rules.feedback_for(ticket.community_id)
        contact = rules.departments[Department(ticket.department)]
        self._router.route(ticket, ticket.department, contact, *ticket_email(ticket, contact, self._settings))


def ticket_email(ticket: Ticket, department: DepartmentContact, settings: Settings) -> tuple[str, str]:
    """The department's email: what the owner wrote, who to answer and by when (plain text)."""
    tz = settings.tz
    urgent = "【紧急】" if ticket.priority == "urgent" else ""
    kind = f"{ticket.intent}/{ticket.category}" if ticket.category else ticket.intent
    subject = f"{urgent}[工单 {ticket.ticket_id}] {department.name} {kind}"
    lines = [
        f"工单号 Ticket: {ticket.ticket_id}",
        f"部门 Department: {department.name}",
        f"类型 Intent: {kind}",
        f"优先级 Priority: {ticket.priority}",
        f"截止 Due by: {ticket.due_by.astimezone(tz):%Y-%m-%d %H:%M}",
        f"小区 Community: {ticket.community_id}",
        f"房屋 Units: {', '.join(ticket.unit_ids) or '(未识别的号码 unknown sender)'}",
        f"联系方式 Contact ({ticket.channel}): {ticket.contact}",
        f"收到 Received: {ticket.created_at.astimezone(tz):%Y-%m-%d %H:%M}",
    ]
    if ticket.answers:
        lines.append(f"回复的催缴 In reply to reminder: {ticket.answers}")
    if ticket.promise_date:
        lines.append(f"承诺缴费日期 Promised payment date: {ticket.promise_date.isoformat()}")
    if ticket.hold:
        lines.append(f"催缴暂停 Reminders paused: {ticket.hold.value} (resolving the ticket releases it)")
    if "refuses_to_pay" in ticket.also:
        lines.append("业主表示不解决不缴费 The owner refuses to pay until this is dealt with")
    if others := [a for a in ticket.also if a != "refuses_to_pay"]:
        lines.append(f"同时提到 Also said: {', '.join(others)}")
    if ticket.guesses:
        lines.append(f"系统无法确定，请人工判断 Unsure, please decide; best guesses: {', '.join(ticket.guesses)}")
    lines += [
        "",
        "业主原文 The owner wrote:",
        ticket.message,
        "",
        f"处理完毕请执行: propfee tickets resolve {ticket.ticket_id} --note ...",
    ]
    if settings.console_url:  # the ticket page: the console's shell opens it with the tab's sign-in
        page = f"{settings.console_url}/console?ticket={ticket.ticket_id}"
        lines.append(f"在控制台处理 In the console: {page}")
    return subject[:200], "\n".join(lines)

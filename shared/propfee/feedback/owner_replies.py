"""A department's answer to the owner who wrote, on the channel they wrote on. Mainland SMS providers (Aliyun,
Tencent) send approved templates only, so a clerk's free text cannot go there: the owner gets the approved "your
ticket has an answer" text naming their unit's bill link, and the bill page shows the answer itself. An owner who
wrote from a number of no unit has no bill page: answered by phone only. WeChat and email carry the words."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from propfee.collection.messages import render_reply, reply_subject, reply_template
from propfee.domain.identity import CompanyIdentity
from propfee.domain.models import Ticket
from propfee.domain.ports import EmailSender, ProviderRejected, ProviderUnavailable, SmsSender
from propfee.feedback.intents import Department
from propfee.feedback.responses import FeedbackRules
from propfee.feedback.ticketing import ReplyResult

ANSWERED = "reply_ticket_answered"  # templates/reply_ticket_answered.*.sms.j2, approved in approved_sms.yaml
WECHAT_WINDOW_CLOSED = "wechat 45015"  # WeChat refuses customer-service messages 48 h after the owner's last one


class ReplyRoute(StrEnum):
    TEMPLATE = "template"  # mainland SMS: the approved "answered" text with the unit's bill link
    TEXT = "text"  # SMS through a provider that sends free text (an international number, AWS)
    WECHAT = "wechat"  # a customer-service message in the official account's chat
    EMAIL = "email"
    PHONE_ONLY = "phone_only"  # mainland SMS to a number of no unit: no bill page to point to


def route_reply(ticket: Ticket, mainland_sms: bool, bill_page: bool) -> ReplyRoute:
    """How an answer reaches the ticket's owner. `mainland_sms`: the rules send SMS through Aliyun or Tencent;
    `bill_page`: the stack has a bill page to link to."""
    if ticket.channel == "wechat":
        return ReplyRoute.WECHAT
    if ticket.channel == "email":
        return ReplyRoute.EMAIL
    if not mainland_sms or not ticket.contact.startswith("+86"):
        return ReplyRoute.TEXT
    return ReplyRoute.TEMPLATE if ticket.unit_ids and bill_page else ReplyRoute.PHONE_ONLY


def answer_language(ticket: Ticket) -> str:
    """The owner's words in Latin letters only: answered in English, else in Chinese."""
    return "en" if ticket.message.isascii() else "zh-CN"


class ReplyRules(Protocol):
    def identity_for(self, community_id: str) -> CompanyIdentity: ...

    def feedback_for(self, community_id: str) -> FeedbackRules: ...


class ReplyWindow(Protocol):
    """feedback.receiving.Receiver: whether an answer may go now (lawful hours, holidays too)."""

    def reply_window_opens(self, community_id: str, now: datetime) -> bool: ...


class IssuedLink(Protocol):
    @property
    def token(self) -> str: ...


class AnswerLinks(Protocol):
    """payments.links.BillLinks: the unit's current bill link, or a new one."""

    def issue(self, unit_id: str, community_id: str, now: datetime) -> IssuedLink: ...

    def url(self, link: Any) -> str: ...  # the link issue() gave


class WechatText(Protocol):
    def send_text(self, openid: str, text: str) -> str: ...


class OwnerReplier:
    """feedback.ticketing.OwnerReplies over the acknowledgements' senders and the bill links."""

    def __init__(
        self,
        window: ReplyWindow,
        rules: ReplyRules,
        sms: SmsSender,
        email: EmailSender,
        wechat: WechatText | None,
        bill_links: AnswerLinks | None,
        mainland_sms: bool,
    ) -> None:
        self._window = window
        self._rules = rules
        self._sms = sms
        self._email = email
        self._wechat = wechat
        self._links = bill_links
        self._mainland = mainland_sms

    def reply_to_owner(self, ticket: Ticket, text: str, now: datetime) -> str:
        return self.answer(ticket, text, now).outcome

    def answer(self, ticket: Ticket, text: str, now: datetime) -> ReplyResult:
        """ "sent", "outside_window" (nothing sent: the caller queues it), "phone_only" (nothing sent, nothing to
        queue), "wechat_window_closed" (WeChat's 48 hours are over) or "failed" (the provider refused)."""
        route = route_reply(ticket, self._mainland, self._links is not None)
        if route is ReplyRoute.PHONE_ONLY:
            return ReplyResult("phone_only", route.value)
        if not self._window.reply_window_opens(ticket.community_id, now):
            return ReplyResult("outside_window", route.value)
        context = {"reply_to": ticket.ticket_id}
        sent_text, template = text, None
        try:
            if route is ReplyRoute.WECHAT:
                if self._wechat is None:
                    raise ProviderUnavailable("no WeChat official account is configured")
                message_id = self._wechat.send_text(ticket.contact.removeprefix("wechat:"), text)
            elif route is ReplyRoute.EMAIL:
                identity = self._rules.identity_for(ticket.community_id)
                message_id = self._email.send_email(ticket.contact, reply_subject(identity, "zh-CN"), text, context)
            elif route is ReplyRoute.TEMPLATE:
                sent_text, template, message_id = self._answered(ticket, now, context)
            else:
                message_id = self._sms.send_sms(ticket.contact, text, context)
        except (ProviderRejected, ProviderUnavailable) as error:
            closed = route is ReplyRoute.WECHAT and WECHAT_WINDOW_CLOSED in str(error)
            return ReplyResult("wechat_window_closed" if closed else "failed", route.value)
        return ReplyResult("sent", route.value, sent_text, template, message_id)

    def _answered(self, ticket: Ticket, now: datetime, context: dict[str, str]) -> tuple[str, str, str]:
        """The approved "answered" SMS naming the first unit's bill link (the current one, or a new one)."""
        assert self._links is not None
        link = self._links.issue(ticket.unit_ids[0], ticket.community_id, now)
        prefix = self._links.url(link).removesuffix(link.token)  # the address, as the approved text spells it
        language = answer_language(ticket)
        identity = self._rules.identity_for(ticket.community_id)
        department = self._rules.feedback_for(ticket.community_id).departments[Department(ticket.department)]
        values = {
            "ticket_id": ticket.ticket_id,
            "department": department.name_in(language),
            "bill_link_prefix": prefix,
            "bill_token": link.token,
        }
        body = render_reply(ANSWERED, language, values, identity)
        template = reply_template(ANSWERED, language, values, identity)
        return body, ANSWERED, self._sms.send_sms(ticket.contact, body, context, template)

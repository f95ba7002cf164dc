"""Builds the domain services from settings and adapters: the one composition root of the functions."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from propfee.aws.dynamo_payments import PaymentsTable
from propfee.aws.fanout import LambdaFanOut
from propfee.aws.feedback import FeedbackTable
from propfee.aws.messaging import EndUserMessagingSms, SesEmail, SnsSms, TicketInboxes
from propfee.aws.queue import DeadLetterDepths, SqsDeadLetters, SqsJobQueue
from propfee.aws.secrets import SecretsManagerJson, read_secret
from propfee.aws.storage import OriginalMessages, S3Store
from propfee.aws.web_secret import SecretBytes
from propfee.collection.sending import Sender
from propfee.console.clerk import ClerkDesk
from propfee.console.collector import CollectorDesk
from propfee.console.http import ConsoleHttp
from propfee.console.managers import ManagerDesk
from propfee.console.meeting import MeetingDesk
from propfee.console.oversight import OversightDesk
from propfee.console.units import UnitDesk
from propfee.domain import clock
from propfee.domain.config import Settings
from propfee.domain.identity import CompanyIdentity
from propfee.domain.models import InboundMessage, Ticket
from propfee.domain.ports import SmsSender
from propfee.feedback.intents import Department
from propfee.feedback.owner_replies import OwnerReplier
from propfee.feedback.receiving import Receiver, ReceiveResult, keep_sms_whole
from propfee.feedback.sms_callbacks import TencentPull
from propfee.feedback.ticketing import ReplyResult
from propfee.payments.bill_http import BillHttp
from propfee.payments.bill_page import BillPage
from propfee.payments.effects import PaymentEffects
from propfee.payments.links import BillLinks
from propfee.payments.ports import PaymentProvider, ProviderName
from propfee.payments.receipt_messages import ReceiptMessages
from propfee.providers.alipay import AlipayConfig, AlipayProvider
from propfee.providers.wechat_pay import WeChatPayConfig, WeChatPayProvider
from propfee.rules import CollectionRules, rules_for
from propfee.web.limits import RateLimiter, RateLimits

if TYPE_CHECKING:
    from propfee.providers.wechat_official import WechatOfficial  # wechatpy only where the account is used

# Where a payment provider plugs in beside the configured ones: its name -> how to build its adapter from the
# services. The bill page offers the providers whose merchant secret is configured (PROPFEE_WECHAT_PAY_SECRET,
# PROPFEE_ALIPAY_SECRET) and those registered here (tests register an in-memory fake).
PAYMENT_PROVIDERS: dict[ProviderName, Callable[[Services], PaymentProvider]] = {}


def configured_providers(settings: Settings) -> tuple[ProviderName, ...]:
    """The providers the operator has turned on (ONLINE_PAYMENT_PROVIDERS) whose merchant secret the function's
    settings name."""
    secrets = {ProviderName.WECHAT_PAY: settings.wechat_pay_secret, ProviderName.ALIPAY: settings.alipay_secret}
    return tuple(name for name in ProviderName if secrets[name] and name.value in settings.online_payment_providers)


class OfferedProviders(Mapping[ProviderName, PaymentProvider]):
    """The bill page's providers by name; an adapter (and its merchant keys) is built on first use, so showing a
    bill reads no secret."""

    def __init__(self, names: tuple[ProviderName, ...], build: Callable[[ProviderName], PaymentProvider]) -> None:
        self._names = names
        self._build = build

    def __getitem__(self, name: ProviderName) -> PaymentProvider:
        if name not in self._names:
            raise KeyError(name)
        return self._build(name)

    def __iter__(self) -> Iterator[ProviderName]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


@dataclass
class Services:
    settings: Settings

    @classmethod
    def from_environment(cls) -> Services:
        return cls(Settings())  # type: ignore[call-arg]

    @cached_property
    def table(self) -> FeedbackTable:
        return FeedbackTable(self.settings.table, self.settings.tz, allocation=self.rules.billing.allocation)

    @cached_property
    def send_queue(self) -> SqsJobQueue:
        return SqsJobQueue(self.settings.require("send_queue_url"))

    @cached_property
    def plan_fan_out(self) -> LambdaFanOut:
        return LambdaFanOut(self.settings.require("function_name"))  # the plan function invokes itself

    @cached_property
    def dead_letters(self) -> SqsDeadLetters:
        return SqsDeadLetters(self.settings.require("dlq_url"))

    @cached_property
    def dead_letter_depths(self) -> DeadLetterDepths:
        return DeadLetterDepths(self.settings.dlq_urls)

    @cached_property
    def reports(self) -> S3Store:
        return S3Store(self.settings.require("report_bucket"))

    def bucket(self, name: str) -> S3Store:
        """A bucket an event names (an upload's): the function's role says which it may read."""
        return S3Store(name)

    @cached_property
    def originals(self) -> OriginalMessages:
        return OriginalMessages(self.settings.require("inbound_bucket"))

    @cached_property
    def rules(self) -> CollectionRules:
        return rules_for(self.settings)  # refused in a deployed stack while the identity has placeholders

    @cached_property
    def identity(self) -> CompanyIdentity:
        """The company's own identity (staff messages speak for the company, not one community). The rules file
        carries it once issue 16's identity lands (`identity_for`); the placeholders until then."""
        identity_for = getattr(self.rules, "identity_for", None)
        return identity_for("*") if identity_for is not None else CompanyIdentity()

    @cached_property
    def sms(self) -> SmsSender:
        """The rules' SMS provider, and those to fail over to (propfee.providers.sms_failover)."""
        chain = self.rules.sms.chain()
        if chain == ("aws",):
            return self._aws_sms()
        from propfee.providers.sms_failover import FailoverSms

        senders = [(name, self._sms_provider(name)) for name in chain]
        return senders[0][1] if len(senders) == 1 else FailoverSms(senders)

    def _aws_sms(self) -> SmsSender:
        if self.settings.sms_provider == "end_user_messaging":
            return EndUserMessagingSms(
                self.settings.require("sms_origination_identity"), self.settings.sms_configuration_set
            )
        return SnsSms()

    def _sms_provider(self, name: str) -> SmsSender:
        from propfee.collection.approved_sms import load_approved

        routing, endpoint = self.rules.sms, self.settings.sms_endpoints.get(name)
        approved = load_approved(self.rules.approved_sms_file(self.settings.rules_file))
        if name == "aliyun":
            from propfee.providers.aliyun_sms import AliyunSms

            assert routing.aliyun is not None  # SmsRouting refuses a chain naming a provider without its account
            keys = self.secrets.read(routing.aliyun.secret, ("access_key_id", "access_key_secret"))
            return AliyunSms(keys, endpoint, approved)
        if name == "tencent":
            from propfee.providers.tencent_sms import TencentSms

            assert routing.tencent is not None
            keys = self.secrets.read(routing.tencent.secret, ("secret_id", "secret_key"))
            account = routing.tencent
            return TencentSms(keys, account.sms_sdk_app_id, account.region, endpoint, approved)
        return self._aws_sms()

    @cached_property
    def wechat(self) -> WechatOfficial | None:
        """The rules' WeChat official account; its keys read from Secrets Manager on first use."""
        account = self.rules.wechat
        if account is None:
            return None
        from propfee.providers.wechat_official import CREDENTIAL_KEYS, WechatOfficial

        return WechatOfficial(
            account.app_id,
            lambda: self.secrets.read(account.secret, CREDENTIAL_KEYS),
            base_url=self.settings.wechat_base_url,
        )

    @cached_property
    def wechat_callbacks(self) -> WechatCallbacks:
        return WechatCallbacks(self)

    @cached_property
    def sms_callbacks(self) -> SmsCallbackServices:
        """What the mainland SMS providers' pushes need; the callback token is read on the first push."""
        return SmsCallbackServices(self, SecretBytes(self.settings.require("sms_callback_token_secret")))

    @cached_property
    def secrets(self) -> SecretsManagerJson:
        return SecretsManagerJson()

    @cached_property
    def email(self) -> SesEmail:
        return SesEmail(self.settings.require("sender_email"), configuration_set=self.settings.ses_configuration_set)

    @cached_property
    def bill_links(self) -> BillLinks | None:
        """The owners' bill links, when the stack has a public base URL for the bill page."""
        if not self.settings.public_base_url:
            return None
        lifetime = timedelta(days=self.settings.bill_link_days)
        return BillLinks(self.table, self.settings.public_base_url, lifetime)

    @cached_property
    def sender(self) -> Sender:
        letters = self.reports if self.settings.report_bucket else None
        sms_links = not self.rules.sms.mainland()  # mainland SMS: only the approved texts, which carry no link yet
        wechat = self.rules.wechat
        return Sender(
            self.settings, self.table, self.sms, self.email, self.rules, letters, self.bill_links, sms_links,
            wechat=self.wechat, wechat_templates=wechat.templates if wechat else None,
        )  # fmt: skip

    @cached_property
    def payment_providers(self) -> OfferedProviders:
        """Those registered in PAYMENT_PROVIDERS and those configured, in ProviderName's order."""
        configured = configured_providers(self.settings)
        names = tuple(n for n in ProviderName if n in PAYMENT_PROVIDERS or n in configured)
        return OfferedProviders(names, self.payment_provider)

    @cached_property
    def bill_http(self) -> BillHttp:
        """The owners' bill page behind the HTTP API."""
        links = self.bill_links
        if links is None:
            raise RuntimeError("PROPFEE_PUBLIC_BASE_URL is not set for this function")
        page = BillPage(
            links,
            self.table,
            self.payment_providers,
            self.receiver,
            self.rules,
            orders=self.payments_table,
            receipts=self.payments_table,
            receipt_files=self.reports if self.settings.report_bucket else None,
            font=self.settings.letter_font,
        )
        secret = SecretBytes(self.settings.require("web_secret_arn"))
        # set in the sandbox only: the cashiers' and the account's OAuth (a pay button inside WeChat goes there)
        gateways = (self.settings.wechat_pay_gateway, self.settings.alipay_gateway, self.settings.wechat_base_url)
        origins = tuple("/".join(g.split("/", 3)[:3]) for g in gateways if g)
        binder = jsapi = None
        if self.wechat is not None:
            from propfee.payments.wechat_bind import WechatBinder
            from propfee.payments.wechat_jsapi import WechatJsapi

            binder = WechatBinder(self.wechat, self.table, self.settings.public_base_url or "")
            if ProviderName.WECHAT_PAY in self.payment_providers:
                jsapi = WechatJsapi(self.wechat, self.settings.public_base_url or "", self._jsapi_offered)
        return BillHttp(page, RateLimiter(self.table), secret, self.settings.tz, origins, binder, jsapi)

    def _jsapi_offered(self) -> bool:
        """JSAPI inside WeChat only when the official account's app id is WeChat Pay's appid (an openid is per app
        id); read on the first payment inside WeChat, from WeChat Pay's merchant secret."""
        account = self.wechat
        app_id = getattr(self.payment_provider(ProviderName.WECHAT_PAY), "app_id", None)
        return account is not None and app_id == account.app_id

    @cached_property
    def console_http(self) -> ConsoleHttp:
        """The staff console behind the HTTP API (sign-in through the user pool's app client)."""
        from propfee.aws.cognito import CognitoSignIn

        secret = SecretBytes(self.settings.require("web_secret_arn"))
        sign_in = CognitoSignIn(self.settings.require("staff_client_id"))
        # a person mistyping a few times is far below this; a guesser of passwords is not
        limiter = RateLimiter(self.table, RateLimits(per_token=10, per_source=60))
        company = self.settings.company_name
        clerks = ClerkDesk(self.table, _ReceiverReplies(self), self._department_names)  # answers to owners
        depths = self.dead_letter_depths.depths if self.settings.dlq_urls else None
        managers = ManagerDesk(self.table, self.reports if self.settings.report_bucket else None, depths)
        return ConsoleHttp(
            CollectorDesk(self.table), sign_in, limiter, secret, self.settings.tz, company, clerks=clerks,
            managers=managers, oversight=OversightDesk(self.table, lambda: self.rules, self.settings.tz),
            units=UnitDesk(self.table, self.reports if self.settings.report_bucket else None),
            meeting=MeetingDesk(self.table, self.reports if self.settings.report_bucket else None),
        )  # fmt: skip

    @cached_property
    def ticket_inboxes(self) -> TicketInboxes:
        return TicketInboxes(self.email, self.settings.department_queues)

    @cached_property
    def receiver(self) -> Receiver:
        return Receiver(self.settings, self.table, self.sms, self.email, self.ticket_inboxes, self.rules, self.wechat)

    def _department_names(self, community_id: str, department: str) -> tuple[str, str] | None:
        contact = self.rules.feedback_for(community_id).departments.get(Department(department))
        return (contact.name, contact.name_en or contact.name) if contact else None

    @cached_property
    def owner_replies(self) -> OwnerReplier:
        """A clerk's answers to owners (feedback.owner_replies): mainland SMS as the approved "answered" template."""
        mainland = bool(self.rules.sms.mainland())
        return OwnerReplier(self.receiver, self.rules, self.sms, self.email, self.wechat, self.bill_links, mainland)

    @cached_property
    def payments_table(self) -> PaymentsTable:
        return PaymentsTable(self.settings.table, self.settings.tz, allocation=self.rules.billing.allocation)

    @cached_property
    def payment_effects(self) -> PaymentEffects | None:
        """E-receipts (and their message to the owner), when the function has a bucket and the bill page's URL."""
        if not (self.settings.report_bucket and self.settings.public_base_url):
            return None
        return PaymentEffects(
            records=self.payments_table,
            files=self.reports,
            identities=self.rules,
            font=self.settings.letter_font,
            base_url=self.settings.public_base_url,
            tz=self.settings.tz,
            messenger=self.receipt_messages,
            ladders=self.rules,
            task_making_steps=frozenset(
                step.step_id
                for ladder in (self.rules.ladder, *(c.ladder for c in self.rules.communities.values() if c.ladder))
                for step in ladder.steps
                if any(channel.is_task for channel in step.channels)
            ),
        )

    @cached_property
    def receipt_messages(self) -> ReceiptMessages | None:
        """The receipt's link by email (mainland SMS has no approved receipt template; none by SMS for now)."""
        if not self.settings.sender_email:
            return None
        return ReceiptMessages(self.payments_table, self.rules, self.settings.tz, email=self.email)

    def payment_provider(self, name: ProviderName) -> PaymentProvider:
        """The provider's adapter (a registered one first), its merchant keys read from Secrets Manager once per
        container."""
        if name not in self._providers:
            registered = PAYMENT_PROVIDERS.get(name)
            self._providers[name] = registered(self) if registered else build_payment_provider(self.settings, name)
        return self._providers[name]

    @cached_property
    def _providers(self) -> dict[ProviderName, PaymentProvider]:
        return {}


def build_payment_provider(settings: Settings, name: ProviderName) -> PaymentProvider:
    """The wiring hook: a PaymentProvider from settings (secret ids, notify base, the sandbox's gateways)."""
    notify_url = f"{settings.require('payment_notify_base_url').rstrip('/')}/notify/{name.value}"
    if name is ProviderName.WECHAT_PAY:
        fields = read_secret(settings.require("wechat_pay_secret"))
        return WeChatPayProvider(
            WeChatPayConfig.from_secret(fields, notify_url, settings.wechat_pay_gateway), clock.now
        )
    fields = read_secret(settings.require("alipay_secret"))
    return AlipayProvider(AlipayConfig.from_secret(fields, notify_url, settings.alipay_gateway), clock.now)


@dataclass
class _Pushes:
    """What a provider's pushes of owners' messages need: the table, the receive flow, the rejects."""

    services: Services

    def store(self) -> FeedbackTable:
        return self.services.table

    def receive(self, message: InboundMessage, raw: str, now: datetime) -> ReceiveResult:
        """The push kept whole under incoming/sms/ (a WeChat push decrypted) before it is acted on."""
        svc = self.services
        return svc.receiver.receive(keep_sms_whole(message, raw, now, svc.originals), now)

    def reject(self, body: str, reason: str) -> None:
        self.services.dead_letters.reject(body, reason)


@dataclass
class SmsCallbackServices(_Pushes):
    """feedback.sms_callbacks.CallbackServices from the services."""

    token: Callable[[], bytes]

    def tencent(self) -> TencentPull | None:
        """The rules' Tencent account, to pull from; None when the rules name no Tencent account."""
        if "tencent" not in self.services.rules.sms.chain():
            return None
        return self.services._sms_provider("tencent")  # type: ignore[return-value]


@dataclass
class WechatCallbacks(_Pushes):
    """feedback.wechat_callbacks.WechatCallbackServices from the services."""

    def inbox(self) -> WechatOfficial:
        if self.services.wechat is None:
            raise RuntimeError("the rules have no wechat: account")
        return self.services.wechat


class LazyServices:
    """Each function module holds one: services are built on the first invocation, from that
    function's own environment, and reused while the execution environment lives."""

    def __init__(self) -> None:
        self._services: Services | None = None

    def __call__(self) -> Services:
        if self._services is None:
            self._services = Services.from_environment()
        return self._services


class _ReceiverReplies:
    """The receiver's send path, built on a clerk's first reply (the other pages need no sender configured)."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def answer(self, ticket: Ticket, text: str, now: datetime) -> ReplyResult:
        return self._services.owner_replies.answer(ticket, text, now)

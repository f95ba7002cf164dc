"""Settings read once from the environment (the SAM template sets them); bad values fail fast."""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from propfee.domain.identity import CommunityIdentity

_BASE_URL = re.compile(r"^(https://[A-Za-z0-9.-]+|http://127\.0\.0\.1:\d+)$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROPFEE_", frozen=True, extra="ignore")

    table: str = Field(min_length=1)
    timezone: str = "Asia/Shanghai"
    send_queue_url: str | None = None
    function_name: str | None = Field(default=None, validation_alias="AWS_LAMBDA_FUNCTION_NAME")  # set by Lambda
    dlq_url: str | None = None
    dlq_urls: dict[str, str] = {}  # DLQ name -> URL, whose depths the daily report shows (JSON)
    report_bucket: str | None = None
    inbound_bucket: str | None = None  # owners' messages kept whole (receive writes SMS under incoming/sms/)
    # how long the managers' presigned report links work: SigV4 allows at most 7 days, and a link signed with a
    # role's session credentials (Lambda's) stops working when that session ends, whichever comes first
    report_link_expiry_seconds: int = Field(default=86_400, ge=60, le=604_800)
    sender_email: str | None = None
    # SES configuration set named on every send: its event destination publishes bounces, complaints and
    # deliveries to the delivery-events topic
    ses_configuration_set: str | None = None
    department_queues: dict[str, str] = {}  # department -> queue URL: tickets for integrations (JSON)
    sms_provider: Literal["sns", "end_user_messaging"] = "sns"
    sms_origination_identity: str | None = None  # End User Messaging: sender ID, phone number or pool
    sms_configuration_set: str | None = None
    # online payments: the Secrets Manager ids of the merchants' keys (JSON; never the keys themselves), the public
    # base of the notify URLs (<base>/notify/<provider>), and the emulators' addresses in the sandbox only
    wechat_pay_secret: str | None = None
    alipay_secret: str | None = None
    # the providers the bill page offers (comma-separated in the environment): the operator names one once its
    # merchant secret holds the keys, so that a fresh deploy never shows a button that ends in an error
    online_payment_providers: Annotated[tuple[Literal["wechat_pay", "alipay"], ...], NoDecode] = ()
    payment_notify_base_url: str | None = None
    wechat_pay_gateway: str | None = None
    alipay_gateway: str | None = None
    # the mainland SMS providers' host:port where the sandbox's emulators listen (JSON {"aliyun": ..., "tencent":
    # ...}); unset: the providers' own endpoints over HTTPS. Which provider sends is the rules file's `sms:`
    sms_endpoints: dict[str, str] = {}
    # Secrets Manager: the token in the mainland SMS providers' callback URLs (neither provider signs its pushes)
    sms_callback_token_secret: str | None = None
    # the WeChat official account's API and OAuth base (the sandbox's emulator); unset: WeChat's own over HTTPS
    wechat_base_url: str | None = Field(default=None, pattern=r"^http://127\.0\.0\.1:\d+$")
    rules_file: Path | None = None  # the packaged rules.yaml when unset
    letter_font: Path | None = None  # a CJK .ttf/.ttc for demand letters; see propfee.collection.letters for defaults
    # the company's identity as the template's parameters give it (CompanyName, SmsSignature, ...); empty: not
    # set there. The rules file's `company:` fields win over these (propfee.rules.CollectionRules.with_parameters)
    # the bill page's public base URL (the HTTP API's own URL or a short custom domain: it goes into every SMS,
    # whose length check measures it); empty: reminders carry no bill link
    public_base_url: str | None = Field(default=None, pattern=r"^(https://[A-Za-z0-9.-]+|http://127\.0\.0\.1:\d+)$")
    # the console's public base (the HTTP API's URL): the department's ticket email links to the ticket page. Not
    # refused when malformed (moto's CloudFormation leaves ${PropfeeHttpApi} unresolved): `console_url` drops it
    console_base_url: str | None = None
    staff_client_id: str | None = None  # the console's Cognito app client (its sign-in form calls InitiateAuth)
    web_secret_arn: str | None = None  # Secrets Manager: the key that signs the web pages' form tokens
    bill_link_days: int = Field(default=45, ge=1, le=366)
    company_name: str = ""
    company_name_en: str = ""
    sms_signature: str = ""
    hotline: str = ""
    pay_instructions: str = ""
    pay_instructions_en: str = ""
    company_address: str = ""
    company_address_en: str = ""

    @field_validator("public_base_url", "console_base_url", "web_secret_arn", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value  # a template parameter left empty

    @field_validator("online_payment_providers", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):  # a template parameter: "", "alipay" or "wechat_pay,alipay"
            return tuple(name.strip() for name in value.split(",") if name.strip())
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown timezone {value!r}") from error
        return value

    @property
    def console_url(self) -> str | None:
        """The console's base when it is a usable one (what the ticket email may link to), else None."""
        base = self.console_base_url
        return base.rstrip("/") if base and _BASE_URL.match(base.rstrip("/")) else None

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def deployed(self) -> bool:
        """Running as a function of a stack (Lambda sets its name; the sandbox, which deploys the same template,
        too): the company must have configured itself. The CLI, the tests and the simulation do not count."""
        return bool(self.function_name)

    @property
    def identity_parameters(self) -> CommunityIdentity:
        """The identity fields the template's parameters set (the empty ones left unset)."""
        pay = {
            lang: text for lang, text in (("zh-CN", self.pay_instructions), ("en", self.pay_instructions_en)) if text
        }
        fields = {
            "name": self.company_name,
            "name_en": self.company_name_en,
            "sms_signature": self.sms_signature,
            "hotline": self.hotline,
            "address": self.company_address,
            "address_en": self.company_address_en,
        }
        return CommunityIdentity(**{k: v for k, v in fields.items() if v}, pay_instructions=pay or None)

    def require(self, name: str) -> str:
        """A setting this function cannot work without (e.g. the queue URL for plan)."""
        value = getattr(self, name)
        if not value:
            raise RuntimeError(f"PROPFEE_{name.upper()} is not set for this function")
        return str(value)

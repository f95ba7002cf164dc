"""Which SMS provider a company sends through (rules file `sms:`), the next ones to try, and their accounts."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SmsProviderName = Literal["aws", "aliyun", "tencent"]


class AliyunAccount(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # the Secrets Manager secret holding {"access_key_id", "access_key_secret"} (a RAM user allowed dysmsapi only)
    secret: str = Field(min_length=1)


class TencentAccount(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    secret: str = Field(min_length=1)  # the Secrets Manager secret holding {"secret_id", "secret_key"}
    sms_sdk_app_id: str = Field(pattern=r"^\d{10}$")  # the SMS application (SdkAppId), not a secret
    region: str = "ap-guangzhou"


class SmsRouting(BaseModel):
    """`provider` sends; each of `failover` is tried in turn only when the one before refused the message or was
    never reached (never on an unknown outcome). The signature is the identity's `sms_signature`; the approved
    templates are propfee/templates/approved_sms.yaml unless `approved_templates` names a file next to the rules."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: SmsProviderName = "aws"
    failover: tuple[SmsProviderName, ...] = ()
    aliyun: AliyunAccount | None = None
    tencent: TencentAccount | None = None
    approved_templates: str | None = None

    @model_validator(mode="after")
    def _each_provider_once_with_its_account(self) -> SmsRouting:
        chain = self.chain()
        if len(set(chain)) != len(chain):
            raise ValueError(f"sms: a provider is named twice in {list(chain)}")
        for name in chain:
            if name != "aws" and getattr(self, name) is None:
                raise ValueError(f"sms: {name} is chosen but sms.{name} (its account) is not configured")
        return self

    def chain(self) -> tuple[SmsProviderName, ...]:
        return (self.provider, *self.failover)

    def mainland(self) -> tuple[Literal["aliyun", "tencent"], ...]:
        """The providers in the chain that send approved templates."""
        return tuple(name for name in self.chain() if name != "aws")  # type: ignore[misc]

"""Aliyun SMS (dysmsapi 2017-05-25, SendSms): an approved template's code and variables, the claim as OutId."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from alibabacloud_dysmsapi20170525 import models as dysms
from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_tea_openapi.models import Config

from propfee.collection.approved_sms import ApprovedSms, load_approved, prepare
from propfee.domain.ports import ProviderOutcomeUnknown, ProviderRejected, ProviderUnavailable, SmsTemplate
from propfee.providers.sms_errors import never_reached

ENDPOINT = "dysmsapi.aliyuncs.com"
# answers that mean "not accepted now, may be accepted later": throttled, balance, the provider's own fault
UNAVAILABLE = {
    "isv.BUSINESS_LIMIT_CONTROL",
    "isv.AMOUNT_NOT_ENOUGH",
    "isp.SYSTEM_ERROR",
    "isp.RAM_PERMISSION_DENY",
    "Throttling",
    "Throttling.User",
    "Throttling.Api",
    "ServiceUnavailable",
    "InternalError",
}


def outcome(code: str, message: str = "") -> Exception:
    """An Aliyun error code as the send flow reads it: refused for good (isv.* naming the request, a bad
    signature or key) or not accepted now."""
    reason = f"aliyun {code}" + (f": {message[:200]}" if message else "")
    if code in UNAVAILABLE or code.startswith("Throttling") or code.startswith("isp."):
        return ProviderUnavailable(reason)
    return ProviderRejected(reason)


class AliyunSms:
    """Sends through dysmsapi; refuses (ProviderRejected) before sending what the approved templates do not allow.
    `credentials` is {"access_key_id", "access_key_secret"} (from Secrets Manager; never logged)."""

    name = "aliyun"

    def __init__(
        self,
        credentials: Mapping[str, str],
        endpoint: str | None = None,
        approved: ApprovedSms | None = None,
        client_: Any | None = None,
        read_timeout_ms: int = 10_000,
    ) -> None:
        self._read_timeout = read_timeout_ms
        self._credentials = credentials
        self._endpoint = endpoint
        self._approved = approved or load_approved()
        self._client_instance = client_

    def _client(self) -> Any:
        """The one place the endpoint is set: Aliyun's own, or a local emulator's host:port over plain HTTP."""
        if self._client_instance is None:
            config = Config(
                access_key_id=self._credentials["access_key_id"],
                access_key_secret=self._credentials["access_key_secret"],
                endpoint=self._endpoint or ENDPOINT,
                protocol="http" if self._endpoint else "https",
                connect_timeout=5_000,
                read_timeout=self._read_timeout,
            )
            self._client_instance = Client(config)
        return self._client_instance

    def send_sms(
        self, phone: str, body: str, context: dict[str, str] | None = None, template: SmsTemplate | None = None
    ) -> str:
        prepared = prepare("aliyun", self._approved, body, template)
        request = dysms.SendSmsRequest(
            phone_numbers=domestic(phone),
            sign_name=prepared.sign_name,
            template_code=prepared.code,
            template_param=json.dumps(prepared.parameters, ensure_ascii=False),
            out_id=out_id(context),
        )
        try:
            response = self._client().send_sms(request)
        except Exception as error:
            raise _mapped(error) from error
        answer = response.body
        if answer.code != "OK":
            raise outcome(str(answer.code), str(answer.message or ""))
        return f"aliyun:{answer.biz_id}"

    def find_sent(self, phone: str, day: date, context: Mapping[str, str]) -> list[SentDetail]:
        """What Aliyun sent to this number that day with this claim (QuerySendDetails, kept 30 days): how a person
        settles an unconfirmed claim. Empty: Aliyun has no such message, it may be sent again."""
        wanted, found, page = out_id(context), [], 1
        while True:
            request = dysms.QuerySendDetailsRequest(
                phone_number=domestic(phone), send_date=f"{day:%Y%m%d}", page_size=50, current_page=page
            )
            try:
                answer = self._client().query_send_details(request).body
            except Exception as error:
                raise _mapped(error) from error
            if answer.code != "OK":
                raise outcome(str(answer.code), str(answer.message or ""))
            details = answer.sms_send_detail_dtos.sms_send_detail_dto if answer.sms_send_detail_dtos else []
            found += [
                SentDetail(str(d.content or ""), SEND_STATUS.get(int(d.send_status or 0), "unknown"), str(d.err_code))
                for d in details
                if d.out_id == wanted
            ]
            if len(details) < 50:
                return found
            page += 1


# QuerySendDetails' SendStatus
SEND_STATUS = {1: "waiting", 2: "failed", 3: "delivered"}


@dataclass(frozen=True)
class SentDetail:
    text: str
    status: str
    err_code: str


def _mapped(error: Exception) -> Exception:
    code = getattr(error, "code", None)
    if code and getattr(error, "status_code", None):  # the provider answered with an error
        return outcome(str(code), str(getattr(error, "message", "")))
    if never_reached(error):
        return ProviderUnavailable(f"aliyun not reached: {type(error).__name__}")
    return ProviderOutcomeUnknown(f"aliyun: no answer ({type(error).__name__}); the message may have been sent")


def domestic(phone: str) -> str:
    """A mainland number as dysmsapi takes it (without +86); others keep their country code without the +."""
    digits = phone.replace(" ", "").replace("-", "")
    if digits.startswith("+86"):
        return digits[3:]
    return digits.lstrip("+")


def out_id(context: Mapping[str, str] | None) -> str | None:
    """The claim travels as OutId and comes back in the receipt (dysmsapi allows 256 characters)."""
    if not context:
        return None
    return "|".join(f"{k}={v}" for k, v in sorted(context.items()))[:256]

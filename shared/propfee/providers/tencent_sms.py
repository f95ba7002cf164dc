"""Tencent Cloud SMS (SendSms v20210111): an approved template's id and variables, the claim as SessionContext."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models, sms_client

from propfee.collection.approved_sms import ApprovedSms, load_approved, prepare
from propfee.domain.ports import ProviderOutcomeUnknown, ProviderRejected, ProviderUnavailable, SmsTemplate
from propfee.providers.sms_errors import never_reached

ENDPOINT = "sms.tencentcloudapi.com"
# not accepted now, may be later: throttled, the package used up, the provider's own fault
UNAVAILABLE_PREFIXES = ("RequestLimitExceeded", "InternalError", "ResourceUnavailable")
UNAVAILABLE = {
    "FailedOperation.InsufficientBalanceInSmsPackage",
    "LimitExceeded.AppCountryOrRegionDailyLimit",
    "LimitExceeded.AppDailyLimit",
    "LimitExceeded.DeliveryFrequencyLimit",
    "LimitExceeded.PhoneNumberThirtySecondLimit",
    "LimitExceeded.PhoneNumberOneHourLimit",
}


def outcome(code: str, message: str = "") -> Exception:
    """A Tencent error code as the send flow reads it: refused for good (the request's fault: parameters, template,
    signature, number, authentication) or not accepted now."""
    reason = f"tencent {code}" + (f": {message[:200]}" if message else "")
    if code in UNAVAILABLE or code.startswith(UNAVAILABLE_PREFIXES):
        return ProviderUnavailable(reason)
    return ProviderRejected(reason)


class TencentSms:
    """Sends through Tencent Cloud SMS; refuses (ProviderRejected) before sending what the approved templates do not
    allow. `credentials` is {"secret_id", "secret_key"} (from Secrets Manager; never logged)."""

    name = "tencent"

    def __init__(
        self,
        credentials: Mapping[str, str],
        sdk_app_id: str,
        region: str = "ap-guangzhou",
        endpoint: str | None = None,
        approved: ApprovedSms | None = None,
        timeout_seconds: int = 10,
    ) -> None:
        self._credentials = credentials
        self._timeout = timeout_seconds
        self._sdk_app_id = sdk_app_id
        self._region = region
        self._endpoint = endpoint
        self._approved = approved or load_approved()
        self._client_instance: Any | None = None

    def _client(self) -> Any:
        """The one place the endpoint is set: Tencent's own, or a local emulator's host:port over plain HTTP."""
        if self._client_instance is None:
            http = HttpProfile(
                endpoint=self._endpoint or ENDPOINT,
                protocol="http" if self._endpoint else "https",
                reqTimeout=self._timeout,
            )
            secret = credential.Credential(self._credentials["secret_id"], self._credentials["secret_key"])
            self._client_instance = sms_client.SmsClient(secret, self._region, ClientProfile(httpProfile=http))
        return self._client_instance

    def send_sms(
        self, phone: str, body: str, context: dict[str, str] | None = None, template: SmsTemplate | None = None
    ) -> str:
        prepared = prepare("tencent", self._approved, body, template)
        assert isinstance(prepared.parameters, list)
        request = models.SendSmsRequest()
        request.PhoneNumberSet = [e164(phone)]
        request.SmsSdkAppId = self._sdk_app_id
        request.SignName = prepared.sign_name
        request.TemplateId = prepared.code
        request.TemplateParamSet = prepared.parameters
        request.SessionContext = session_context(context)
        try:
            response = self._client().SendSms(request)
        except TencentCloudSDKException as error:
            raise _mapped(error) from error
        statuses = response.SendStatusSet or []
        if len(statuses) != 1:
            raise ProviderOutcomeUnknown(f"tencent answered {len(statuses)} results for one number")
        status = statuses[0]
        if status.Code != "Ok":
            raise outcome(str(status.Code), str(status.Message or ""))
        return f"tencent:{status.SerialNo}"


def _mapped(error: TencentCloudSDKException) -> Exception:
    code = str(error.get_code() or "")
    if code == "ServerNetworkError":  # an HTTP error status from a gateway: the request may have gone through
        return ProviderOutcomeUnknown("tencent answered an HTTP error; the message may have been sent")
    if code != "ClientNetworkError":
        return outcome(code, str(error.get_message() or ""))
    if never_reached(error):
        return ProviderUnavailable("tencent not reached")
    return ProviderOutcomeUnknown("tencent: no answer; the message may have been sent")


def e164(phone: str) -> str:
    digits = phone.replace(" ", "").replace("-", "")
    return digits if digits.startswith("+") else f"+86{digits}"


def session_context(context: Mapping[str, str] | None) -> str:
    """The claim travels as SessionContext and comes back in the status report (up to 512 bytes)."""
    text = "|".join(f"{k}={v}" for k, v in sorted((context or {}).items()))
    return text.encode()[:512].decode(errors="ignore")

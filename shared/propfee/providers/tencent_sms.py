"""Tencent Cloud SMS (SendSms v20210111): an approved template's id and variables, the claim as SessionContext."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models, sms_client

from propfee.collection.approved_sms import ApprovedSms, load_approved, prepare
from propfee.domain.ports import (
    ProviderOutcomeUnknown,
    ProviderRejected,
    ProviderUnavailable,
    SmsBatchItem,
    SmsTemplate,
)
from propfee.providers.sms_errors import never_reached

ENDPOINT = "sms.tencentcloudapi.com"
CHINA = timezone(timedelta(hours=8))
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

    def send_sms_batch(self, items: Sequence[SmsBatchItem]) -> list[str | Exception]:
        """Up to 200 numbers a request, one request per approved template and values (Tencent fills one
        TemplateParamSet for every number) and per number once; each number's SendStatus mapped back to its item.
        What the template check refuses is refused alone, before anything is sent."""
        results: list[str | Exception | None] = [None] * len(items)
        groups: dict[tuple[str, str, tuple[str, ...]], list[tuple[int, str]]] = {}
        for index, item in enumerate(items):
            try:
                prepared = prepare("tencent", self._approved, item.body, item.template)
            except ProviderRejected as refused:
                results[index] = refused
                continue
            assert isinstance(prepared.parameters, list)
            key = (prepared.sign_name, str(prepared.code), tuple(prepared.parameters))
            groups.setdefault(key, []).append((index, e164(item.phone)))
        for (sign_name, code, parameters), members in groups.items():
            for request_members in _requests(members):
                for index, result in self._send_one_request(sign_name, code, list(parameters), request_members):
                    results[index] = result
        assert all(r is not None for r in results)
        return results  # type: ignore[return-value]

    def _send_one_request(
        self, sign_name: str, code: str, parameters: list[str], members: list[tuple[int, str]]
    ) -> list[tuple[int, str | Exception]]:
        request = models.SendSmsRequest()
        request.PhoneNumberSet = [phone for _, phone in members]
        request.SmsSdkAppId = self._sdk_app_id
        request.SignName = sign_name
        request.TemplateId = code
        request.TemplateParamSet = parameters
        request.SessionContext = "batch"  # one for the request: a receipt finds its claim by SerialNo
        try:
            response = self._client().SendSms(request)
        except TencentCloudSDKException as error:
            failure = _mapped(error)  # the whole request: every number shares its outcome
            return [(index, failure) for index, _ in members]
        by_number = {str(s.PhoneNumber): s for s in response.SendStatusSet or []}
        answered: list[tuple[int, str | Exception]] = []
        for index, phone in members:
            status = by_number.get(phone)
            if status is None:
                answered.append((index, ProviderOutcomeUnknown("tencent answered nothing for this number")))
            elif status.Code != "Ok":
                answered.append((index, outcome(str(status.Code), str(status.Message or ""))))
            else:
                answered.append((index, f"tencent:{status.SerialNo}"))
        return answered

    def pull_status_reports(self, limit: int = 100) -> list[dict[str, Any]]:
        """Status reports not yet pushed or pulled (PullSmsSendStatus), in the status callback's shape."""
        request = models.PullSmsSendStatusRequest()
        request.SmsSdkAppId, request.Limit = self._sdk_app_id, limit
        try:
            answer = self._client().PullSmsSendStatus(request)
        except TencentCloudSDKException as error:
            raise _mapped(error) from error
        return [
            {"user_receive_time": s.UserReceiveTime, "nationcode": s.CountryCode, "mobile": s.SubscriberNumber,
             "report_status": s.ReportStatus, "errmsg": s.Description, "description": s.Description,
             "sid": s.SerialNo, "session_context": s.SessionContext}
            for s in answer.PullSmsSendStatusSet or []
        ]  # fmt: skip

    def pull_replies(self, limit: int = 100) -> list[dict[str, Any]]:
        """Owners' replies not yet pushed or pulled (PullSmsReplyStatus), in the reply callback's shape."""
        request = models.PullSmsReplyStatusRequest()
        request.SmsSdkAppId, request.Limit = self._sdk_app_id, limit
        try:
            answer = self._client().PullSmsReplyStatus(request)
        except TencentCloudSDKException as error:
            raise _mapped(error) from error
        return [
            {"extend": r.ExtendCode, "mobile": r.SubscriberNumber, "nationcode": r.CountryCode, "sign": r.SignName,
             "text": r.ReplyContent, "time": _unix(r.ReplyTime)}
            for r in answer.PullSmsReplyStatusSet or []
        ]  # fmt: skip


BATCH_LIMIT = 200  # numbers in one SendSms


def _unix(local: str | None) -> int | str:
    """A pulled reply's time (China's local time) as the callback's Unix seconds, so that a reply both pushed and
    pulled is one message; unreadable, it is left for the reply's check to refuse."""
    try:
        return int(datetime.strptime(str(local), "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA).timestamp())
    except ValueError:
        return str(local)


def _requests(members: list[tuple[int, str]]) -> list[list[tuple[int, str]]]:
    """Requests of at most BATCH_LIMIT numbers, each number at most once in a request (its answer is by number)."""
    requests: list[list[tuple[int, str]]] = []
    for member in members:
        home = next((r for r in requests if len(r) < BATCH_LIMIT and all(p != member[1] for _, p in r)), None)
        if home is None:
            requests.append(home := [])
        home.append(member)
    return requests


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

"""A Tencent Cloud SMS (v20210111) emulator: checks the TC3-HMAC-SHA256 signature the SDK makes, refuses unknown
templates, unapproved signatures, over-long variables and links in variables with Tencent's codes, answers per
number, keeps what it sent, and gives the status and reply callbacks in Tencent's shapes or through the pull APIs."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from propfee.local.emulators.http_server import Answer, CallbackPushes, LocalServer, push_json

CHINA = timezone(timedelta(hours=8))
_PLACEHOLDER = re.compile(r"\{(\d+)\}")
_E164_MAINLAND = re.compile(r"\+861\d{10}")
_LINK = re.compile(r"https?://|www\.", re.IGNORECASE)
MAX_SKEW_SECONDS = 300


@dataclass
class TencentSent:
    phone: str
    sign_name: str
    template_id: str
    params: list[str]
    text: str
    session_context: str
    serial_no: str
    sent_at: datetime


@dataclass
class TencentSmsEmulator(LocalServer):
    secrets: dict[str, str]  # SecretId -> SecretKey
    sdk_app_id: str
    signatures: set[str]
    templates: dict[str, str]  # template id -> approved text with {1}, {2}...
    variable_max_chars: int = 35
    refused_numbers: set[str] = field(default_factory=set)  # answered FailedOperation.PhoneNumberInBlacklist
    sent: list[TencentSent] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    replies: list[dict[str, Any]] = field(default_factory=list)  # what PullSmsReplyStatus gives
    statuses_pulled: int = 0  # how many of `sent` PullSmsSendStatus has given (each status is given once)
    pushes: CallbackPushes | None = None  # to the callback URLs (connect_callbacks)

    def __post_init__(self) -> None:
        LocalServer.__init__(self)
        self.content_type = "application/json"  # the SDK reads Response.Error only under exactly this type

    def connect_callbacks(self, base_url: str, clock: Callable[[], datetime]) -> None:
        """Push status reports (a JSON array) to `<base_url>/status` and replies (one object each) to
        `<base_url>/reply`, until answered {"result": 0}. Tencent's retry schedule is *unverified*: Aliyun's is used."""
        self.pushes = CallbackPushes(base_url, clock, TENCENT_RETRIES, _tencent_accepted)

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        problem = self._signature_problem(method, path, headers, body)
        if problem is not None:
            return self._error(*problem)
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            return self._error("InvalidParameter", "the body is not JSON")
        action = headers.get("x-tc-action", "")
        if headers.get("x-tc-version") != "2021-01-11":
            return self._error("InvalidAction", "only version 2021-01-11 is emulated")
        if action == "SendSms":
            return self._send(params)
        if action == "PullSmsSendStatus":
            pulled = self.status_reports_pulled()[self.statuses_pulled :]
            self.statuses_pulled += len(pulled)
            return _ok({"PullSmsSendStatusSet": pulled})
        if action == "PullSmsReplyStatus":
            pulled, self.replies = self.replies, []
            return _ok({"PullSmsReplyStatusSet": pulled})
        return self._error("InvalidAction", f"unknown action {action}")

    def _signature_problem(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[str, str] | None:
        match = re.fullmatch(
            r"TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/(\w+)/tc3_request, "
            r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})",
            headers.get("authorization", ""),
        )
        if match is None:
            return "AuthFailure.SignatureFailure", "the request is not TC3-HMAC-SHA256 signed"
        secret_id, day, service, signed, signature = match.groups()
        secret_key = self.secrets.get(secret_id)
        if secret_key is None:
            return "AuthFailure.SecretIdNotFound", "The SecretId is not found"
        timestamp = int(headers.get("x-tc-timestamp", "0"))
        if abs(time.time() - timestamp) > MAX_SKEW_SECONDS:
            return "AuthFailure.SignatureExpire", "Signature expired"
        if datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d") != day or service != "sms":
            return "AuthFailure.SignatureFailure", "the credential scope does not match"
        names = signed.split(";")
        if not {"content-type", "host"} <= set(names):
            return "AuthFailure.SignatureFailure", "content-type and host must be signed"
        canonical_headers = "".join(f"{n}:{headers.get(n, '').strip().lower()}\n" for n in names)
        canonical = "\n".join(
            [method, path.split("?")[0] or "/", "", canonical_headers, signed, hashlib.sha256(body).hexdigest()]
        )
        scope = f"{day}/{service}/tc3_request"
        to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), day), service), "tc3_request")
        if not hmac.compare_digest(hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest(), signature):
            return "AuthFailure.SignatureFailure", "The provided credentials could not be validated."
        return None

    def _send(self, params: dict[str, Any]) -> Answer:
        if params.get("SmsSdkAppId") != self.sdk_app_id:
            return self._error("FailedOperation.SmsSdkAppIdVerifyFail", "SmsSdkAppId verification failed")
        if params.get("SignName") not in self.signatures:
            return self._error("FailedOperation.SignatureIncorrectOrUnapproved", "signature not approved")
        text = self.templates.get(str(params.get("TemplateId")))
        if text is None:
            return self._error("FailedOperation.TemplateIncorrectOrUnapproved", "template not approved")
        values = [str(v) for v in params.get("TemplateParamSet") or []]
        if len(values) != len(set(_PLACEHOLDER.findall(text))):
            return self._error("InvalidParameterValue.TemplateParameterFormatError", "parameters do not match")
        if any(_LINK.search(v) for v in values):
            return self._error("InvalidParameterValue.ProhibitedUseUrlInTemplateParameter", "no links in variables")
        if any(len(v) > self.variable_max_chars for v in values):
            return self._error("InvalidParameterValue.TemplateParameterLengthLimit", "a variable is too long")
        numbers = params.get("PhoneNumberSet") or []
        if not 1 <= len(numbers) <= 200:
            return self._error("LimitExceeded.PhoneNumberCountLimit", "1 to 200 numbers a request")
        filled = f"【{params['SignName']}】" + _PLACEHOLDER.sub(lambda m: values[int(m.group(1)) - 1], text)
        statuses = []
        for phone in numbers:
            if not _E164_MAINLAND.fullmatch(phone):
                code, message = "InvalidParameterValue.IncorrectPhoneNumber", "incorrect phone number"
            elif phone in self.refused_numbers:
                code, message = "FailedOperation.PhoneNumberInBlacklist", "the number is blacklisted"
            else:
                code, message = "Ok", "send success"
            serial = f"2640:{uuid.uuid4().int % 10**20:020d}" if code == "Ok" else ""
            if code == "Ok":
                context = str(params.get("SessionContext") or "")
                template_id = str(params["TemplateId"])
                now = datetime.now(CHINA)
                self.sent.append(
                    TencentSent(phone, params["SignName"], template_id, values, filled, context, serial, now)
                )
                if self.pushes is not None:
                    self.pushes.push("status", [_status(self.sent[-1])])
            else:
                self.refused.append(code)
            statuses.append({"SerialNo": serial, "PhoneNumber": phone, "Fee": 1 if code == "Ok" else 0,
                             "SessionContext": params.get("SessionContext") or "", "Code": code,
                             "Message": message, "IsoCode": "CN"})  # fmt: skip
        return _ok({"SendStatusSet": statuses})

    def _error(self, code: str, message: str) -> Answer:
        self.refused.append(code)
        return Answer(200, {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": str(uuid.uuid4())}})

    def status_callback(self) -> list[dict[str, Any]]:
        """The status callback body (a JSON array) for everything sent: received."""
        return [_status(s) for s in self.sent]

    def owner_replies(self, phone: str, text: str) -> dict[str, Any]:
        """An owner answers (E.164): pushed as the reply callback's object, and kept for PullSmsReplyStatus."""
        item = self.reply(phone, text, next(iter(self.signatures), ""))
        if self.pushes is not None:
            self.pushes.push("reply", item)
        return item

    def status_reports_pulled(self) -> list[dict[str, Any]]:
        return [
            {"UserReceiveTime": s.sent_at.strftime("%Y-%m-%d %H:%M:%S"), "CountryCode": "86",
             "SubscriberNumber": s.phone[3:], "PhoneNumber": s.phone, "SerialNo": s.serial_no,
             "ReportStatus": "SUCCESS", "Description": "用户短信送达成功", "SessionContext": s.session_context}
            for s in self.sent
        ]  # fmt: skip

    def reply(self, phone: str, text: str, sign: str) -> dict[str, Any]:
        """An owner's answer, as the reply callback's object; also kept for PullSmsReplyStatus."""
        now = datetime.now(CHINA)
        self.replies.append({"ExtendCode": "", "CountryCode": "86", "SubscriberNumber": phone[3:],
                             "PhoneNumber": phone, "SignName": sign, "ReplyContent": text,
                             "ReplyTime": now.strftime("%Y-%m-%d %H:%M:%S")})  # fmt: skip
        return {"extend": "", "mobile": phone[3:], "nationcode": "86", "sign": sign, "text": text,
                "time": int(now.timestamp())}  # fmt: skip

    @staticmethod
    def push(url: str, body: Any) -> bool:
        """Push a callback; True when answered as Tencent expects ({"result": 0})."""
        status, answer = push_json(url, body)
        return status == 200 and isinstance(answer, dict) and answer.get("result") == 0


def _status(s: TencentSent) -> dict[str, Any]:
    return {"user_receive_time": s.sent_at.strftime("%Y-%m-%d %H:%M:%S"), "nationcode": "86", "mobile": s.phone[3:],
            "report_status": "SUCCESS", "errmsg": "DELIVRD", "description": "用户短信送达成功", "sid": s.serial_no,
            "session_context": s.session_context}  # fmt: skip  # *unverified* where SessionContext comes back


TENCENT_RETRIES = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=10))


def _tencent_accepted(status: int, body: bytes) -> bool:
    try:
        return status == 200 and json.loads(body).get("result") == 0
    except (ValueError, AttributeError):
        return False


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _ok(response: dict[str, Any]) -> Answer:
    return Answer(200, {"Response": {**response, "RequestId": str(uuid.uuid4())}})

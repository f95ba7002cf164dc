"""An Aliyun dysmsapi emulator: checks the ACS3-HMAC-SHA256 signature the SDK makes, refuses unknown template
codes, unapproved signatures and over-long variables with Aliyun's codes, keeps what it sent, and gives the
receipts (SmsReport) and replies (SmsUp) in Aliyun's push shapes, or through QuerySendDetails."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from propfee.local.emulators.http_server import Answer, CallbackPushes, LocalServer, push_json

CHINA = timezone(timedelta(hours=8))
_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
_MAINLAND_MOBILE = re.compile(r"1\d{10}")


@dataclass
class AliyunSent:
    phone: str
    sign_name: str
    template_code: str
    params: dict[str, str]
    text: str
    out_id: str | None
    biz_id: str
    sent_at: datetime


@dataclass
class AliyunSmsEmulator(LocalServer):
    access_keys: dict[str, str]  # access key id -> secret
    signatures: set[str]
    templates: dict[str, str]  # template code -> approved text with ${name}
    variable_max_chars: int = 35
    refused_numbers: set[str] = field(default_factory=set)  # answered isv.MOBILE_NUMBER_ILLEGAL
    sent: list[AliyunSent] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # the codes of the requests refused, in order
    # the pushes to the callback URLs (connect_callbacks): each receipt after a send, each owner's reply
    pushes: CallbackPushes | None = None

    def __post_init__(self) -> None:
        LocalServer.__init__(self)

    def connect_callbacks(self, base_url: str, clock: Callable[[], datetime]) -> None:
        """Push receipts to `<base_url>/report` and replies to `<base_url>/reply` (the URLs registered in Aliyun's
        console), as JSON arrays; re-sent after 1, 5 and 10 minutes until answered {"code": 0}, then dropped."""
        self.pushes = CallbackPushes(base_url, clock, ALIYUN_RETRIES, _aliyun_accepted)

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        split = urlsplit(path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        refused = self._signature_problem(method, split.path or "/", query, headers, body)
        if refused is not None:
            self.refused.append(refused.body["Code"])
            return refused
        params = {**query, **dict(parse_qsl(body.decode(), keep_blank_values=True))}
        action = headers.get("x-acs-action", "")
        if action == "SendSms":
            return self._send(params)
        if action == "QuerySendDetails":
            return self._details(params)
        return _error(404, "InvalidAction.NotFound", f"unknown action {action}")

    def _signature_problem(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> Answer | None:
        match = re.fullmatch(
            r"ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]+)",
            headers.get("authorization", ""),
        )
        if match is None:
            return _error(400, "IncompleteSignature", "the request is not ACS3-HMAC-SHA256 signed")
        key_id, signed, signature = match.groups()
        secret = self.access_keys.get(key_id)
        if secret is None:
            return _error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        payload = hashlib.sha256(body).hexdigest()
        if headers.get("x-acs-content-sha256") != payload:
            return _error(400, "SignatureDoesNotMatch", "the body's hash is not the signed one")
        names = signed.split(";")
        if not {"host", "x-acs-action", "x-acs-date", "x-acs-signature-nonce"} <= set(names):
            return _error(400, "SignatureDoesNotMatch", "required headers are not signed")
        canonical_query = "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in sorted(query.items()))
        canonical_headers = "".join(f"{n}:{headers.get(n, '').strip()}\n" for n in names)
        canonical = f"{method}\n{path}\n{canonical_query}\n{canonical_headers}\n{signed}\n{payload}"
        to_sign = f"ACS3-HMAC-SHA256\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        expected = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return _error(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
        return None

    def _send(self, params: dict[str, str]) -> Answer:
        if params.get("SignName") not in self.signatures:
            return self._refuse("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        text = self.templates.get(params.get("TemplateCode", ""))
        if text is None:
            return self._refuse("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        try:
            values = json.loads(params.get("TemplateParam") or "{}")
        except ValueError:
            return self._refuse("isv.INVALID_JSON_PARAM", "JSON参数不合法")
        names = _PLACEHOLDER.findall(text)
        if any(name not in values for name in names):
            return self._refuse("isv.TEMPLATE_MISSING_PARAMETERS", "模板变量缺少对应参数值")
        if any(len(str(v)) > self.variable_max_chars for v in values.values()):
            return self._refuse("isv.PARAM_LENGTH_LIMIT", "参数超出长度限制")
        phones = params.get("PhoneNumbers", "").split(",")
        if any(not _MAINLAND_MOBILE.fullmatch(p) or p in self.refused_numbers for p in phones):
            return self._refuse("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        biz_id = f"{uuid.uuid4().int % 10**18:018d}^0"
        filled = _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), text)
        now = datetime.now(CHINA)
        for phone in phones:
            self.sent.append(
                AliyunSent(phone, params["SignName"], params["TemplateCode"], values,
                           f"【{params['SignName']}】{filled}", params.get("OutId"), biz_id, now)
            )  # fmt: skip
            if self.pushes is not None:
                self.pushes.push("report", [_receipt(self.sent[-1])])
        return Answer(200, {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": _request_id()})

    def _refuse(self, code: str, message: str) -> Answer:
        self.refused.append(code)
        return Answer(200, {"Code": code, "Message": message, "RequestId": _request_id()})

    def _details(self, params: dict[str, str]) -> Answer:
        found = [
            s for s in self.sent
            if s.phone == params.get("PhoneNumber") and (not params.get("BizId") or s.biz_id == params["BizId"])
            and s.sent_at.strftime("%Y%m%d") == params.get("SendDate")
        ]  # fmt: skip
        details = [
            {"PhoneNum": s.phone, "SendStatus": 3, "ErrCode": "DELIVERED", "TemplateCode": s.template_code,
             "Content": s.text, "SendDate": _stamp(s.sent_at), "ReceiveDate": _stamp(s.sent_at), "OutId": s.out_id}
            for s in found
        ]  # fmt: skip
        return Answer(200, {"Code": "OK", "TotalCount": str(len(details)), "RequestId": _request_id(),
                            "SmsSendDetailDTOs": {"SmsSendDetailDTO": details}})  # fmt: skip

    def receipts(self) -> list[dict[str, Any]]:
        """The SmsReport push body (a JSON array) for everything sent: delivered."""
        return [_receipt(s) for s in self.sent]

    def owner_replies(self, phone: str, content: str) -> dict[str, Any]:
        """An owner answers (a mainland number without +86): pushed as an SmsUp array."""
        item = self.reply(phone, content, next(iter(self.signatures), ""))
        if self.pushes is not None:
            self.pushes.push("reply", [item])
        return item

    @staticmethod
    def reply(phone: str, content: str, sign_name: str) -> dict[str, Any]:
        """One SmsUp item: an owner's answer."""
        now = _stamp(datetime.now(CHINA))
        return {"phone_number": phone, "content": content, "send_time": now, "dest_code": "1234",
                "sequence_id": uuid.uuid4().int % 10**12, "sign_name": sign_name}  # fmt: skip

    @staticmethod
    def push(url: str, items: list[dict[str, Any]]) -> bool:
        """Push a receipt or reply array; True when answered as Aliyun expects ({"code": 0})."""
        status, answer = push_json(url, items)
        return status == 200 and isinstance(answer, dict) and answer.get("code") == 0


def _receipt(s: AliyunSent) -> dict[str, Any]:
    return {"phone_number": s.phone, "send_time": _stamp(s.sent_at), "report_time": _stamp(s.sent_at),
            "success": True, "err_code": "DELIVERED", "err_msg": "用户接收成功", "sms_size": "1",
            "biz_id": s.biz_id, "out_id": s.out_id}  # fmt: skip


ALIYUN_RETRIES = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=10))


def _aliyun_accepted(status: int, body: bytes) -> bool:
    try:
        return status == 200 and json.loads(body).get("code") == 0
    except (ValueError, AttributeError):
        return False


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _request_id() -> str:
    return str(uuid.uuid4()).upper()


def _error(status: int, code: str, message: str) -> Answer:
    return Answer(status, {"Code": code, "Message": message, "RequestId": _request_id()})

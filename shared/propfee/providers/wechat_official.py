"""The company's WeChat official account (公众号) through wechatpy: template messages (the reminders), customer-
service text (the answers to an owner who just wrote), OAuth snsapi_base (binding an owner's openid), and the
pushes the account receives (signature, safe-mode AES) - the only code that imports wechatpy.

`credentials` is the Secrets Manager secret's {"app_secret", "token", "encoding_aes_key"} (never logged). The
access token comes from /cgi-bin/stable_token (the same token for every container, not invalidating the others'
as /cgi-bin/token does) and is kept until a minute before it expires."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import requests
import xmltodict
from wechatpy import WeChatClient
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException, WeChatClientException
from wechatpy.utils import check_signature

from propfee.collection.wechat_messages import WechatMessage, field_problems
from propfee.domain.ports import ProviderOutcomeUnknown, ProviderRejected, ProviderUnavailable
from propfee.feedback.wechat_callbacks import ForgedPush
from propfee.providers.sms_errors import never_reached

API_BASE = "https://api.weixin.qq.com"  # the one place WeChat's addresses are set (base_url: the emulator's)
OAUTH_BASE = "https://open.weixin.qq.com"
CREDENTIAL_KEYS = ("app_secret", "token", "encoding_aes_key")

# errcodes that refuse this message for good: the owner (openid) or the request itself
REJECTED = {
    40003: "invalid openid",
    40036: "invalid template_id size",
    40037: "invalid template_id",
    43004: "the owner does not follow the account",
    43019: "the owner blocked the account",
    45015: "the owner's last message is over 48 hours old (customer-service messages)",
    47001: "data format error",
    47003: "a field's value is refused",
}


def outcome(errcode: int | None, errmsg: str = "") -> Exception:
    reason = f"wechat {errcode}: {REJECTED.get(errcode or 0, errmsg[:200])}"
    if errcode in REJECTED:
        return ProviderRejected(reason)
    return ProviderUnavailable(reason)  # busy (-1), throttled (45009), the account's keys or token: not now


class _Client(WeChatClient):  # type: ignore[misc]
    """wechatpy's client at a chosen base, fetching its token from stable_token."""

    def __init__(self, appid: str, secret: str, base: str, timeout: float) -> None:
        super().__init__(appid, secret, timeout=timeout)
        self.API_BASE_URL = f"{base}/cgi-bin/"

    def fetch_access_token(self) -> dict[str, Any]:
        body = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
        answer = self._http.post(f"{self.API_BASE_URL}stable_token", json=body, timeout=self.timeout)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        if result.get("errcode"):
            raise WeChatClientException(result["errcode"], result.get("errmsg"), client=self)
        expires_in = int(result.get("expires_in", 7200))
        self.session.set(self.access_token_key, result["access_token"], expires_in)
        self.expires_at = int(time.time()) + expires_in
        return result


class WechatOfficial:
    name = "wechat"

    def __init__(
        self,
        app_id: str,
        credentials: Mapping[str, str] | Callable[[], Mapping[str, str]],
        base_url: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        """`credentials`: the secret's fields, or how to read them on first use (a function that builds the
        adapter but never sends needs no access to the secret)."""
        self.app_id = app_id
        self._read = credentials if callable(credentials) else (lambda: credentials)
        self._keys: Mapping[str, str] | None = None
        self._api = (base_url or API_BASE).rstrip("/")
        self._oauth = (base_url or OAUTH_BASE).rstrip("/")
        self._timeout = timeout
        self._client_instance: _Client | None = None

    @property
    def _credentials(self) -> Mapping[str, str]:
        if self._keys is None:
            self._keys = self._read()
        return self._keys

    def _client(self) -> _Client:
        if self._client_instance is None:
            self._client_instance = _Client(self.app_id, self._credentials["app_secret"], self._api, self._timeout)
        return self._client_instance

    def _call(self, endpoint: str, data: dict[str, Any]) -> dict[str, Any]:
        try:
            return dict(self._client().post(endpoint, data=data))
        except WeChatClientException as error:
            if error.errcode is None:  # an HTTP error status: WeChat answered, not with a result
                raise ProviderUnavailable(f"wechat: HTTP {getattr(error.response, 'status_code', '?')}") from error
            raise outcome(int(error.errcode), str(error.errmsg or "")) from error
        except requests.RequestException as error:
            if never_reached(error):
                raise ProviderUnavailable(f"wechat not reached: {type(error).__name__}") from error
            raise ProviderOutcomeUnknown(f"wechat: no answer ({type(error).__name__}); it may have sent") from error

    # ---------------------------------------------------------------------------------------------- sending
    def send_template(self, openid: str, message: WechatMessage, context: dict[str, str] | None = None) -> str:
        """/cgi-bin/message/template/send; refused before sending when a field breaks its type's limits."""
        problems = field_problems(message.data)
        if problems:
            raise ProviderRejected(f"wechat template {message.template_id}: {'; '.join(problems)}")
        data: dict[str, Any] = {
            "touser": openid,
            "template_id": message.template_id,
            "data": {key: {"value": value} for key, value in message.data.items()},
        }
        if message.url:
            data["url"] = message.url
        if message.client_msg_id:
            data["client_msg_id"] = message.client_msg_id
        answer = self._call("message/template/send", data)
        return f"wechat:{answer['msgid']}"

    def send_text(self, openid: str, text: str) -> str:
        """A customer-service text (客服消息): allowed within 48 hours of the owner's own message."""
        self._call("message/custom/send", {"touser": openid, "msgtype": "text", "text": {"content": text}})
        return f"wechat-text:{openid[-6:]}:{int(time.time())}"

    # ---------------------------------------------------------------------------------------------- OAuth
    def authorize_url(self, redirect_uri: str, state: str) -> str:
        """Where the bill page sends the owner's WeChat browser (snsapi_base: silent, the openid only)."""
        return (
            f"{self._oauth}/connect/oauth2/authorize?appid={self.app_id}&redirect_uri={quote(redirect_uri, safe='')}"
            f"&response_type=code&scope=snsapi_base&state={quote(state, safe='')}#wechat_redirect"
        )

    def openid_for_code(self, code: str) -> str:
        """The code WeChat gave the callback -> the owner's openid (/sns/oauth2/access_token)."""
        params = {
            "appid": self.app_id,
            "secret": self._credentials["app_secret"],
            "code": code,
            "grant_type": "authorization_code",
        }
        try:
            answer = requests.get(f"{self._api}/sns/oauth2/access_token", params=params, timeout=self._timeout)
            result = answer.json()
        except (requests.RequestException, ValueError) as error:
            raise ProviderUnavailable(f"wechat oauth: {type(error).__name__}") from error
        if result.get("errcode"):
            raise ProviderRejected(f"wechat oauth {result['errcode']}: {str(result.get('errmsg', ''))[:100]}")
        return str(result["openid"])

    # ---------------------------------------------------------------------------------------------- pushes
    def echo(self, query: Mapping[str, str]) -> str:
        """The server check (GET with echostr): the echostr when the signature checks, else ForgedPush."""
        self._check(query)
        return query.get("echostr", "")

    def _check(self, query: Mapping[str, str]) -> None:
        try:
            check_signature(
                self._credentials["token"],
                query.get("signature", ""),
                query.get("timestamp", ""),
                query.get("nonce", ""),
            )
        except InvalidSignatureException as error:
            raise ForgedPush("signature") from error

    def read_push(self, query: Mapping[str, str], body: str) -> dict[str, str]:
        """A push's fields (ToUserName, FromUserName, MsgType, Content, Event, MsgID, Status...), checked: its
        signature, and in safe mode (encrypt_type=aes) the msg_signature over the ciphertext and the AppID
        inside it. Plain-text pushes are refused: the account is configured for safe mode."""
        self._check(query)
        if query.get("encrypt_type") != "aes":
            raise ForgedPush("not in safe mode")
        crypto = WeChatCrypto(self._credentials["token"], self._credentials["encoding_aes_key"], self.app_id)
        try:
            xml = crypto.decrypt_message(
                body, query.get("msg_signature", ""), query.get("timestamp", ""), query.get("nonce", "")
            )
        except (InvalidSignatureException, InvalidAppIdException) as error:
            raise ForgedPush(type(error).__name__) from error
        except Exception as error:  # not XML, not base64, not the block size: not a push of this account
            raise ForgedPush(f"unreadable ({type(error).__name__})") from error
        parsed = xmltodict.parse(xml).get("xml") or {}
        return {str(k): str(v) for k, v in parsed.items() if v is not None}

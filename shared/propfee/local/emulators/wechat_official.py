"""A WeChat official-account API emulator: the token (stable_token and token), OAuth snsapi_base (authorize ->
code -> openid), template and customer-service sends with WeChat's refusals (unknown template ids, invalid access
tokens, openids that do not follow the account, fields over their type's limits), and the pushes to the account's
server URL: the send-finish event and owners' messages, signed and in safe mode (AES-256-CBC, PKCS#7 to 32 bytes,
msg_signature), written here from the published scheme rather than with wechatpy, so that the adapter's checks
are tested against an independent implementation."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import secrets
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from propfee.collection.wechat_messages import field_problems
from propfee.local.emulators.common import Answer, LocalServer, NotificationQueue, http_post

TOKEN_SECONDS = 7200
RETRIES = (timedelta(seconds=5), timedelta(seconds=5), timedelta(seconds=5))  # three more tries, then dropped
_JSON = {"Content-Type": "application/json; charset=utf-8"}


@dataclass
class WechatSent:
    openid: str
    template_id: str
    data: dict[str, str]
    url: str | None
    text: str  # what the owner reads: the title, the content filled in, the link
    msgid: int
    client_msg_id: str = ""


@dataclass
class WechatOfficialEmulator:
    app_id: str
    app_secret: str
    token: str  # the server-configuration token (签名)
    encoding_aes_key: str  # 43 characters
    clock: Callable[[], datetime]
    templates: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (title, content)
    account: str = "gh_0000sandbox01"  # the account's original id (ToUserName)
    followers: set[str] = field(default_factory=set)  # openids that follow the account
    browser_openid: str | None = None  # who the simulated WeChat browser is (the authorize step's user)
    sent: list[WechatSent] = field(default_factory=list)
    texts: list[tuple[str, str]] = field(default_factory=list)  # customer-service texts (openid, text)
    refused: list[int] = field(default_factory=list)  # the errcodes answered, in order
    server_url: str | None = None  # the account's server URL (connect), where the pushes go
    _tokens: dict[str, datetime] = field(default_factory=dict)
    _codes: dict[str, str] = field(default_factory=dict)
    _last_message: dict[str, datetime] = field(default_factory=dict)
    _recent_ids: dict[tuple[str, str], tuple[int, datetime]] = field(default_factory=dict)
    _msgid: int = 2_000_000_000

    def __post_init__(self) -> None:
        self._server = LocalServer(self.app)
        self.pushes = NotificationQueue(self.clock, RETRIES, lambda status, body: status == 200, deliver_with_query)

    # ------------------------------------------------------------------------------------------ life
    def start(self) -> str:
        self._server.start()
        return self._server.base_url

    @property
    def base_url(self) -> str:
        return self._server.base_url

    def stop(self) -> None:
        self._server.stop()

    def connect(self, server_url: str) -> None:
        """The URL registered under 服务器配置 (the account's server), with safe mode on."""
        self.server_url = server_url

    # ------------------------------------------------------------------------------------------ HTTP
    def app(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        split = urlsplit(path)
        query = dict(parse_qsl(split.query))
        route = split.path
        if route == "/connect/oauth2/authorize":
            return self._authorize(query)
        if route == "/sns/oauth2/access_token":
            return self._oauth_token(query)
        if route == "/cgi-bin/token":
            return self._token(query.get("appid", ""), query.get("secret", ""), query.get("grant_type", ""))
        if route == "/cgi-bin/stable_token" and method == "POST":
            given = _json(body)
            return self._token(str(given.get("appid", "")), str(given.get("secret", "")), str(given.get("grant_type")))
        if route in ("/cgi-bin/message/template/send", "/cgi-bin/message/custom/send") and method == "POST":
            if not self._valid_token(query.get("access_token", "")):
                return self._error(40001, "invalid credential, access_token is invalid or not latest")
            given = _json(body)
            return self._template(given) if route.endswith("template/send") else self._custom(given)
        return self._error(404, f"unknown api {route}", status=404)

    def _error(self, errcode: int, errmsg: str, status: int = 200) -> Answer:
        self.refused.append(errcode)
        return status, dict(_JSON), json.dumps({"errcode": errcode, "errmsg": errmsg}).encode()

    def _ok(self, **fields: Any) -> Answer:
        return 200, dict(_JSON), json.dumps({"errcode": 0, "errmsg": "ok", **fields}).encode()

    def _token(self, appid: str, secret: str, grant_type: str) -> Answer:
        if grant_type != "client_credential":
            return self._error(40002, "invalid grant_type")
        if appid != self.app_id:
            return self._error(40013, "invalid appid")
        if not secrets.compare_digest(secret, self.app_secret):
            return self._error(40125, "invalid appsecret")
        token = secrets.token_urlsafe(48)
        self._tokens[token] = self.clock() + timedelta(seconds=TOKEN_SECONDS)
        return 200, dict(_JSON), json.dumps({"access_token": token, "expires_in": TOKEN_SECONDS}).encode()

    def _valid_token(self, token: str) -> bool:
        expires = self._tokens.get(token)
        return expires is not None and self.clock() < expires

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working (as after 2 hours, or a reset of the secret)."""
        self._tokens.clear()

    def _authorize(self, query: dict[str, str]) -> Answer:
        if query.get("appid") != self.app_id or query.get("scope") not in ("snsapi_base", "snsapi_userinfo"):
            return 200, {"Content-Type": "text/html; charset=utf-8"}, "<p>10003 redirect_uri 参数错误</p>".encode()
        if self.browser_openid is None:
            return 200, {"Content-Type": "text/html; charset=utf-8"}, "<p>请在微信客户端打开链接</p>".encode()
        code = secrets.token_hex(16)
        self._codes[code] = self.browser_openid
        target = query.get("redirect_uri", "")
        joiner = "&" if "?" in target else "?"
        return 302, {"Location": f"{target}{joiner}{urlencode({'code': code, 'state': query.get('state', '')})}"}, b""

    def _oauth_token(self, query: dict[str, str]) -> Answer:
        if query.get("appid") != self.app_id or not secrets.compare_digest(query.get("secret", ""), self.app_secret):
            return self._error(40125, "invalid appsecret")
        openid = self._codes.pop(query.get("code", ""), None)  # a code is good once
        if openid is None:
            return self._error(40029, "invalid code")
        return self._ok(access_token=secrets.token_urlsafe(32), expires_in=7200, openid=openid, scope="snsapi_base")

    def _template(self, given: dict[str, Any]) -> Answer:
        openid, template_id = str(given.get("touser", "")), str(given.get("template_id", ""))
        if template_id not in self.templates:
            return self._error(40037, "invalid template_id")
        if openid not in self.followers:
            return self._error(43004, "require subscribe")
        raw = given.get("data")
        if not isinstance(raw, dict) or not all(isinstance(v, dict) and "value" in v for v in raw.values()):
            return self._error(47001, "data format error")
        data = {str(k): str(v["value"]) for k, v in raw.items()}
        title, content = self.templates[template_id]
        if (problems := field_problems(data)) or set(data) != _keys(content):
            return self._error(47003, f"argument invalid! {'; '.join(problems) or 'data keys'}")
        client_msg_id = str(given.get("client_msg_id") or "")
        repeat = self._recent_ids.get((openid, client_msg_id)) if client_msg_id else None
        if repeat is not None and self.clock() - repeat[1] < timedelta(minutes=10):
            return self._ok(msgid=repeat[0])  # the same message again within 10 minutes: not sent twice
        self._msgid += 1
        body = content
        for key, value in data.items():
            body = body.replace(f"{{{{{key}.DATA}}}}", value)
        url = given.get("url")
        text = "\n".join(part for part in (title, body, str(url or "")) if part)
        self.sent.append(WechatSent(openid, template_id, data, url, text, self._msgid, client_msg_id))
        if client_msg_id:
            self._recent_ids[(openid, client_msg_id)] = (self._msgid, self.clock())
        return self._ok(msgid=self._msgid)

    def _custom(self, given: dict[str, Any]) -> Answer:
        openid = str(given.get("touser", ""))
        last = self._last_message.get(openid)
        if openid not in self.followers or last is None or self.clock() - last > timedelta(hours=48):
            return self._error(45015, "response out of time limit or subscription is canceled")
        self.texts.append((openid, str((given.get("text") or {}).get("content", ""))))
        return self._ok()

    # ------------------------------------------------------------------------------------------ pushes
    def finish_sends(self, status: str = "success") -> int:
        """Each template message sent so far announced to the server: TEMPLATESENDJOBFINISH with `status`
        ("success", "failed:user block", "failed: system failed"). Returns how many were queued."""
        for sent in self.sent:
            self._push(self._event_xml(sent, status))
        return len(self.sent)

    def _event_xml(self, sent: WechatSent, status: str) -> str:
        at = int(self.clock().timestamp())
        return (
            f"<xml><ToUserName><![CDATA[{self.account}]]></ToUserName><FromUserName><![CDATA[{sent.openid}]]>"
            f"</FromUserName><CreateTime>{at}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>{sent.msgid}</MsgID>"
            f"<Status><![CDATA[{html.escape(status, quote=False)}]]></Status></xml>"
        )

    def unfollow(self, openid: str) -> None:
        """The owner unfollows the account: no more template messages to them (43004), and the event pushed."""
        self.followers.discard(openid)
        at = int(self.clock().timestamp())
        self._push(
            f"<xml><ToUserName><![CDATA[{self.account}]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
            f"</FromUserName><CreateTime>{at}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            "<Event><![CDATA[unsubscribe]]></Event></xml>"
        )

    def owner_says(self, openid: str, text: str) -> int:
        """An owner's text message to the account, pushed to the server; returns its MsgId."""
        self._msgid += 1
        self._last_message[openid] = self.clock()
        at = int(self.clock().timestamp())
        xml = (
            f"<xml><ToUserName><![CDATA[{self.account}]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
            f"</FromUserName><CreateTime>{at}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{text}]]></Content><MsgId>{self._msgid}</MsgId></xml>"
        )
        self._push(xml)
        return self._msgid

    def _push(self, xml: str) -> None:
        assert self.server_url is not None, "connect() the account's server URL first"

        def make() -> tuple[dict[str, str], bytes]:  # signed afresh (a new timestamp and nonce) for each attempt
            query, body = self.seal(xml)
            return {"Content-Type": "text/xml", "X-Url": query}, body

        self.pushes.push(self.server_url, make)

    def seal(self, xml: str, forged: bool = False) -> tuple[str, bytes]:
        """(query string, body) of a safe-mode push of `xml`, signed with the account's token (`forged`: with
        another token, as someone who does not know it would)."""
        token = self.token if not forged else secrets.token_hex(8)
        timestamp, nonce = str(int(self.clock().timestamp())), secrets.token_hex(5)
        encrypted = encrypt(self.encoding_aes_key, self.app_id, xml)
        query = {
            "signature": _sha1(token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": "",
            "encrypt_type": "aes",
            "msg_signature": _sha1(token, timestamp, nonce, encrypted),
        }
        body = (
            f"<xml><ToUserName><![CDATA[{self.account}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        )
        return urlencode(query), body.encode()

    def deliver_due(self) -> int:
        return self.pushes.deliver_due()


def deliver_with_query(url: str, headers: Mapping[str, str], body: bytes) -> tuple[int, bytes]:
    """The pushes' transport: the signed query goes on the URL (WeChat's GET-style parameters on a POST)."""
    sent = dict(headers)
    query = sent.pop("X-Url", "")
    return http_post(f"{url}?{query}" if query else url, sent, body)


def _sha1(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324  # nosec B324 - WeChat's scheme


def _json(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _keys(content: str) -> set[str]:
    return set(re.findall(r"\{\{\s*(\w+)\.DATA\s*\}\}", content))


def encrypt(encoding_aes_key: str, app_id: str, xml: str) -> str:
    """WeChat's safe mode: AES-256-CBC with the key from the EncodingAESKey and its first 16 bytes as the IV, over
    16 random bytes, the message's length (4 bytes, network order), the message and the AppID, PKCS#7 to 32."""
    key = base64.b64decode(encoding_aes_key + "=")
    plain = os.urandom(16) + struct.pack(">I", len(xml.encode())) + xml.encode() + app_id.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def new_aes_key() -> str:
    """A fresh EncodingAESKey (43 characters of base64, as the account's console makes one)."""
    return base64.b64encode(os.urandom(32)).decode().rstrip("=")

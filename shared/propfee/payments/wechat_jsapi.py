"""WeChat Pay JSAPI inside WeChat's own browser, where WeChat refuses H5: JSAPI needs the payer's openid under the
app id of the order, so the pay button sends the WeChat browser through the official account's OAuth (snsapi_base,
silent) first. The state is a form token bound to the bill link with a subject of its own ("wechat-pay:<token>"):
a binding's state is not a payment's, nor a page's form token either. WeChat comes back to
/b/<token>/pay/wechat_pay/jsapi with a code; the code is exchanged for the openid, which goes to WeChat Pay with
the order (OrderRequest.openid) and nowhere else: it is not logged, not stored on the order, not put on the page.

JSAPI is offered only when the official account's app id is WeChat Pay's appid (an openid is per app id: WeChat
Pay refuses another's). `offered` is that comparison, made by the wiring on first use (WeChat Pay's appid lives in
its merchant secret, which showing a bill never reads)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from propfee.domain.ports import ProviderRejected, ProviderUnavailable
from propfee.payments.wechat_bind import WechatOAuth
from propfee.web.security import CsrfRefused, check_csrf, csrf_token

CALLBACK_PATH = "/b/{token}/pay/wechat_pay/jsapi"
SCRIPT = "wechat_jsapi.js"  # web/static: calls WeixinJSBridge with the page's parameters


def _subject(token: str) -> str:
    return f"wechat-pay:{token}"


@dataclass(frozen=True)
class PayerOutcome:
    openid: str | None  # the payer under the order's app id; None with a reason
    reason: str = ""


class WechatJsapi:
    """The OAuth step of a JSAPI payment (providers.wechat_official is the WechatOAuth)."""

    def __init__(self, oauth: WechatOAuth, base_url: str, offered: Callable[[], bool]) -> None:
        self._oauth = oauth
        self._base = base_url.rstrip("/")
        self._offered = offered
        self._same_app: bool | None = None

    def offered(self) -> bool:
        """The official account's app id is WeChat Pay's (asked once per container)."""
        if self._same_app is None:
            self._same_app = bool(self._offered())
        return self._same_app

    def callback_url(self, token: str) -> str:
        return self._base + CALLBACK_PATH.format(token=token)

    def authorize_url(self, token: str, secret: bytes, now: datetime) -> str:
        """Where the pay button sends the WeChat browser (the caller checked the token's unit)."""
        return self._oauth.authorize_url(self.callback_url(token), csrf_token(secret, _subject(token), now))

    def payer(self, token: str, code: str, state: str, secret: bytes, now: datetime) -> PayerOutcome:
        """The callback: the state checked against this link, the code exchanged (once: WeChat refuses it again)."""
        try:
            check_csrf(secret, _subject(token), state, now)
        except CsrfRefused:
            return PayerOutcome(None, "state")
        if not code:
            return PayerOutcome(None, "no code")
        try:
            return PayerOutcome(self._oauth.openid_for_code(code))
        except (ProviderRejected, ProviderUnavailable) as error:
            return PayerOutcome(None, str(error))

"""An owner binds their WeChat to the unit from the bill page (or a letter's QR leading there): the page sends the
WeChat browser to the official account's OAuth (snsapi_base, silent: the openid only), WeChat comes back to
/b/<token>/wechat/done with a code and the state, the code is exchanged for the openid, and the openid is stored
with the unit. The state is a form token bound to the bill link (web.security), so a code cannot be replayed onto
another owner's unit, nor a callback forged without opening the page first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from propfee.domain.models import Unit
from propfee.domain.ports import ProviderRejected, ProviderUnavailable
from propfee.web.security import CsrfRefused, check_csrf, csrf_token


class WechatOAuth(Protocol):
    """The account's OAuth (providers.wechat_official implements it)."""

    def authorize_url(self, redirect_uri: str, state: str) -> str: ...

    def openid_for_code(self, code: str) -> str: ...


class BindingStore(Protocol):
    def bind_wechat(self, unit_id: str, openid: str, at: datetime) -> bool: ...


def _subject(token: str) -> str:
    return f"wechat-bind:{token}"  # a bill page's form token is not a state, nor the other way round


@dataclass(frozen=True)
class BindOutcome:
    bound: bool  # the unit has the openid now (newly or already)
    reason: str = ""


class WechatBinder:
    def __init__(self, oauth: WechatOAuth, store: BindingStore, base_url: str) -> None:
        self._oauth = oauth
        self._store = store
        self._base = base_url.rstrip("/")

    def authorize_url(self, token: str, secret: bytes, now: datetime) -> str:
        """Where the bill page sends the owner (the token's unit was checked by the caller)."""
        state = csrf_token(secret, _subject(token), now)
        return self._oauth.authorize_url(f"{self._base}/b/{token}/wechat/done", state)

    def finish(self, unit: Unit, token: str, code: str, state: str, secret: bytes, now: datetime) -> BindOutcome:
        """The OAuth callback: the state checked, the code exchanged once, the openid stored with the unit."""
        try:
            check_csrf(secret, _subject(token), state, now)
        except CsrfRefused:
            return BindOutcome(False, "state")
        if not code:
            return BindOutcome(False, "no code (the owner declined)")
        try:
            openid = self._oauth.openid_for_code(code)
        except (ProviderRejected, ProviderUnavailable) as error:
            return BindOutcome(False, str(error))
        self._store.bind_wechat(unit.unit_id, openid, now)
        return BindOutcome(True)

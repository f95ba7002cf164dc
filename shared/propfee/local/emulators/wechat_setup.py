"""The WeChat official-account emulator set up as the rules' `wechat:` section says the account is: its AppID, the
approved templates, and made-up keys (stored in Secrets Manager under the name the rules give)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from propfee.aws.secrets import put_secret
from propfee.collection.wechat_messages import WechatAccount
from propfee.local.emulators.wechat_official import WechatOfficialEmulator

# the keys the emulator accepts: made up for the sandbox, they open nothing anywhere else
SANDBOX_WECHAT_KEYS = {  # nosec B105
    "app_secret": "sandbox-wechat-app-secret",
    "token": "sandboxwechattoken",
    "encoding_aes_key": "c2FuZGJveC13ZWNoYXQtZW5jb2RpbmctYWVzLWtleSE",  # 43 characters of base64 (32 bytes)
}
DEMO_WECHAT_ACCOUNT = {"app_id": "wx5a4db0c5a4db0c5a", "secret": "propfee-wechat-official"}  # nosec B105


def wechat_emulator(account: WechatAccount, clock: Callable[[], datetime]) -> WechatOfficialEmulator:
    return WechatOfficialEmulator(
        app_id=account.app_id,
        app_secret=SANDBOX_WECHAT_KEYS["app_secret"],
        token=SANDBOX_WECHAT_KEYS["token"],
        encoding_aes_key=SANDBOX_WECHAT_KEYS["encoding_aes_key"],
        clock=clock,
        templates={t.template_id: (t.title, t.content) for t in account.templates.values()},
    )


def store_wechat_keys(account: WechatAccount, secretsmanager: Any) -> None:
    put_secret(account.secret, SANDBOX_WECHAT_KEYS, secretsmanager)

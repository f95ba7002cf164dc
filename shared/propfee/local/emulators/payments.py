"""Both payment emulators started together for the sandbox or a test: their keys go to (moto's) Secrets Manager
exactly as a merchant's would, and the functions' settings point the adapters at them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from propfee.aws.secrets import put_secret
from propfee.local.emulators.alipay import AlipayEmulator
from propfee.local.emulators.common import Transport, http_post
from propfee.local.emulators.wechat_pay import WeChatPayEmulator

# the secrets' names (not their values)
WECHAT_PAY_SECRET_ID = "propfee/payments/wechat-pay"  # noqa: S105  # nosec B105 - a name
ALIPAY_SECRET_ID = "propfee/payments/alipay"  # noqa: S105  # nosec B105 - a name


@dataclass
class PaymentEmulators:
    wechat_pay: WeChatPayEmulator
    alipay: AlipayEmulator
    environment: dict[str, str]  # PROPFEE_* settings for the payment functions

    def deliver_due(self) -> int:
        """Send every notification due on the simulated clock (the sandbox calls this as time advances)."""
        return self.wechat_pay.deliver_due() + self.alipay.deliver_due()

    def stop(self) -> None:
        self.wechat_pay.stop()
        self.alipay.stop()


def start_payment_emulators(
    clock: Callable[[], datetime],
    notify_base_url: str,
    transport: Transport = http_post,
    secretsmanager: Any | None = None,
    wechat_pay_secret_id: str = WECHAT_PAY_SECRET_ID,
    alipay_secret_id: str = ALIPAY_SECRET_ID,
) -> PaymentEmulators:
    """Start both on 127.0.0.1 (free ports), store their merchant keys as the secrets the adapters read (the
    sandbox names its stack's secrets), and return the settings that name those secrets, the notify base and the
    emulators' addresses."""
    wechat_pay = WeChatPayEmulator(clock, transport=transport).start()
    alipay = AlipayEmulator(clock, transport=transport).start()
    wechat_arn = put_secret(wechat_pay_secret_id, wechat_pay.secret_fields(), secretsmanager)
    alipay_arn = put_secret(alipay_secret_id, alipay.secret_fields(), secretsmanager)
    environment = {
        "PROPFEE_WECHAT_PAY_SECRET": wechat_arn,
        "PROPFEE_ALIPAY_SECRET": alipay_arn,
        "PROPFEE_PAYMENT_NOTIFY_BASE_URL": notify_base_url,
        "PROPFEE_WECHAT_PAY_GATEWAY": wechat_pay.base_url,
        "PROPFEE_ALIPAY_GATEWAY": alipay.gateway,
    }
    return PaymentEmulators(wechat_pay, alipay, environment)

"""The emulators as the sandbox uses them: an owner's browser pays on the cashier page, and the notification goes
over HTTP to the merchant's notify URL, re-sent on the provider's schedule until the merchant answers success."""

import http.client
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from urllib.request import urlopen

from propfee.domain.clock import SimulatedClock
from propfee.local.emulators.alipay import AlipayEmulator
from propfee.local.emulators.common import LocalServer
from propfee.local.emulators.wechat_pay import WeChatPayEmulator
from propfee.payments.ports import CheckoutKind, OrderRequest, TradeState
from propfee.providers.alipay import AlipayConfig, AlipayProvider
from propfee.providers.wechat_pay import WeChatPayConfig, WeChatPayProvider


class Merchant:
    """A notify endpoint that fails the first `failures` deliveries, then answers as the provider expects."""

    def __init__(self, failures: int, success: tuple[int, bytes]) -> None:
        self.failures, self.success = failures, success
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.server = LocalServer(self.answer).start()

    def answer(self, method, path, headers, body):
        self.received.append((headers, body))
        if len(self.received) <= self.failures:
            return 500, {}, b'{"code":"FAIL","message":"busy"}'
        return self.success[0], {}, self.success[1]


def post(url: str) -> tuple[int, str, str]:
    """A browser's form POST, not following a redirect: (status, Location, body)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request("POST", parts.path, body=b"", headers={"Content-Type": "application/x-www-form-urlencoded"})
    response = connection.getresponse()
    answer = (response.status, response.getheader("Location") or "", response.read().decode())
    connection.close()
    return answer


def test_wechat_h5_cashier_then_notifications_retried_over_http_until_204():
    clock = SimulatedClock(datetime.now(UTC))
    merchant = Merchant(failures=2, success=(204, b""))
    with WeChatPayEmulator(clock.now) as emulator:
        notify_url = f"{merchant.server.base_url}/notify/wechat_pay"
        config = WeChatPayConfig.from_secret(emulator.secret_fields(), notify_url, emulator.base_url)
        provider = WeChatPayProvider(config, clock.now)
        checkout = provider.create_order(
            OrderRequest(
                "PF0123456789-1", "C01-B01-0101", "C01", ("2026-11",), 25000, "物业费", CheckoutKind.WECHAT_H5,
                client_ip="203.0.113.7",
            )
        )  # fmt: skip
        page = urlopen(checkout.redirect_url).read().decode()
        assert "¥250.00" in page and "确认支付" in page
        status, _, paid = post(checkout.redirect_url)
        assert status == 200 and "支付成功" in paid
        assert provider.query("PF0123456789-1").state is TradeState.PAID

        assert emulator.deliver_due() == 1  # 500
        clock.set(clock.now() + timedelta(seconds=15))
        assert emulator.deliver_due() == 1  # 500 again
        clock.set(clock.now() + timedelta(seconds=14))
        assert emulator.deliver_due() == 0  # the third try waits 30 s
        clock.set(clock.now() + timedelta(seconds=16))
        assert emulator.deliver_due() == 1 and not emulator.notifications.pending()
    merchant.server.stop()
    assert len(merchant.received) == 3
    nonces = {headers["Wechatpay-Nonce"] for headers, _ in merchant.received}
    assert len(nonces) == 3  # each delivery signed afresh
    headers, body = merchant.received[-1]
    notice = provider.verify_notification(headers, body)
    assert notice.out_trade_no == "PF0123456789-1" and notice.amount_fen == 25000


def test_alipay_wap_cashier_returns_the_browser_and_resends_until_the_body_is_success():
    clock = SimulatedClock(datetime.now(UTC))
    merchant = Merchant(failures=1, success=(200, b"success"))
    with AlipayEmulator(clock.now) as emulator:
        notify_url = f"{merchant.server.base_url}/notify/alipay"
        provider = AlipayProvider(AlipayConfig.from_secret(emulator.secret_fields(), notify_url, emulator.gateway))
        checkout = provider.create_order(
            OrderRequest(
                "PF0123456789-2", "C01-B01-0101", "C01", ("2026-11",), 12345, "物业费", CheckoutKind.ALIPAY_WAP,
                return_url="https://pay.example.com/bill/back",
            )
        )  # fmt: skip
        assert "¥123.45" in urlopen(checkout.redirect_url).read().decode()
        base = emulator.gateway.removesuffix("/gateway.do")
        assert post(f"{base}/pay/PF0123456789-2")[:2] == (302, "https://pay.example.com/bill/back")
        emulator.deliver_due()
        clock.set(clock.now() + timedelta(minutes=3))
        assert emulator.deliver_due() == 0  # Alipay's first re-send comes after 4 minutes
        clock.set(clock.now() + timedelta(minutes=1))
        assert emulator.deliver_due() == 1 and not emulator.notifications.pending()
    merchant.server.stop()
    first, second = merchant.received
    assert first[1] == second[1]  # Alipay re-sends the same signed form, with the same notify_id
    assert provider.verify_notification(second[0], second[1]).amount_fen == 12345

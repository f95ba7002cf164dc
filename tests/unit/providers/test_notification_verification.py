"""Each provider's notification is believed only when its signature (and WeChat's encryption) holds, it is fresh,
and it was meant for this merchant: a forged, altered or stale one raises NotificationRejected."""

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

import pytest

from propfee.local.emulators.alipay import AlipayEmulator
from propfee.local.emulators.alipay import Order as AlipayOrder
from propfee.local.emulators.wechat_pay import Order as WeChatOrder
from propfee.local.emulators.wechat_pay import WeChatPayEmulator
from propfee.payments.ports import NotificationRejected, TradeState
from propfee.providers.alipay import AlipayConfig, AlipayProvider
from propfee.providers.wechat_pay import WeChatPayConfig, WeChatPayProvider

NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def wechat():
    emulator = WeChatPayEmulator(lambda: NOW)  # not started: only its keys and signing are used
    order = WeChatOrder("U0101-A1B2C3", "native", 25000, "物业费", "https://x/notify", "C01-B01-0101")
    order.state, order.transaction_id, order.success_time = "SUCCESS", "4200000001", NOW
    provider = WeChatPayProvider(WeChatPayConfig.from_secret(emulator.secret_fields(), "https://x/notify"), lambda: NOW)
    headers, body = emulator.signed_notification("EV-1", emulator._resource(order))
    return emulator, provider, {k.lower(): v for k, v in headers.items()}, body


def test_wechat_a_genuine_notification_is_decrypted(wechat):
    _, provider, headers, body = wechat
    notice = provider.verify_notification(headers, body)
    assert (notice.out_trade_no, notice.transaction_id, notice.amount_fen) == ("U0101-A1B2C3", "4200000001", 25000)
    assert notice.state is TradeState.PAID and notice.notice_id == "EV-1"


def test_wechat_an_altered_body_is_refused(wechat):
    _, provider, headers, body = wechat
    altered = json.loads(body)
    altered["summary"] = "x"
    with pytest.raises(NotificationRejected):
        provider.verify_notification(headers, json.dumps(altered, ensure_ascii=False).encode())


def test_wechat_a_forged_signature_is_refused(wechat):
    _, provider, headers, body = wechat
    forger = WeChatPayEmulator(lambda: NOW)  # its own platform key, same key id claimed
    forged_headers, _ = forger.signed_notification("EV-1", {})
    forged = {**headers, "wechatpay-signature": forged_headers["Wechatpay-Signature"]}
    with pytest.raises(NotificationRejected):
        provider.verify_notification(forged, body)


def test_wechat_an_unknown_key_id_or_signature_type_is_refused_before_the_sdk(wechat):
    _, provider, headers, body = wechat
    with pytest.raises(NotificationRejected, match="unknown key"):
        provider.verify_notification({**headers, "wechatpay-serial": "PUB_KEY_ID_OTHER"}, body)
    with pytest.raises(NotificationRejected):
        provider.verify_notification({**headers, "wechatpay-signature-type": "SM2"}, body)
    without_type = {k: v for k, v in headers.items() if k != "wechatpay-signature-type"}
    with pytest.raises(NotificationRejected):
        provider.verify_notification(without_type, body)


def test_wechat_a_stale_notification_is_refused(wechat):
    emulator, _, headers, body = wechat
    later = WeChatPayProvider(
        WeChatPayConfig.from_secret(emulator.secret_fields(), "https://x/notify"), lambda: NOW + timedelta(minutes=6)
    )
    with pytest.raises(NotificationRejected, match="stale"):
        later.verify_notification(headers, body)


def test_wechat_a_resource_encrypted_with_another_key_is_refused(wechat):
    emulator, provider, _, _ = wechat
    other = WeChatPayEmulator(lambda: NOW)
    other.platform_key, other.public_key_id = emulator.platform_key, emulator.public_key_id  # signed right
    headers, body = other.signed_notification("EV-2", {"out_trade_no": "U0101-A1B2C3"})  # other APIv3 key
    with pytest.raises(NotificationRejected):
        provider.verify_notification({k.lower(): v for k, v in headers.items()}, body)


@pytest.fixture(scope="module")
def alipay():
    emulator = AlipayEmulator(lambda: NOW)
    order = AlipayOrder("U0101-A1B2C3", "250.00", "物业费", "https://x/notify", "C01-B01-0101")
    order.status, order.trade_no, order.paid_at = "TRADE_SUCCESS", "2026120222001", NOW
    provider = AlipayProvider(AlipayConfig.from_secret(emulator.secret_fields(), "https://x/notify"), lambda: NOW)
    body = urlencode(emulator._notification_fields(order, "N-1", NOW)).encode()
    return emulator, provider, body


def test_alipay_a_genuine_notification_is_read(alipay):
    _, provider, body = alipay
    notice = provider.verify_notification({}, body)
    assert (notice.transaction_id, notice.amount_fen, notice.notice_id) == ("2026120222001", 25000, "N-1")
    assert notice.state is TradeState.PAID


@pytest.mark.parametrize(
    "change",
    [{"total_amount": "2.50"}, {"trade_status": "TRADE_SUCCESS", "out_trade_no": "U0202-X"}, {"sign": "AAAA"}],
    ids=["amount altered", "order altered", "signature forged"],
)
def test_alipay_an_altered_or_forged_notification_is_refused(alipay, change):
    _, provider, body = alipay
    fields = dict(parse_qsl(body.decode())) | change
    with pytest.raises(NotificationRejected):
        provider.verify_notification({}, urlencode(fields).encode())


def test_alipay_one_signed_for_another_app_or_without_rsa2_is_refused(alipay):
    emulator, _, body = alipay
    other_app = AlipayProvider(
        AlipayConfig(
            app_id="2021999",
            app_private_key=emulator.secret_fields()["app_private_key"],
            alipay_public_key=emulator.secret_fields()["alipay_public_key"],
            notify_url="https://x",
        ),
        lambda: NOW,
    )
    with pytest.raises(NotificationRejected, match="another application"):
        other_app.verify_notification({}, body)
    fields = dict(parse_qsl(body.decode())) | {"sign_type": "RSA"}
    with pytest.raises(NotificationRejected):
        AlipayProvider(other_app._config, lambda: NOW).verify_notification({}, urlencode(fields).encode())


def test_alipay_a_notification_older_than_its_retries_is_refused(alipay):
    _, provider, body = alipay
    later = AlipayProvider(provider._config, lambda: NOW + timedelta(hours=27))
    with pytest.raises(NotificationRejected, match="stale"):
        later.verify_notification({}, body)

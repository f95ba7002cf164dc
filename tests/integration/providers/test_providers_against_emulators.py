"""The adapters with their SDKs unpatched (but for the base URL) against the local emulators over HTTP: orders,
query, close, refund, the day's trade bill, and the emulators refusing a merchant whose signature is wrong."""

import base64
import json
from datetime import UTC, datetime
from urllib.error import HTTPError
from urllib.request import Request, urlopen
from zoneinfo import ZoneInfo

import pytest

from propfee.local.emulators.alipay import AlipayEmulator
from propfee.local.emulators.common import private_pem
from propfee.local.emulators.wechat_client import FAIL, JSAPI_PAY_PATH, OK
from propfee.local.emulators.wechat_pay import WeChatPayEmulator
from propfee.payments.ports import BillEntryKind, CheckoutKind, OrderRequest, TradeState
from propfee.providers.alipay import AlipayConfig, AlipayProvider
from propfee.providers.alipay import ProviderError as AlipayError
from propfee.providers.wechat_pay import ProviderError as WeChatError
from propfee.providers.wechat_pay import WeChatPayConfig, WeChatPayProvider

NOW = datetime.now(UTC)  # the SDKs stamp requests with the real time, which the emulator checks
TODAY = NOW.astimezone(ZoneInfo("Asia/Shanghai")).date()


def order(no: str, kind: CheckoutKind, amount: int = 25000, **extra) -> OrderRequest:
    return OrderRequest(no, "C01-B01-0101", "C01", ("2026-11",), amount, "锦绣花园 物业费", kind, **extra)


@pytest.fixture()
def wechat():
    with WeChatPayEmulator(lambda: NOW) as emulator:
        config = WeChatPayConfig.from_secret(emulator.secret_fields(), "https://pay.example/notify", emulator.base_url)
        yield emulator, WeChatPayProvider(config, lambda: NOW)


def test_wechat_orders_are_idempotent_on_their_number_and_refuse_other_terms(wechat):
    emulator, provider = wechat
    first = provider.create_order(order("C01B010101N1", CheckoutKind.WECHAT_NATIVE))
    assert provider.create_order(order("C01B010101N1", CheckoutKind.WECHAT_NATIVE)) == first
    assert first.qr_payload and len(emulator.orders) == 1
    with pytest.raises(WeChatError, match="INVALID_REQUEST"):
        provider.create_order(order("C01B010101N1", CheckoutKind.WECHAT_NATIVE, amount=1))
    h5 = provider.create_order(order("C01B010101H1", CheckoutKind.WECHAT_H5, client_ip="203.0.113.7"))
    jsapi = provider.create_order(order("C01B010101J1", CheckoutKind.WECHAT_JSAPI, openid="oUser"))
    assert h5.redirect_url and jsapi.jsapi_params["package"].startswith("prepay_id=")


def test_wechat_query_close_refund_and_the_trade_bill(wechat):
    emulator, provider = wechat
    provider.create_order(order("C01B010101N2", CheckoutKind.WECHAT_NATIVE))
    provider.create_order(order("C01B010101N3", CheckoutKind.WECHAT_NATIVE, amount=100))
    assert provider.query("C01B010101N2").state is TradeState.NOT_PAID
    assert provider.query("C01B010101XX") is None
    emulator.pay("C01B010101N2")
    paid = provider.query("C01B010101N2")
    assert paid.state is TradeState.PAID and paid.transaction_id and paid.amount_fen == 25000
    provider.close("C01B010101N3")  # answered 204, signed
    assert provider.query("C01B010101N3").state is TradeState.CLOSED
    refund_id = provider.refund(paid, "C01B010101N2R1", 5000, "多收")
    assert provider.refund(paid, "C01B010101N2R1", 5000, "多收") == refund_id  # the same refund once
    assert emulator.orders["C01B010101N2"].refunded_fen == 5000
    row, refund = provider.trade_bill(TODAY)  # the SHA1 of the unzipped bill checked, its summary's count too
    assert (row.out_trade_no, row.transaction_id, row.amount_fen) == ("C01B010101N2", paid.transaction_id, 25000)
    assert (refund.kind, refund.refund_id, refund.refund_fen) == (BillEntryKind.REFUND, refund_id, 5000)


def test_wechat_a_merchant_signing_with_another_key_is_refused(wechat):
    emulator, _ = wechat
    impostor = emulator.secret_fields() | {
        "merchant_private_key": private_pem(WeChatPayEmulator(lambda: NOW).merchant_key)
    }
    provider = WeChatPayProvider(WeChatPayConfig.from_secret(impostor, "https://x", emulator.base_url), lambda: NOW)
    with pytest.raises(WeChatError, match="401"):
        provider.create_order(order("C01B010101N4", CheckoutKind.WECHAT_NATIVE))
    assert emulator.refused_signatures == 1 and not emulator.orders


def wechat_client_pays(emulator, params, openid="oPayer0101"):
    """What the WeChat client signed in as `openid` does with a page's JSAPI parameters."""
    body = json.dumps({"openid": openid, "params": params}).encode()
    request = Request(emulator.base_url + JSAPI_PAY_PATH, body, {"Content-Type": "application/json"})
    try:
        with urlopen(request, timeout=10) as answer:  # nosec B310 - the loopback emulator
            return answer.status, json.loads(answer.read())["err_msg"]
    except HTTPError as error:
        return error.code, json.loads(error.read())["err_msg"]


def test_wechat_jsapi_parameters_signed_by_the_merchant_pay_the_payers_order_once(wechat):
    emulator, provider = wechat
    checkout = provider.create_order(order("C01B010101J2", CheckoutKind.WECHAT_JSAPI, openid="oPayer0101"))
    params = dict(checkout.jsapi_params)
    assert params["appId"] == emulator.appid and params["signType"] == "RSA"
    forged = dict(params, paySign=base64.b64encode(b"x" * 256).decode())
    assert wechat_client_pays(emulator, forged) == (400, FAIL)  # not the merchant's signature
    assert wechat_client_pays(emulator, dict(params, nonceStr="other")) == (400, FAIL)  # signed over other fields
    assert wechat_client_pays(emulator, params, openid="oSomeoneElse") == (400, FAIL)  # another user's order
    assert emulator.jsapi_refused == ["paySign", "paySign", "prepay_id"] and emulator.orders["C01B010101J2"].state == (
        "NOTPAY"
    )
    assert not emulator.notifications.pending()
    assert wechat_client_pays(emulator, params) == (200, OK)
    assert emulator.orders["C01B010101J2"].state == "SUCCESS" and len(emulator.notifications.pending()) == 1
    assert wechat_client_pays(emulator, params) == (400, FAIL)  # paid already
    assert provider.query("C01B010101J2").state is TradeState.PAID
    # the same number for another payer is another order's terms: refused
    with pytest.raises(WeChatError, match="INVALID_REQUEST"):
        provider.create_order(order("C01B010101J2", CheckoutKind.WECHAT_JSAPI, openid="oSomeoneElse"))


@pytest.fixture()
def alipay():
    with AlipayEmulator(lambda: NOW) as emulator:
        config = AlipayConfig.from_secret(emulator.secret_fields(), "https://pay.example/notify", emulator.gateway)
        yield emulator, AlipayProvider(config, lambda: NOW)


def test_alipay_wap_url_opens_the_order_once_and_precreate_refuses_other_terms(alipay):
    emulator, provider = alipay
    wap = provider.create_order(order("C01B010101W1", CheckoutKind.ALIPAY_WAP, return_url="https://pay.example/r"))
    assert "QUICK_WAP_WAY" in wap.redirect_url.replace("%22", '"')
    for _ in range(2):  # the owner opens it twice
        assert "250.00" in urlopen(wap.redirect_url).read().decode()
    assert list(emulator.orders) == ["C01B010101W1"]
    qr = provider.create_order(order("C01B010101Q1", CheckoutKind.ALIPAY_QR))
    assert qr.qr_payload
    with pytest.raises(AlipayError, match="CONTEXT_INCONSISTENT"):
        provider.create_order(order("C01B010101Q1", CheckoutKind.ALIPAY_QR, amount=100))


def test_alipay_query_close_refund_and_the_trade_bill(alipay):
    emulator, provider = alipay
    provider.create_order(order("C01B010101Q2", CheckoutKind.ALIPAY_QR, amount=12345))
    provider.create_order(order("C01B010101Q3", CheckoutKind.ALIPAY_QR))
    assert provider.query("C01B010101Q2").state is TradeState.NOT_PAID
    assert provider.query("C01B010101ZZ") is None
    emulator.pay("C01B010101Q2")
    paid = provider.query("C01B010101Q2")
    assert paid.state is TradeState.PAID and paid.amount_fen == 12345
    provider.close("C01B010101Q3")
    assert provider.query("C01B010101Q3").state is TradeState.CLOSED
    provider.refund(paid, "R1", 345, "多收")
    provider.refund(paid, "R1", 345, "多收")
    assert emulator.orders["C01B010101Q2"].refunded == {"R1": "3.45"}
    row, refund = provider.trade_bill(TODAY)  # the zip's GBK details, checked against its totals line
    assert (row.out_trade_no, row.transaction_id, row.amount_fen) == ("C01B010101Q2", paid.transaction_id, 12345)
    assert (refund.kind, refund.refund_id, refund.refund_fen) == (
        BillEntryKind.REFUND,
        f"{paid.transaction_id}#R1",
        345,
    )


def test_alipay_a_request_signed_with_another_key_is_refused(alipay):
    emulator, _ = alipay
    impostor = emulator.secret_fields() | {"app_private_key": private_pem(AlipayEmulator(lambda: NOW).app_key)}
    provider = AlipayProvider(AlipayConfig.from_secret(impostor, "https://x", emulator.gateway), lambda: NOW)
    with pytest.raises(AlipayError, match="40002"):
        provider.create_order(order("C01B010101Q4", CheckoutKind.ALIPAY_QR))
    assert emulator.refused_signatures == 1 and not emulator.orders

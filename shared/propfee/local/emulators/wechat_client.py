"""What the WeChat client does with a page's JSAPI parameters (WeixinJSBridge.invoke("getBrandWCPayRequest")),
as an endpoint of the WeChat Pay emulator, POST /emulator/jsapi/pay {"openid", "params"}: the paySign checked
with the MERCHANT's public key over "appId\\ntimeStamp\\nnonceStr\\npackage\\n" (WeChat Pay's scheme, RSA
SHA256), the app id the merchant's, the prepay_id one of a JSAPI order created for this payer's openid, then the
order paid, and its notification queued as after an H5 payment. The answer is the bridge's callback argument,
{"err_msg": "get_brand_wcpay_request:ok"} or ":fail" with the reason."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from propfee.local.emulators.common import Answer

if TYPE_CHECKING:
    from propfee.local.emulators.wechat_pay import WeChatPayEmulator

JSAPI_PAY_PATH = "/emulator/jsapi/pay"
_JSON = {"Content-Type": "application/json; charset=utf-8"}
OK, FAIL = "get_brand_wcpay_request:ok", "get_brand_wcpay_request:fail"


def pay_message(params: dict[str, Any]) -> bytes:
    fields = (params.get(k, "") for k in ("appId", "timeStamp", "nonceStr", "package"))
    return "".join(f"{value}\n" for value in fields).encode()


def _signed_by_merchant(emulator: WeChatPayEmulator, params: dict[str, Any]) -> bool:
    try:
        signature = base64.b64decode(str(params.get("paySign", "")), validate=True)
        emulator.merchant_key.public_key().verify(signature, pay_message(params), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def _answer(status: int, message: str, reason: str = "") -> Answer:
    body = {"err_msg": message, **({"reason": reason} if reason else {})}
    return status, dict(_JSON), json.dumps(body, ensure_ascii=False).encode()


def jsapi_pay(emulator: WeChatPayEmulator, body: bytes) -> Answer:
    """The WeChat client paying the JSAPI parameters for the user signed in to it (`openid`)."""
    try:
        given = json.loads(body or b"{}")
        params, openid = dict(given["params"]), str(given["openid"])
    except (ValueError, KeyError, TypeError):
        return _answer(400, FAIL, "unreadable")
    if params.get("signType") != "RSA" or params.get("appId") != emulator.appid:
        emulator.jsapi_refused.append("appId or signType")
        return _answer(400, FAIL, "appId or signType")
    if not _signed_by_merchant(emulator, params):
        emulator.jsapi_refused.append("paySign")
        return _answer(400, FAIL, "支付验证签名失败")
    prepay_id = str(params.get("package", "")).removeprefix("prepay_id=")
    order = next((o for o in emulator.orders.values() if o.kind == "jsapi" and o.prepay_id == prepay_id), None)
    if order is None or order.payer_openid != openid:
        emulator.jsapi_refused.append("prepay_id")  # another user's order, or none: WeChat refuses it
        return _answer(400, FAIL, "prepay_id")
    if order.state != "NOTPAY":
        emulator.jsapi_refused.append(order.state)
        return _answer(400, FAIL, "该订单已支付" if order.state == "SUCCESS" else order.state)
    emulator.pay(order.out_trade_no)
    return _answer(200, OK)

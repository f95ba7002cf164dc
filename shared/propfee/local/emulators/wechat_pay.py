"""A local WeChat Pay API v3: checks the merchant's signatures, signs its answers, keeps orders, pushes signed and
AES-GCM encrypted notifications with WeChat Pay's retries on a simulated clock, and serves the trade bill."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import secrets
import string
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from propfee.local.emulators.common import (
    Answer,
    Delivery,
    LocalServer,
    NotificationQueue,
    Transport,
    cashier_page,
    http_post,
    new_rsa_key,
    not_found,
    paid_page,
    private_pem,
    public_pem,
)
from propfee.local.emulators.wechat_client import JSAPI_PAY_PATH, jsapi_pay

SHANGHAI = ZoneInfo("Asia/Shanghai")
# WeChat Pay's notification retries after an answer that is not 200/204 (its docs: about 24 hours in all)
RETRY_SCHEDULE = tuple(
    timedelta(seconds=s)
    for s in (15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600)
)
_AUTH = re.compile(r'(\w+)="([^"]*)"')
_PAY = re.compile(r"^/v3/pay/transactions/(h5|jsapi|native)$")
_BY_NO = re.compile(r"^/v3/pay/transactions/out-trade-no/([^/]+)$")
_CLOSE = re.compile(r"^/v3/pay/transactions/out-trade-no/([^/]+)/close$")


@dataclass
class Order:
    out_trade_no: str
    kind: str
    amount_fen: int
    description: str
    notify_url: str
    attach: str
    payer_openid: str = ""  # JSAPI: the payer the order was made for
    state: str = "NOTPAY"
    transaction_id: str = ""
    success_time: datetime | None = None
    refunded_fen: int = 0
    refunds: list[Refund] = field(default_factory=list)

    @property
    def prepay_id(self) -> str:
        return f"wx{self.out_trade_no}"


@dataclass(frozen=True)
class Refund:
    refund_id: str
    out_refund_no: str
    amount_fen: int
    at: datetime


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"code": code, "message": message}


class WeChatPayEmulator:
    """Start it, hand `secret_fields()` to the adapter (via Secrets Manager), then `pay()` and `deliver_due()`."""

    def __init__(
        self,
        clock: Callable[[], datetime],
        mchid: str = "1900000109",
        appid: str = "wx8888888888888888",
        transport: Transport = http_post,
    ) -> None:
        self.clock = clock
        self.mchid, self.appid = mchid, appid
        self.merchant_key = new_rsa_key()  # the merchant's API key pair (a real merchant makes its own)
        self.merchant_serial = secrets.token_hex(20).upper()
        self.platform_key = new_rsa_key()  # WeChat Pay's key: signs answers and notifications
        self.public_key_id = "PUB_KEY_ID_" + secrets.token_hex(16).upper()
        alphabet = string.ascii_letters + string.digits
        self.apiv3_key = "".join(secrets.choice(alphabet) for _ in range(32))
        self.orders: dict[str, Order] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.bills: dict[str, bytes] = {}
        self.refused_signatures = 0
        self.jsapi_refused: list[str] = []  # why the WeChat client refused a page's JSAPI parameters
        self.notifications = NotificationQueue(clock, RETRY_SCHEDULE, lambda status, _: status in (200, 204), transport)
        self._lock = threading.Lock()
        self._server = LocalServer(self._app)

    # ------------------------------------------------------------------ life and configuration
    def start(self) -> WeChatPayEmulator:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> WeChatPayEmulator:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return self._server.base_url

    def secret_fields(self) -> dict[str, str]:
        """What the merchant's Secrets Manager secret holds, as the adapter reads it."""
        return {
            "mchid": self.mchid,
            "appid": self.appid,
            "merchant_private_key": private_pem(self.merchant_key),
            "merchant_serial": self.merchant_serial,
            "apiv3_key": self.apiv3_key,
            "platform_public_key": public_pem(self.platform_key),
            "platform_public_key_id": self.public_key_id,
        }

    # ------------------------------------------------------------------ what a test does
    def pay(self, out_trade_no: str, amount_fen: int | None = None) -> Delivery:
        """The owner pays the order (optionally a different amount, as a faulty cashier would report); the
        notification is queued, due now."""
        with self._lock:
            order = self.orders[out_trade_no]
            order.state = "SUCCESS"
            order.transaction_id = order.transaction_id or "42000" + secrets.token_hex(12)[:23]
            order.success_time = self.clock()
            if amount_fen is not None:
                order.amount_fen = amount_fen
        return self.notify(out_trade_no)

    def notify(self, out_trade_no: str, delay: timedelta = timedelta()) -> Delivery:
        """Queue a notification of the order's state (again: a duplicate, with the same notification id)."""
        order = self.orders[out_trade_no]
        notice_id = f"EV-{order.transaction_id or secrets.token_hex(8)}"
        resource = self._resource(order)
        return self.notifications.push(order.notify_url, lambda: self.signed_notification(notice_id, resource), delay)

    def deliver_due(self) -> int:
        return self.notifications.deliver_due()

    def signed_notification(self, notice_id: str, resource: dict[str, Any]) -> tuple[dict[str, str], bytes]:
        """A notification as WeChat Pay sends it: the resource AES-256-GCM encrypted, the body signed."""
        nonce = secrets.token_hex(6)  # 12 characters: the GCM nonce
        associated = "transaction"
        cipher = AESGCM(self.apiv3_key.encode()).encrypt(
            nonce.encode(), json.dumps(resource, ensure_ascii=False).encode(), associated.encode()
        )
        now = self.clock()
        body = json.dumps(
            {
                "id": notice_id,
                "create_time": now.astimezone(SHANGHAI).isoformat(timespec="seconds"),
                "resource_type": "encrypt-resource",
                "event_type": "TRANSACTION.SUCCESS",
                "summary": "支付成功",
                "resource": {
                    "original_type": "transaction",
                    "algorithm": "AEAD_AES_256_GCM",
                    "ciphertext": base64.b64encode(cipher).decode(),
                    "associated_data": associated,
                    "nonce": nonce,
                },
            },
            ensure_ascii=False,
        ).encode()
        return self._signed_headers(body, int(now.timestamp())), body

    # ------------------------------------------------------------------ signatures
    def _sign(self, message: bytes) -> str:
        return base64.b64encode(self.platform_key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()

    def _signed_headers(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        nonce = secrets.token_hex(16).upper()
        return {
            "Content-Type": "application/json",
            "Wechatpay-Timestamp": stamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Serial": self.public_key_id,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
            "Wechatpay-Signature": self._sign(f"{stamp}\n{nonce}\n".encode() + body + b"\n"),
        }

    def _merchant_signed(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> bool:
        """WECHATPAY2-SHA256-RSA2048 over METHOD\\nPATH?query\\ntimestamp\\nnonce\\nbody\\n with the merchant's key."""
        authorization = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        scheme, _, rest = authorization.partition(" ")
        fields = dict(_AUTH.findall(rest))
        if scheme != "WECHATPAY2-SHA256-RSA2048" or fields.get("mchid") != self.mchid:
            return False
        if fields.get("serial_no") != self.merchant_serial:
            return False
        if abs(time.time() - int(fields.get("timestamp") or 0)) > 300:
            return False
        message = f"{method}\n{path}\n{fields['timestamp']}\n{fields.get('nonce_str', '')}\n".encode() + body + b"\n"
        try:
            self.merchant_key.public_key().verify(
                base64.b64decode(fields.get("signature", "")), message, padding.PKCS1v15(), hashes.SHA256()
            )
        except (InvalidSignature, ValueError):
            return False
        return True

    # ------------------------------------------------------------------ the API
    def _app(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        if path.startswith("/bills/"):  # the short-lived download URL: not signed, like the real one's content
            content = self.bills.get(path.removeprefix("/bills/"))
            return (200, {"Content-Type": "application/octet-stream"}, content) if content else (404, {}, b"")
        if path == JSAPI_PAY_PATH and method == "POST":  # the WeChat client paying JSAPI parameters (unsigned)
            return jsapi_pay(self, body)
        if path.startswith("/pay/"):  # the H5 cashier the owner's browser is sent to (not an API: unsigned)
            return self._cashier(method, path.removeprefix("/pay/"))
        answer: dict[str, Any] | None
        if not self._merchant_signed(method, path, headers, body):
            self.refused_signatures += 1
            status, answer = _error(401, "SIGN_ERROR", "签名错误")
        else:
            with self._lock:
                status, answer = self._route(method, path, json.loads(body) if body else {})
        raw = json.dumps(answer, ensure_ascii=False).encode() if answer is not None else b""
        return status, self._signed_headers(raw), raw

    def _cashier(self, method: str, out_trade_no: str) -> Answer:
        order = self.orders.get(out_trade_no)
        if order is None:
            return not_found()
        if method == "POST" and order.state == "NOTPAY":
            self.pay(out_trade_no)
            return paid_page(None)
        if order.state == "SUCCESS":
            return paid_page(None)
        return cashier_page("微信支付", order.description, f"{order.amount_fen / 100:.2f}", f"/pay/{out_trade_no}")

    def _route(self, method: str, path: str, data: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        split = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        if method == "POST" and (pay := _PAY.match(split.path)):
            return self._create(pay.group(1), data)
        if method == "POST" and (close := _CLOSE.match(split.path)):
            order = self.orders.get(close.group(1))
            if order is None:
                return _error(404, "ORDER_NOT_EXIST", "订单不存在")
            if order.state == "SUCCESS":
                return _error(400, "ORDERPAID", "订单已支付")
            order.state = "CLOSED"
            return 204, None
        if method == "GET" and (by_no := _BY_NO.match(split.path)):
            if query.get("mchid") != self.mchid:
                return _error(400, "PARAM_ERROR", "mchid")
            order = self.orders.get(by_no.group(1))
            return (200, self._resource(order)) if order else _error(404, "ORDER_NOT_EXIST", "订单不存在")
        if method == "POST" and split.path == "/v3/refund/domestic/refunds":
            return self._refund(data)
        if method == "GET" and split.path == "/v3/bill/tradebill":
            return self._trade_bill(date.fromisoformat(query["bill_date"]))
        return _error(404, "NOT_FOUND", "no such API")

    def _create(self, kind: str, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        no, total = str(data.get("out_trade_no", "")), (data.get("amount") or {}).get("total")
        if data.get("mchid") != self.mchid or data.get("appid") != self.appid:
            return _error(400, "PARAM_ERROR", "appid和mch_id不匹配")
        if not re.fullmatch(r"[0-9A-Za-z_\-|*]{6,32}", no) or not isinstance(total, int) or total <= 0:
            return _error(400, "PARAM_ERROR", "参数错误")
        if kind == "h5" and not (data.get("scene_info") or {}).get("payer_client_ip"):
            return _error(400, "PARAM_ERROR", "缺少scene_info")
        if kind == "jsapi" and not (data.get("payer") or {}).get("openid"):
            return _error(400, "PARAM_ERROR", "缺少openid")
        payer = str((data.get("payer") or {}).get("openid", ""))
        order = self.orders.get(no)
        if order is None:
            order = Order(
                no, kind, total, str(data.get("description", "")), str(data["notify_url"]), str(data.get("attach", ""))
            )
            order.payer_openid = payer
            self.orders[no] = order
        elif order.amount_fen != total or order.kind != kind or order.payer_openid != payer:
            return _error(400, "INVALID_REQUEST", "201 商户订单号重复")  # the same number, other terms
        elif order.state == "SUCCESS":
            return _error(400, "ORDERPAID", "该订单已支付")
        if kind == "h5":
            return 200, {"h5_url": f"{self.base_url}/pay/{no}"}
        if kind == "native":
            return 200, {"code_url": f"weixin://wxpay/bizpayurl?pr={no}"}
        return 200, {"prepay_id": order.prepay_id}

    def _resource(self, order: Order) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "appid": self.appid,
            "mchid": self.mchid,
            "out_trade_no": order.out_trade_no,
            "trade_state": order.state,
            "trade_type": order.kind.upper(),
            "attach": order.attach,
            "amount": {"total": order.amount_fen, "currency": "CNY"},
        }
        if order.transaction_id:
            answer["transaction_id"] = order.transaction_id
            answer["amount"]["payer_total"] = order.amount_fen
        if order.success_time:
            answer["success_time"] = order.success_time.astimezone(SHANGHAI).isoformat(timespec="seconds")
        return answer

    def _refund(self, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        order = next((o for o in self.orders.values() if o.transaction_id == data.get("transaction_id")), None)
        if order is None:
            order = self.orders.get(str(data.get("out_trade_no")))
        amount = data.get("amount") or {}
        if order is None or order.state not in ("SUCCESS", "REFUND"):
            return _error(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        if (
            amount.get("total") != order.amount_fen
            or order.refunded_fen + int(amount.get("refund", 0)) > order.amount_fen
        ):
            return _error(400, "INVALID_REQUEST", "退款金额错误")
        refund_no = str(data["out_refund_no"])
        if refund_no not in self.refunds:
            order.refunded_fen += int(amount["refund"])
            order.state = "REFUND" if order.refunded_fen == order.amount_fen else order.state
            self.refunds[refund_no] = {"refund_id": "50" + secrets.token_hex(14), "out_refund_no": refund_no}
            refund = Refund(self.refunds[refund_no]["refund_id"], refund_no, int(amount["refund"]), self.clock())
            order.refunds.append(refund)
        return 200, {**self.refunds[refund_no], "status": "PROCESSING", "amount": amount}

    def _trade_bill(self, day: date) -> tuple[int, dict[str, Any]]:
        """Every payment and refund of the local day, as the orders stand (a payment whose notification was
        never delivered is there too)."""

        def on_day(moment: datetime | None) -> bool:
            return moment is not None and moment.astimezone(SHANGHAI).date() == day

        paid = [o for o in self.orders.values() if on_day(o.success_time)]
        refunds = [(o, r) for o in self.orders.values() for r in o.refunds if on_day(r.at)]
        if not paid and not refunds:
            return _error(400, "NO_STATEMENT_EXIST", "当日无交易")
        token = secrets.token_urlsafe(16)
        text = trade_bill_csv(self.appid, self.mchid, paid, refunds).encode("utf-8")
        self.bills[token] = gzip.compress(text)
        return 200, {
            "hash_type": "SHA1",
            "hash_value": hashlib.sha1(text).hexdigest(),  # noqa: S324  # nosec B324 - over the bill before gzip
            "download_url": f"{self.base_url}/bills/{token}",
        }


BILL_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
    "货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,"
    "商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
)
BILL_SUMMARY_HEADER = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def bill_row(appid: str, mchid: str, order: Order, refund: Refund | None = None) -> str:
    """One row of the trade bill, every field after a backtick."""
    at = refund.at if refund else order.success_time
    assert at is not None
    total = _yuan(order.amount_fen)
    settled = "0.00" if refund else total
    refund_fields = (
        [refund.refund_id, refund.out_refund_no, _yuan(refund.amount_fen), "0.00", "ORIGINAL", "SUCCESS"]
        if refund
        else ["0", "0", "0.00", "0.00", "", ""]
    )
    fields = [
        at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"), appid, mchid, "0", "", order.transaction_id,
        order.out_trade_no, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", order.kind.upper(), "REFUND" if refund else "SUCCESS",
        "OTHERS", "CNY", settled, "0.00", *refund_fields, order.description, order.attach, "0.00000", "0.60%",
        total, _yuan(refund.amount_fen) if refund else "0.00", "",
    ]  # fmt: skip
    return ",".join("`" + f for f in fields)


def bill_summary(rows: int, settled_fen: int, refunded_fen: int, ordered_fen: int) -> list[str]:
    return [
        BILL_SUMMARY_HEADER,
        f"`{rows},`{_yuan(settled_fen)},`{_yuan(refunded_fen)},`0.00,`0.00000,`{_yuan(ordered_fen)},"
        f"`{_yuan(refunded_fen)}",
    ]


def trade_bill_csv(
    appid: str, mchid: str, orders: Sequence[Order], refunds: Sequence[tuple[Order, Refund]] = ()
) -> str:
    """WeChat Pay's trade bill (ALL): a header line, a row per payment and per refund with every field after a
    backtick, amounts in yuan, then the summary block."""
    lines = [BILL_HEADER]
    lines += [bill_row(appid, mchid, o) for o in orders]
    lines += [bill_row(appid, mchid, o, r) for o, r in refunds]
    paid = sum(o.amount_fen for o in orders)
    refunded = sum(r.amount_fen for _, r in refunds)
    lines += bill_summary(len(orders) + len(refunds), paid, refunded, paid)
    return "\n".join(lines) + "\n"

"""A local Alipay open-platform gateway: checks the merchant's RSA2 request signatures, signs its answers, keeps
orders (WAP and precreate), pushes signed form-encoded notifications with Alipay's retries on a simulated clock,
and serves the trade bill as a zip of GBK CSV."""

from __future__ import annotations

import base64
import io
import json
import secrets
import threading
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

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

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Alipay's re-sends of a notification not answered `success` (its docs: about 25 hours)
RETRY_SCHEDULE = tuple(timedelta(minutes=m) for m in (4, 10, 10, 60, 120, 360, 900))
_TIME = "%Y-%m-%d %H:%M:%S"


@dataclass
class Order:
    out_trade_no: str
    amount: str  # yuan, as Alipay keeps it
    subject: str
    notify_url: str
    passback: str
    status: str = "WAIT_BUYER_PAY"
    trade_no: str = ""
    paid_at: datetime | None = None
    refunded: dict[str, str] | None = None
    refunded_at: dict[str, datetime] = field(default_factory=dict)  # out_request_no -> when
    return_url: str | None = None  # where the cashier sends the browser back (WAP)


def _to_cents(text: str) -> int:
    whole, _, part = text.partition(".")
    return int(whole) * 100 + int((part + "00")[:2])


class AlipayEmulator:
    """Start it, hand `secret_fields()` to the adapter, let the browser open the WAP URL (or precreate), `pay()`,
    then `deliver_due()`."""

    def __init__(
        self, clock: Callable[[], datetime], app_id: str = "2021000000000001", transport: Transport = http_post
    ) -> None:
        self.clock = clock
        self.app_id = app_id
        self.app_key = new_rsa_key()  # the merchant application's key pair
        self.alipay_key = new_rsa_key()  # Alipay's: signs answers and notifications
        self.orders: dict[str, Order] = {}
        self.bills: dict[str, bytes] = {}
        self.refused_signatures = 0
        self.notifications = NotificationQueue(clock, RETRY_SCHEDULE, lambda _, body: body == b"success", transport)
        self._lock = threading.Lock()
        self._server = LocalServer(self._app)

    def start(self) -> AlipayEmulator:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> AlipayEmulator:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def gateway(self) -> str:
        return f"{self._server.base_url}/gateway.do"

    def secret_fields(self) -> dict[str, str]:
        return {
            "app_id": self.app_id,
            "app_private_key": private_pem(self.app_key),
            "alipay_public_key": public_pem(self.alipay_key),
        }

    # ------------------------------------------------------------------ what a test does
    def pay(self, out_trade_no: str, amount: str | None = None) -> Delivery:
        with self._lock:
            order = self.orders[out_trade_no]
            order.status = "TRADE_SUCCESS"
            order.trade_no = order.trade_no or self.clock().astimezone(SHANGHAI).strftime("%Y%m%d") + "22001" + str(
                secrets.randbelow(10**15)
            ).zfill(15)
            order.paid_at = self.clock()
            if amount is not None:
                order.amount = amount
        return self.notify(out_trade_no)

    def notify(self, out_trade_no: str, delay: timedelta = timedelta()) -> Delivery:
        """Queue the order's notification (again: a duplicate with the same notify_id, as Alipay re-sends)."""
        order = self.orders[out_trade_no]
        notify_id = f"2026{secrets.token_hex(14)}"
        sent = self.clock()
        fields = self._notification_fields(order, notify_id, sent)
        body = urlencode(fields).encode()  # the same content on every retry, as Alipay re-sends it
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        return self.notifications.push(order.notify_url, lambda: (headers, body), delay)

    def deliver_due(self) -> int:
        return self.notifications.deliver_due()

    def _notification_fields(self, order: Order, notify_id: str, sent: datetime) -> dict[str, str]:
        fields = {
            "notify_time": sent.astimezone(SHANGHAI).strftime(_TIME),
            "notify_type": "trade_status_sync",
            "notify_id": notify_id,
            "app_id": self.app_id,
            "charset": "utf-8",
            "version": "1.0",
            "trade_no": order.trade_no,
            "out_trade_no": order.out_trade_no,
            "trade_status": order.status,
            "total_amount": order.amount,
            "receipt_amount": order.amount,
            "buyer_pay_amount": order.amount,
            "subject": order.subject,
            "passback_params": order.passback,
        }
        if order.paid_at:
            fields["gmt_payment"] = order.paid_at.astimezone(SHANGHAI).strftime(_TIME)
        fields["sign"] = self._sign("&".join(f"{k}={v}" for k, v in sorted(fields.items())))
        fields["sign_type"] = "RSA2"
        return fields

    # ------------------------------------------------------------------ signatures
    def _sign(self, text: str) -> str:
        return base64.b64encode(self.alipay_key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()

    def _merchant_signed(self, params: Mapping[str, str]) -> bool:
        """RSA2 over the sorted k=v pairs of every parameter but sign, with the application's public key."""
        if params.get("app_id") != self.app_id or params.get("sign_type") != "RSA2":
            return False
        text = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign")
        try:
            self.app_key.public_key().verify(
                base64.b64decode(params.get("sign", "")), text.encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except (InvalidSignature, ValueError):
            return False
        return True

    def _signed_answer(self, method: str, answer: dict[str, Any]) -> Answer:
        inner = json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
        key = method.replace(".", "_") + "_response"
        raw = f'{{"{key}":{inner},"sign":"{self._sign(inner)}"}}'.encode()
        return 200, {"Content-Type": "application/json;charset=utf-8"}, raw

    # ------------------------------------------------------------------ the gateway
    def _app(self, http_method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        split = urlsplit(path)
        if split.path.startswith("/bills/"):
            content = self.bills.get(split.path.removeprefix("/bills/"))
            return (200, {"Content-Type": "application/zip"}, content) if content else (404, {}, b"")
        if split.path.startswith("/pay/"):  # the WAP cashier's pay button
            return self._cashier(http_method, split.path.removeprefix("/pay/"))
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        if body:
            params.update(parse_qsl(body.decode(), keep_blank_values=True))
        method = params.get("method", "")
        if not self._merchant_signed(params):
            self.refused_signatures += 1
            return self._signed_answer(
                method,
                {
                    "code": "40002",
                    "msg": "Invalid Arguments",
                    "sub_code": "isv.invalid-signature",
                    "sub_msg": "验签出错",
                },
            )
        biz = json.loads(params.get("biz_content") or "{}")
        with self._lock:
            if method == "alipay.trade.wap.pay":
                return self._wap_page(biz, params)
            handler = {
                "alipay.trade.precreate": self._precreate,
                "alipay.trade.query": self._query,
                "alipay.trade.close": self._close,
                "alipay.trade.refund": self._refund,
                "alipay.data.dataservice.bill.downloadurl.query": self._bill_url,
            }.get(method)
            answer = handler(biz, params) if handler else {"code": "40004", "sub_code": "isv.invalid-method"}
        answer.setdefault("msg", "Success" if answer["code"] == "10000" else "Business Failed")
        return self._signed_answer(method, answer)

    def _order(self, biz: dict[str, Any], params: Mapping[str, str]) -> tuple[Order | None, dict[str, Any] | None]:
        """Create or find an order: the same out_trade_no with other terms is refused, as Alipay does."""
        no, amount = str(biz.get("out_trade_no", "")), str(biz.get("total_amount", ""))
        if not no or len(no) > 64 or not amount:
            return None, {"code": "40002", "sub_code": "isv.missing-required-arguments"}
        order = self.orders.get(no)
        if order is None:
            order = Order(
                no,
                amount,
                str(biz.get("subject", "")),
                params.get("notify_url", ""),
                str(biz.get("passback_params", "")),
            )
            self.orders[no] = order
        elif _to_cents(order.amount) != _to_cents(amount):
            return None, {"code": "40004", "sub_code": "ACQ.CONTEXT_INCONSISTENT", "sub_msg": "交易信息被篡改"}
        elif order.status != "WAIT_BUYER_PAY":
            return None, {"code": "40004", "sub_code": "ACQ.TRADE_HAS_SUCCESS", "sub_msg": "交易已被支付"}
        return order, None

    def _wap_page(self, biz: dict[str, Any], params: Mapping[str, str]) -> Answer:
        if biz.get("product_code") != "QUICK_WAP_WAY":
            return 200, {"Content-Type": "text/html; charset=utf-8"}, b"<p>ACQ.PRODUCT_CODE_ERROR</p>"
        order, error = self._order(biz, params)
        if error:
            return 200, {"Content-Type": "text/html; charset=utf-8"}, f"<p>{error['sub_code']}</p>".encode()
        assert order is not None
        order.return_url = params.get("return_url") or order.return_url
        return cashier_page("支付宝", order.subject, order.amount, f"/pay/{order.out_trade_no}")

    def _cashier(self, method: str, out_trade_no: str) -> Answer:
        order = self.orders.get(out_trade_no)
        if order is None or method != "POST":
            return not_found()
        if order.status == "WAIT_BUYER_PAY":
            self.pay(out_trade_no)
        return paid_page(order.return_url)

    def _precreate(self, biz: dict[str, Any], params: Mapping[str, str]) -> dict[str, Any]:
        order, error = self._order(biz, params)
        if error:
            return error
        assert order is not None
        return {
            "code": "10000",
            "out_trade_no": order.out_trade_no,
            "qr_code": f"https://qr.alipay.com/{order.out_trade_no}",
        }

    def _query(self, biz: dict[str, Any], params: Mapping[str, str]) -> dict[str, Any]:
        order = self.orders.get(str(biz.get("out_trade_no")))
        if order is None:
            return {"code": "40004", "sub_code": "ACQ.TRADE_NOT_EXIST", "sub_msg": "交易不存在"}
        answer = {"code": "10000", "out_trade_no": order.out_trade_no, "trade_no": order.trade_no,
                  "trade_status": order.status, "total_amount": order.amount}  # fmt: skip
        if order.paid_at:
            answer["send_pay_date"] = order.paid_at.astimezone(SHANGHAI).strftime(_TIME)
        return answer

    def _close(self, biz: dict[str, Any], params: Mapping[str, str]) -> dict[str, Any]:
        order = self.orders.get(str(biz.get("out_trade_no")))
        if order is None:
            return {"code": "40004", "sub_code": "ACQ.TRADE_NOT_EXIST"}
        if order.status != "WAIT_BUYER_PAY":
            return {"code": "40004", "sub_code": "ACQ.TRADE_STATUS_ERROR"}
        order.status = "TRADE_CLOSED"
        return {"code": "10000", "out_trade_no": order.out_trade_no}

    def _refund(self, biz: dict[str, Any], params: Mapping[str, str]) -> dict[str, Any]:
        order = next((o for o in self.orders.values() if o.trade_no and o.trade_no == biz.get("trade_no")), None)
        if order is None or order.status not in ("TRADE_SUCCESS", "TRADE_CLOSED"):
            return {"code": "40004", "sub_code": "ACQ.TRADE_NOT_EXIST"}
        refunds = order.refunded or {}
        request_no = str(biz.get("out_request_no", ""))
        if request_no not in refunds:
            already = sum(_to_cents(a) for a in refunds.values())
            if already + _to_cents(str(biz["refund_amount"])) > _to_cents(order.amount):
                return {"code": "40004", "sub_code": "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"}
            refunds[request_no] = str(biz["refund_amount"])
            order.refunded = refunds
            order.refunded_at[request_no] = self.clock()
        total = sum(_to_cents(a) for a in refunds.values())
        return {"code": "10000", "trade_no": order.trade_no, "out_trade_no": order.out_trade_no,
                "refund_fee": f"{total // 100}.{total % 100:02d}", "fund_change": "Y"}  # fmt: skip

    def _bill_url(self, biz: dict[str, Any], params: Mapping[str, str]) -> dict[str, Any]:
        day = date.fromisoformat(str(biz.get("bill_date")))
        paid = [o for o in self.orders.values() if o.paid_at and o.paid_at.astimezone(SHANGHAI).date() == day]
        refunds = [
            (o, no)
            for o in self.orders.values()
            for no, at in o.refunded_at.items()
            if at.astimezone(SHANGHAI).date() == day
        ]
        if not paid and not refunds:
            return {"code": "40004", "sub_code": "isp.bill_not_exist"}
        token = secrets.token_urlsafe(16)
        self.bills[token] = trade_bill_zip(self.app_id, day, paid, refunds)
        return {"code": "10000", "bill_download_url": f"{self._server.base_url}/bills/{token}"}


BILL_HEADER = (
    "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,"
    "订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,"
    "券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注"
)


def bill_row(order: Order, refund_no: str | None = None) -> str:
    """One details row: a payment (交易), or a refund (退款: 商家实收 negative, its request number named). Fields
    are padded with a tab, as Alipay's export pads them."""
    assert order.paid_at is not None
    created = order.paid_at.astimezone(SHANGHAI).strftime(_TIME)
    if refund_no is None:
        kind, done, received = "交易", created, order.amount
    else:
        kind, done = "退款", order.refunded_at[refund_no].astimezone(SHANGHAI).strftime(_TIME)
        received = "-" + (order.refunded or {})[refund_no]
    fields = [
        order.trade_no, order.out_trade_no, kind, order.subject, created, done, "", "", "", "", "ow***@example.com",
        order.amount, received, "0.00", "0.00", "0.00", "0.00", "0.00", "", "0.00", "0.00", refund_no or "", "0.00",
        "0.00", "",
    ]  # fmt: skip
    return ",".join(f"{f}\t" if f else f for f in fields)


def bill_head(app_id: str, day: date) -> list[str]:
    return [
        "#支付宝业务明细查询",
        f"#账号：[{app_id}]",
        f"#起始日期：[{day:%Y年%m月%d日} 00:00:00]   终止日期：[{day + timedelta(days=1):%Y年%m月%d日} 00:00:00]",
        "#-----------------------------------------业务明细列表----------------------------------------",
        BILL_HEADER,
    ]


def bill_tail(payments: int, refunds: int) -> list[str]:
    return [
        "#-----------------------------------------业务明细列表结束------------------------------------",
        f"#交易合计：{payments}笔，退款合计：{refunds}笔",
        "#导出时间：[" + datetime.now(SHANGHAI).strftime(_TIME) + "]",
    ]


def trade_bill_zip(app_id: str, day: date, orders: Sequence[Order], refunds: Sequence[tuple[Order, str]] = ()) -> bytes:
    """Alipay's trade bill: a zip of the details CSV and its summary, GBK, with '#' comment lines."""
    lines = [*bill_head(app_id, day), *(bill_row(o) for o in orders), *(bill_row(o, no) for o, no in refunds)]
    lines += bill_tail(len(orders), len(refunds))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        stem = f"{app_id}_{day:%Y%m%d}"
        archive.writestr(f"{stem}_业务明细.csv", ("\r\n".join(lines) + "\r\n").encode("gbk"))
        archive.writestr(f"{stem}_业务明细(汇总).csv", f"#交易合计：{len(orders)}笔\r\n".encode("gbk"))
    return buffer.getvalue()

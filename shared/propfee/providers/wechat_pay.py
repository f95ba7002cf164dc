"""WeChat Pay API v3 behind the PaymentProvider port, with the wechatpayv3 SDK in public-key mode."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests
from wechatpayv3 import WeChatPay, WeChatPayType

from propfee.domain.money import fen_from_yuan
from propfee.payments.ports import (
    BillEntry,
    BillEntryKind,
    BillUnreadable,
    Checkout,
    CheckoutKind,
    NotificationRejected,
    OrderRequest,
    PaymentNotice,
    PaymentProviderError,
    ProviderName,
    TradeState,
)

_SHANGHAI = ZoneInfo("Asia/Shanghai")
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
MAX_NOTICE_AGE = timedelta(minutes=5)  # WeChat Pay's own guidance for the timestamp of a signed message
_STATES = {
    "SUCCESS": TradeState.PAID,
    "NOTPAY": TradeState.NOT_PAID,
    "CLOSED": TradeState.CLOSED,
    "REVOKED": TradeState.CLOSED,
    "REFUND": TradeState.REFUNDED,
    "USERPAYING": TradeState.PAYING,
    "PAYERROR": TradeState.FAILED,
}
_KINDS = {
    CheckoutKind.WECHAT_H5: WeChatPayType.H5,
    CheckoutKind.WECHAT_JSAPI: WeChatPayType.JSAPI,
    CheckoutKind.WECHAT_NATIVE: WeChatPayType.NATIVE,
}


class ProviderError(PaymentProviderError):
    """The provider refused a call or answered something unexpected (the message never holds a key)."""


@dataclass(frozen=True)
class WeChatPayConfig:
    """A merchant: the ids from configuration, the keys from its Secrets Manager secret."""

    mchid: str
    appid: str
    merchant_private_key: str  # PEM
    merchant_serial: str
    apiv3_key: str  # 32 characters
    platform_public_key: str  # PEM: WeChat Pay's public key (public-key mode)
    platform_public_key_id: str  # PUB_KEY_ID_...: the Wechatpay-Serial it signs with
    notify_url: str
    gateway: str | None = None  # the emulator's base URL; None: WeChat Pay itself

    @classmethod
    def from_secret(cls, fields: Mapping[str, str], notify_url: str, gateway: str | None = None) -> WeChatPayConfig:
        return cls(
            mchid=fields["mchid"],
            appid=fields["appid"],
            merchant_private_key=fields["merchant_private_key"],
            merchant_serial=fields["merchant_serial"],
            apiv3_key=fields["apiv3_key"],
            platform_public_key=fields["platform_public_key"],
            platform_public_key_id=fields["platform_public_key_id"],
            notify_url=notify_url,
            gateway=gateway,
        )

    def __repr__(self) -> str:  # never print a key
        return f"WeChatPayConfig(mchid={self.mchid!r}, appid={self.appid!r}, gateway={self.gateway!r})"


class WeChatPayProvider:
    name = ProviderName.WECHAT_PAY

    def __init__(self, config: WeChatPayConfig, now: Callable[[], datetime] | None = None) -> None:
        self._config = config
        self._now = now or (lambda: datetime.now(UTC))
        self._sdk = WeChatPay(
            wechatpay_type=WeChatPayType.NATIVE,
            mchid=config.mchid,
            private_key=config.merchant_private_key,
            cert_serial_no=config.merchant_serial,
            appid=config.appid,
            apiv3_key=config.apiv3_key,
            notify_url=config.notify_url,
            public_key=config.platform_public_key,
            public_key_id=config.platform_public_key_id,
            timeout=(5, 15),
        )
        if config.gateway:  # the one override: the SDK has no parameter for its base URL (the emulator's)
            self._sdk._core._gate_way = config.gateway.rstrip("/")

    @property
    def app_id(self) -> str:
        """The appid its orders are under (JSAPI's openid must be of this app: the wiring compares the account's)."""
        return self._config.appid

    # ------------------------------------------------------------------ orders
    def create_order(self, order: OrderRequest) -> Checkout:
        kind = _KINDS.get(order.kind)
        if kind is None:
            raise ValueError(f"WeChat Pay does not offer {order.kind}")
        extra: dict[str, Any] = {}
        if kind is WeChatPayType.H5:
            if not order.client_ip:
                raise ValueError("WeChat H5 needs the payer's IP")
            extra["scene_info"] = {"payer_client_ip": order.client_ip, "h5_info": {"type": "Wap"}}
        if kind is WeChatPayType.JSAPI:
            if not order.openid:
                raise ValueError("WeChat JSAPI needs the payer's openid")
            extra["payer"] = {"openid": order.openid}
        try:
            code, body = self._sdk.pay(
                description=order.description[:127],
                out_trade_no=order.out_trade_no,
                amount={"total": order.amount_fen, "currency": "CNY"},
                attach=order.merchant_data or order.unit_id,
                pay_type=kind,
                **extra,
            )
        except requests.RequestException as error:  # the owner is waiting: a clear "try again", not a 500
            raise ProviderError(f"WeChat Pay create order: {type(error).__name__}") from error
        answer = self._json(code, body, "create order")
        if kind is WeChatPayType.H5:
            return Checkout(order.out_trade_no, redirect_url=answer["h5_url"])
        if kind is WeChatPayType.NATIVE:
            return Checkout(order.out_trade_no, qr_payload=answer["code_url"])
        return Checkout(order.out_trade_no, jsapi_params=self._jsapi_params(str(answer["prepay_id"])))

    def _jsapi_params(self, prepay_id: str) -> dict[str, str]:
        """What the page passes to WeixinJSBridge: signed with the merchant key over appId, time, nonce, package."""
        timestamp, nonce, package = str(int(time.time())), uuid.uuid4().hex, f"prepay_id={prepay_id}"
        sign = self._sdk.sign([self._config.appid, timestamp, nonce, package])
        return {
            "appId": self._config.appid,
            "timeStamp": timestamp,
            "nonceStr": nonce,
            "package": package,
            "signType": "RSA",
            "paySign": sign,
        }

    def query(self, out_trade_no: str) -> PaymentNotice | None:
        code, body = self._sdk.query(out_trade_no=out_trade_no)
        if code == 404:
            return None
        return self._notice(self._json(code, body, "query"), None)

    def close(self, out_trade_no: str) -> None:
        code, body = self._sdk.close(out_trade_no=out_trade_no)
        if code != 204:
            raise ProviderError(f"WeChat Pay close {out_trade_no}: HTTP {code} {_reason(body)}")

    def refund(self, notice: PaymentNotice, refund_no: str, amount_fen: int, reason: str) -> str:
        code, body = self._sdk.refund(
            out_refund_no=refund_no,
            amount={"refund": amount_fen, "total": notice.amount_fen, "currency": "CNY"},
            transaction_id=notice.transaction_id,
            reason=reason[:80],
        )
        return str(self._json(code, body, "refund")["refund_id"])

    def trade_bill(self, day: date) -> Iterator[BillEntry]:
        """GET /v3/bill/tradebill (signed answer) -> the download URL (content unsigned: its SHA1 is in the
        answer, over the uncompressed bill) -> the gzip, checked whole before a row is yielded, then read row by
        row."""
        code, body = self._sdk.trade_bill(bill_date=day.isoformat(), bill_type="ALL", tar_type="GZIP")
        if code == 400 and "NO_STATEMENT_EXIST" in str(body):
            return iter(())
        answer = self._json(code, body, "trade bill")
        code, content = self._sdk.download_bill(answer["download_url"])
        if code != 200 or not isinstance(content, bytes):
            raise ProviderError(f"WeChat Pay bill download: HTTP {code}")
        check_bill_hash(content, str(answer.get("hash_type", "SHA1")), str(answer.get("hash_value", "")))
        return parse_trade_bill(_gunzipped_lines(content))

    # ------------------------------------------------------------------ notifications
    def verify_notification(self, headers: Mapping[str, str], body: bytes) -> PaymentNotice:
        lowered = {k.lower(): v for k, v in headers.items()}
        if lowered.get("wechatpay-signature-type") != SIGNATURE_TYPE:  # WeChat Pay always names it
            raise NotificationRejected("unsupported signature type")
        if lowered.get("wechatpay-serial") != self._config.platform_public_key_id:
            # refused here: the SDK would otherwise fetch platform certificates for an unknown serial
            raise NotificationRejected("signed with an unknown key")
        try:
            sent = datetime.fromtimestamp(int(lowered.get("wechatpay-timestamp", "")), UTC)
        except ValueError as error:
            raise NotificationRejected("no timestamp") from error
        if abs(self._now() - sent) > MAX_NOTICE_AGE:
            raise NotificationRejected("stale: the signed timestamp is too far from now")
        try:
            data = self._sdk.callback(lowered, body)
        except Exception as error:  # the SDK raises bare Exceptions for what it cannot read
            raise NotificationRejected("unreadable notification") from error
        if not data:
            raise NotificationRejected("bad signature or undecryptable resource")
        resource = data.get("resource")
        if not isinstance(resource, dict) or "out_trade_no" not in resource:
            raise NotificationRejected("not a transaction notification")
        notice = self._notice(resource, str(data.get("id") or "") or None)
        # WeChat Pay signs each delivery afresh (new nonce): the same signature twice is a replay
        signature = lowered.get("wechatpay-signature", "")
        return replace(notice, replay_key=hashlib.sha256(signature.encode()).hexdigest())

    # ------------------------------------------------------------------ helpers
    def _notice(self, answer: Mapping[str, Any], notice_id: str | None) -> PaymentNotice:
        paid_at = answer.get("success_time")
        return PaymentNotice(
            provider=self.name,
            out_trade_no=str(answer["out_trade_no"]),
            transaction_id=str(answer.get("transaction_id") or ""),
            state=_STATES.get(str(answer.get("trade_state")), TradeState.FAILED),
            amount_fen=int((answer.get("amount") or {}).get("total", 0)),
            paid_at=datetime.fromisoformat(paid_at) if paid_at else None,
            notice_id=notice_id,
            attach=str(answer.get("attach") or "") or None,
        )

    @staticmethod
    def _json(code: int, body: Any, what: str) -> dict[str, Any]:
        if not 200 <= code < 300:
            raise ProviderError(f"WeChat Pay {what}: HTTP {code} {_reason(body)}")
        answer = json.loads(body)
        if not isinstance(answer, dict):
            raise ProviderError(f"WeChat Pay {what}: not a JSON object")
        return answer


def _reason(body: Any) -> str:
    try:
        return str(json.loads(body).get("code", ""))
    except (ValueError, AttributeError, TypeError):
        return ""


def _gunzipped_lines(content: bytes) -> Iterator[str]:
    """The bill's lines, decompressed as they are read (the compressed file is a tenth of the text)."""
    with gzip.GzipFile(fileobj=io.BytesIO(content)) as raw, io.TextIOWrapper(raw, "utf-8-sig", newline="") as text:
        yield from text


def check_bill_hash(content: bytes, hash_type: str, expected: str) -> None:
    """WeChat Pay's hash is over the bill as it was before gzip: computed while decompressing, in chunks."""
    if hash_type.upper() != "SHA1" or not expected:
        raise BillUnreadable(f"WeChat Pay bill: no usable hash ({hash_type})")
    digest = hashlib.sha1()  # noqa: S324  # nosec B324 - the format WeChat Pay uses
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(content)) as raw:
            while chunk := raw.read(1 << 16):
                digest.update(chunk)
    except (OSError, EOFError) as error:
        raise BillUnreadable("WeChat Pay bill: not a complete gzip file") from error
    if digest.hexdigest().lower() != expected.lower():
        raise BillUnreadable("WeChat Pay bill: its SHA1 differs from the one the signed answer gave")


def _field(value: str) -> str:
    return value.strip().removeprefix("`").strip()


def parse_trade_bill(lines: Iterable[str]) -> Iterator[BillEntry]:
    """The trade bill (bill_type ALL) row by row: a header line, rows with every field after a backtick
    (amounts in yuan, times local without an offset), then the summary block, whose 总交易单数 must equal the
    rows read. SUCCESS rows are payments; REFUND rows refunds (the order's amount in 订单金额, the refund in
    退款金额); REVOKED rows closed orders."""
    rows = csv.reader(lines)
    header = next(rows, None)
    if header is None:
        return
    columns = {name.strip().lstrip("\ufeff"): n for n, name in enumerate(header)}
    missing = {"交易时间", "微信订单号", "商户订单号", "交易状态", "订单金额"} - set(columns)
    if missing:
        raise BillUnreadable(f"WeChat Pay bill: no column {', '.join(sorted(missing))}")
    read = 0
    for row in rows:
        if not row:
            continue
        if not row[0].startswith("`"):  # the summary block: its header line, then its figures
            summary = next(rows, [])
            if not summary or _field(summary[0]) != str(read):
                raise BillUnreadable(f"WeChat Pay bill: {read} rows read, the summary says otherwise")
            return
        read += 1
        field = {name: _field(row[n]) for name, n in columns.items() if n < len(row)}
        yield _entry(field)
    raise BillUnreadable("WeChat Pay bill: no summary block (truncated)")


def _entry(field: Mapping[str, str]) -> BillEntry:
    at = datetime.fromisoformat(field["交易时间"]).replace(tzinfo=_SHANGHAI) if field.get("交易时间") else None
    status = field.get("交易状态", "")
    common = {
        "provider": ProviderName.WECHAT_PAY,
        "out_trade_no": field["商户订单号"],
        "transaction_id": field["微信订单号"],
        "amount_fen": fen_from_yuan(field.get("订单金额") or "0"),
        "at": at,
    }
    if status == "REFUND":
        return BillEntry(
            kind=BillEntryKind.REFUND,
            state=TradeState.REFUNDED,
            refund_id=field.get("微信退款单号") or None,
            refund_fen=fen_from_yuan(field.get("退款金额") or "0"),
            **common,  # type: ignore[arg-type]
        )
    return BillEntry(kind=BillEntryKind.PAYMENT, state=_STATES.get(status, TradeState.FAILED), **common)  # type: ignore[arg-type]

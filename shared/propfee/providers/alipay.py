"""Alipay (open platform, RSA2) behind the PaymentProvider port, with python-alipay-sdk."""

from __future__ import annotations

import csv
import io
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import IO, Any
from urllib.parse import parse_qsl
from urllib.request import urlopen
from zoneinfo import ZoneInfo

from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError

from propfee.domain import money
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

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Alipay re-sends an unanswered notification for about 25 hours: anything older is not one of its retries
MAX_NOTICE_AGE = timedelta(hours=26)
_STATES = {
    "TRADE_SUCCESS": TradeState.PAID,
    "TRADE_FINISHED": TradeState.PAID,
    "WAIT_BUYER_PAY": TradeState.NOT_PAID,
    "TRADE_CLOSED": TradeState.CLOSED,
}


class ProviderError(PaymentProviderError):
    """Alipay refused a call or answered something unexpected (the message never holds a key)."""


@dataclass(frozen=True)
class AlipayConfig:
    app_id: str
    app_private_key: str  # PEM: the merchant application's key
    alipay_public_key: str  # PEM: Alipay's key, which signs answers and notifications
    notify_url: str
    gateway: str | None = None  # the emulator's gateway.do; None: Alipay itself

    @classmethod
    def from_secret(cls, fields: Mapping[str, str], notify_url: str, gateway: str | None = None) -> AlipayConfig:
        return cls(
            app_id=fields["app_id"],
            app_private_key=fields["app_private_key"],
            alipay_public_key=fields["alipay_public_key"],
            notify_url=notify_url,
            gateway=gateway,
        )

    def __repr__(self) -> str:  # never print a key
        return f"AlipayConfig(app_id={self.app_id!r}, gateway={self.gateway!r})"


def yuan(fen: int) -> str:
    """Alipay's amounts: yuan with two decimals, no grouping."""
    return money.yuan(fen, grouping=False)


class AlipayProvider:
    name = ProviderName.ALIPAY

    def __init__(self, config: AlipayConfig, now: Callable[[], datetime] | None = None) -> None:
        self._config = config
        self._now = now or (lambda: datetime.now(UTC))
        self._sdk = AliPay(
            appid=config.app_id,
            app_notify_url=config.notify_url,
            app_private_key_string=config.app_private_key,
            alipay_public_key_string=config.alipay_public_key,
            sign_type="RSA2",
        )
        if config.gateway:  # the one override: the SDK's gateway is fixed but for Alipay's own sandbox
            self._sdk._gateway = config.gateway
        self.gateway: str = self._sdk._gateway

    # ------------------------------------------------------------------ orders
    def create_order(self, order: OrderRequest) -> Checkout:
        subject = order.description[:256]
        if order.kind is CheckoutKind.ALIPAY_WAP:
            signed = self._sdk.api_alipay_trade_wap_pay(
                subject=subject,
                out_trade_no=order.out_trade_no,
                total_amount=yuan(order.amount_fen),
                return_url=order.return_url,
                product_code="QUICK_WAP_WAY",  # the SDK's default is an older value
                passback_params=order.merchant_data or order.unit_id,
            )
            return Checkout(order.out_trade_no, redirect_url=f"{self.gateway}?{signed}")
        if order.kind is CheckoutKind.ALIPAY_QR:
            answer = self._call(
                self._sdk.api_alipay_trade_precreate,
                subject=subject,
                out_trade_no=order.out_trade_no,
                total_amount=yuan(order.amount_fen),
            )
            return Checkout(order.out_trade_no, qr_payload=str(answer["qr_code"]))
        raise ValueError(f"Alipay does not offer {order.kind}")

    def query(self, out_trade_no: str) -> PaymentNotice | None:
        answer = self._call(self._sdk.api_alipay_trade_query, out_trade_no=out_trade_no, missing_ok=True)
        if answer is None:
            return None
        paid = answer.get("send_pay_date")
        return PaymentNotice(
            provider=self.name,
            out_trade_no=str(answer["out_trade_no"]),
            transaction_id=str(answer.get("trade_no") or ""),
            state=_STATES.get(str(answer.get("trade_status")), TradeState.FAILED),
            amount_fen=fen_from_yuan(str(answer.get("total_amount", "0"))),
            paid_at=datetime.fromisoformat(paid).replace(tzinfo=SHANGHAI) if paid else None,
        )

    def close(self, out_trade_no: str) -> None:
        self._call(self._sdk.api_alipay_trade_close, out_trade_no=out_trade_no)

    def refund(self, notice: PaymentNotice, refund_no: str, amount_fen: int, reason: str) -> str:
        answer = self._call(
            self._sdk.api_alipay_trade_refund,
            refund_amount=yuan(amount_fen),
            trade_no=notice.transaction_id,
            out_request_no=refund_no,  # a retried refund with the same number refunds once
            refund_reason=reason[:256],
        )
        return f"{answer.get('trade_no')}#{refund_no}"

    def trade_bill(self, day: date) -> Iterator[BillEntry]:
        """alipay.data.dataservice.bill.downloadurl.query (signed answer) -> a URL valid for about 30 s -> the zip,
        spooled to a temporary file as it arrives, checked against its own totals, then read row by row."""
        answer = self._call(
            self._sdk.server_api,
            "alipay.data.dataservice.bill.downloadurl.query",
            {"bill_type": "trade", "bill_date": day.isoformat()},
            missing_ok=True,
        )
        if answer is None:
            return iter(())
        url = str(answer["bill_download_url"])
        if not url.startswith(("https://", "http://127.0.0.1")):
            raise ProviderError("Alipay bill: an unexpected download address")
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - closed by the reader
        with urlopen(url, timeout=30) as response:  # noqa: S310  # nosec B310 - checked above
            shutil.copyfileobj(response, spool, 1 << 16)
        spool.seek(0)
        return _spooled_bill(spool)

    def _call(self, method: Callable[..., Any], *args: Any, missing_ok: bool = False, **kwargs: Any) -> Any:
        try:
            answer = method(*args, **kwargs)
        except AliPayValidationError as error:
            raise ProviderError("Alipay: the answer's signature does not verify") from error
        except AliPayException as error:
            raise ProviderError(f"Alipay: error {error.code}") from error
        if answer.get("code") != "10000":
            if missing_ok and answer.get("sub_code") in ("ACQ.TRADE_NOT_EXIST", "isp.bill_not_exist"):
                return None
            raise ProviderError(f"Alipay: {answer.get('code')} {answer.get('sub_code', '')}")
        return answer

    # ------------------------------------------------------------------ notifications
    def verify_notification(self, headers: Mapping[str, str], body: bytes) -> PaymentNotice:
        try:
            fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError) as error:
            raise NotificationRejected("not a form-encoded notification") from error
        signature = fields.pop("sign", "")
        if fields.get("sign_type") != "RSA2" or not signature:
            raise NotificationRejected("unsigned or not RSA2")
        fields.pop("sign_type")  # neither sign nor sign_type is signed
        try:
            valid = self._sdk.verify(dict(fields), signature)
        except (ValueError, TypeError, AliPayException):
            valid = False
        if not valid:
            raise NotificationRejected("bad signature")
        if fields.get("app_id") != self._config.app_id:
            raise NotificationRejected("for another application")
        try:
            sent = datetime.fromisoformat(fields["notify_time"]).replace(tzinfo=SHANGHAI)
            amount = fen_from_yuan(fields["total_amount"])
        except (KeyError, ValueError) as error:
            raise NotificationRejected("missing notify_time or total_amount") from error
        if self._now() - sent > MAX_NOTICE_AGE:
            raise NotificationRejected("stale: older than Alipay's retries")
        paid = fields.get("gmt_payment")
        return PaymentNotice(
            provider=self.name,
            out_trade_no=fields.get("out_trade_no", ""),
            transaction_id=fields.get("trade_no", ""),
            state=_STATES.get(fields.get("trade_status", ""), TradeState.FAILED),
            amount_fen=amount,
            paid_at=datetime.fromisoformat(paid).replace(tzinfo=SHANGHAI) if paid else None,
            notice_id=fields.get("notify_id"),
            attach=fields.get("passback_params") or None,
        )


SPOOL_IN_MEMORY = 1 << 20  # a bigger bill goes to /tmp while it downloads
_TOTALS = re.compile(r"交易合计[：:]\s*(\d+)\s*笔(?:.*?退款合计[：:]\s*(\d+)\s*笔)?")


def _spooled_bill(spool: IO[bytes]) -> Iterator[BillEntry]:
    with spool:
        count_trade_bill(spool)  # the whole file checked before a row is applied
        spool.seek(0)
        yield from parse_trade_bill(spool)


def _details(archive: zipfile.ZipFile) -> list[str]:
    """The details CSV (业务明细), not its summary (业务明细(汇总))."""
    names = [n for n in archive.namelist() if n.endswith(".csv") and "汇总" not in n]
    if not names:
        raise BillUnreadable("Alipay bill: no details file in the zip")
    return names


def _lines(archive: zipfile.ZipFile, name: str) -> Iterator[str]:
    with archive.open(name) as raw, io.TextIOWrapper(raw, "gbk", newline="") as text:
        yield from text


def count_trade_bill(content: IO[bytes]) -> int:
    """Counts the details' rows and checks them against the file's own totals line (#交易合计：N笔，退款合计：M笔):
    a truncated or altered download is refused."""
    try:
        archive = zipfile.ZipFile(content)
    except zipfile.BadZipFile as error:
        raise BillUnreadable("Alipay bill: not a zip file") from error
    with archive:
        rows, totals = 0, None
        for name in _details(archive):
            header_seen = False
            for line in _lines(archive, name):
                if line.startswith("#"):
                    totals = _TOTALS.search(line) or totals
                elif line.strip():
                    rows += header_seen
                    header_seen = True
    if totals is None:
        raise BillUnreadable("Alipay bill: no totals line (truncated)")
    expected = int(totals.group(1)) + int(totals.group(2) or 0)
    if rows != expected:
        raise BillUnreadable(f"Alipay bill: {rows} rows, its totals say {expected}")
    return rows


def parse_trade_bill(content: IO[bytes]) -> Iterator[BillEntry]:
    """The zip of GBK CSV, row by row: '#' lines around the header and rows, fields padded with blanks or tabs.
    业务类型 交易 is a payment, 退款 a refund (退款批次号/请求号 names it; 商家实收: the money given back, < 0)."""
    with zipfile.ZipFile(content) as archive:
        for name in _details(archive):
            rows = csv.reader(line for line in _lines(archive, name) if line.strip() and not line.startswith("#"))
            header = [h.strip() for h in next(rows, [])]
            column = {h: n for n, h in enumerate(header)}
            missing = {"支付宝交易号", "商户订单号", "业务类型", "完成时间", "订单金额（元）"} - set(column)
            if missing:
                raise BillUnreadable(f"Alipay bill: no column {', '.join(sorted(missing))}")
            for row in rows:
                field = {h: row[n].strip() for h, n in column.items() if n < len(row)}
                yield _entry(field)


def _entry(field: Mapping[str, str]) -> BillEntry:
    done = field.get("完成时间", "")
    at = datetime.fromisoformat(done).replace(tzinfo=SHANGHAI) if done else None
    order_fen = fen_from_yuan(field.get("订单金额（元）") or "0")
    if field.get("业务类型") == "退款":
        received = field.get("商家实收（元）") or "0"
        refund_no = field.get("退款批次号/请求号") or ""
        return BillEntry(
            ProviderName.ALIPAY,
            BillEntryKind.REFUND,
            field["商户订单号"],
            field["支付宝交易号"],
            order_fen,
            at,
            TradeState.REFUNDED,
            refund_id=f"{field['支付宝交易号']}#{refund_no}",  # as the adapter's refund() names it
            refund_fen=abs(fen_from_yuan(received.lstrip("-"))),
        )
    state = TradeState.PAID if field.get("业务类型") == "交易" else TradeState.FAILED
    return BillEntry(
        ProviderName.ALIPAY, BillEntryKind.PAYMENT, field["商户订单号"], field["支付宝交易号"], order_fen, at, state
    )

"""Alipay (open platform, RSA2) behind the PaymentProvider port, with python-alipay-sdk."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl
from urllib.request import urlopen
from zoneinfo import ZoneInfo

from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError

from propfee.domain import money
from propfee.domain.money import fen_from_yuan
from propfee.payments.ports import (
    Checkout,
    CheckoutKind,
    NotificationRejected,
    OrderRequest,
    PaymentNotice,
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


class ProviderError(RuntimeError):
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
                passback_params=order.unit_id,
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

    def trade_bill(self, day: date) -> list[PaymentNotice]:
        answer = self._call(
            self._sdk.server_api,
            "alipay.data.dataservice.bill.downloadurl.query",
            {"bill_type": "trade", "bill_date": day.isoformat()},
            missing_ok=True,
        )
        if answer is None:
            return []
        url = str(answer["bill_download_url"])
        if not url.startswith(("https://", "http://127.0.0.1")):
            raise ProviderError("Alipay bill: an unexpected download address")
        with urlopen(url, timeout=30) as response:  # noqa: S310  # nosec B310 - checked above
            return parse_trade_bill(response.read())

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
        )


def parse_trade_bill(content: bytes) -> list[PaymentNotice]:
    """The zip of GBK CSV files: the details file (业务明细, not its 汇总), '#' lines around the header and rows."""
    notices: list[PaymentNotice] = []
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for name in archive.namelist():
            if "汇总" in name or not name.endswith(".csv"):
                continue
            text = archive.read(name).decode("gbk")
            lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
            rows = csv.reader(lines)
            header = [h.strip() for h in next(rows, [])]
            if "支付宝交易号" not in header:
                continue
            column = {h: n for n, h in enumerate(header)}
            for row in rows:
                if len(row) < len(header) or row[column["业务类型"]].strip() != "交易":
                    continue  # refunds and the totals lines
                done = row[column["完成时间"]].strip()
                notices.append(
                    PaymentNotice(
                        provider=ProviderName.ALIPAY,
                        out_trade_no=row[column["商户订单号"]].strip(),
                        transaction_id=row[column["支付宝交易号"]].strip(),
                        state=TradeState.PAID,
                        amount_fen=fen_from_yuan(row[column["订单金额（元）"]]),
                        paid_at=datetime.fromisoformat(done).replace(tzinfo=SHANGHAI) if done else None,
                    )
                )
    return notices

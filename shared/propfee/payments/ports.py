"""What payments need from a provider (WeChat Pay, Alipay): one Protocol, records in fen and aware times."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from propfee.domain.models import PaymentSource


class PaymentProviderError(RuntimeError):
    """A payment provider refused a call, answered something unexpected or could not be reached (the message
    never holds a key): the owner's page says to try again, nothing is applied."""


class ProviderName(StrEnum):
    WECHAT_PAY = "wechat_pay"
    ALIPAY = "alipay"


class CheckoutKind(StrEnum):
    """How the owner pays: WeChat Pay H5 in a phone browser, JSAPI inside WeChat, Native QR; Alipay WAP."""

    WECHAT_H5 = "wechat_h5"
    WECHAT_JSAPI = "wechat_jsapi"
    WECHAT_NATIVE = "wechat_native"
    ALIPAY_WAP = "alipay_wap"
    ALIPAY_QR = "alipay_qr"  # alipay.trade.precreate: a QR the owner scans (a notice on paper, a desk screen)


@dataclass(frozen=True)
class OrderRequest:
    """An order for a unit's open bills. out_trade_no is derived from unit, bills and attempt (a retried
    create names the same order)."""

    out_trade_no: str
    unit_id: str
    community_id: str
    bill_ids: tuple[str, ...]
    amount_fen: int
    description: str  # shown by the provider's cashier page; no owner name or phone
    kind: CheckoutKind
    client_ip: str | None = None  # WeChat H5 needs the payer's IP
    openid: str | None = None  # WeChat JSAPI needs the payer's openid
    return_url: str | None = None  # where the provider sends the browser back (Alipay WAP)
    # what the provider keeps and echoes in its notification (WeChat Pay `attach`, Alipay `passback_params`):
    # the unit and its arrears episode (payments/orders.merchant_data); the unit's id alone when empty
    merchant_data: str = ""


@dataclass(frozen=True)
class Checkout:
    """Where the owner's browser goes next: a URL (H5, WAP), a QR payload (Native), or JSAPI parameters."""

    out_trade_no: str
    redirect_url: str | None = None
    qr_payload: str | None = None
    jsapi_params: Mapping[str, str] = field(default_factory=dict)


class TradeState(StrEnum):
    PAID = "paid"
    NOT_PAID = "not_paid"
    CLOSED = "closed"
    REFUNDED = "refunded"
    PAYING = "paying"
    FAILED = "failed"


@dataclass(frozen=True)
class PaymentNotice:
    """A verified statement from a provider about an order (from a notification, a query or the day's bill)."""

    provider: ProviderName
    out_trade_no: str
    transaction_id: str  # the provider's id: the ledger's idempotency key
    state: TradeState
    amount_fen: int
    paid_at: datetime | None
    notice_id: str | None = None  # the provider's notification id (replays carry the same)
    replay_key: str | None = None  # names this exact signed message, where a genuine re-send is signed afresh
    # the merchant's own data the provider echoes (WeChat Pay `attach`, Alipay `passback_params`): the order's unit,
    # under the notification's signature; lets the unit be read with the order in one call
    attach: str | None = None
    source: PaymentSource = PaymentSource.PROVIDER  # RECONCILIATION: read from the day's bill, no notification came


class BillEntryKind(StrEnum):
    PAYMENT = "payment"
    REFUND = "refund"


@dataclass(frozen=True)
class BillEntry:
    """One row of a provider's trade bill: a payment (its order's amount) or a refund of one (refund_fen)."""

    provider: ProviderName
    kind: BillEntryKind
    out_trade_no: str
    transaction_id: str
    amount_fen: int  # the order's amount as the provider charged it
    at: datetime | None  # paid, or refunded
    state: TradeState = TradeState.PAID
    refund_id: str | None = None  # the provider's refund id (what a refund on the ledger is referenced by)
    refund_fen: int = 0

    def as_notice(self) -> PaymentNotice:
        return PaymentNotice(
            self.provider,
            self.out_trade_no,
            self.transaction_id,
            self.state,
            self.amount_fen,
            self.at,
            source=PaymentSource.RECONCILIATION,
        )


class BillUnreadable(Exception):
    """The day's bill could not be trusted (its hash, its summary's counts, its format): nothing of it applied."""


class NotificationRejected(Exception):
    """Forged, stale, replayed or unreadable: nothing is written and the provider is told it failed."""


class PaymentProvider(Protocol):
    name: ProviderName

    def create_order(self, order: OrderRequest) -> Checkout: ...

    def verify_notification(self, headers: Mapping[str, str], body: bytes) -> PaymentNotice:
        """Raises NotificationRejected unless the signature (and decryption) hold."""
        ...

    def query(self, out_trade_no: str) -> PaymentNotice | None: ...

    def close(self, out_trade_no: str) -> None: ...

    def refund(self, notice: PaymentNotice, refund_no: str, amount_fen: int, reason: str) -> str: ...

    def trade_bill(self, day: date) -> Iterator[BillEntry]:
        """The day's bill (Asia/Shanghai), row by row as it is read: never the whole file in memory. Empty when
        the provider has no bill for a day without transactions; raises BillUnreadable before yielding anything
        when the file fails its integrity check."""
        ...

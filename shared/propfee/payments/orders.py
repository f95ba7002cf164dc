"""Orders for a unit's open bills: a merchant order number derived from unit, bills and attempt (a retried create
names the same order), the order record, and starting a checkout with a provider."""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from propfee.domain.models import Unit
from propfee.payments.ports import Checkout, CheckoutKind, OrderRequest, PaymentProvider, ProviderName

# WeChat Pay: 6-32 characters of [0-9A-Za-z_-|*]; Alipay: up to 64. The number fits both and names no unit.
ORDER_NUMBER = re.compile(r"^PF[0-9A-F]{24}-[0-9]{1,5}$")
MAX_ATTEMPTS = 20  # orders closed or paid for the same bills before a checkout gives up


class OrderStatus(StrEnum):
    OPEN = "open"  # created; the owner may be paying
    PAID = "paid"  # a verified payment was applied to the ledger
    HELD = "held"  # paid, but not as ordered (the amount): a finance ticket holds it
    CLOSED = "closed"  # closed before payment: a new attempt gets a new number


class PaymentOrder(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    out_trade_no: str = Field(pattern=ORDER_NUMBER.pattern)
    provider: ProviderName
    checkout: CheckoutKind  # (not `kind`: the table's items name their type with it)
    unit_id: str
    community_id: str
    periods: tuple[str, ...]  # the bills it pays (a bill is a unit's period)
    amount_fen: int = Field(gt=0)
    attempt: int = Field(ge=1)
    created_at: AwareDatetime
    status: OrderStatus = OrderStatus.OPEN
    transaction_id: str | None = None  # the provider's, once paid
    ticket_id: str | None = None  # when held for finance
    reconciled_on: date | None = None  # paid by the reconciliation of this bill day: no notification came


def merchant_data(unit: Unit) -> str:
    """'C01-B01-0101|2': the unit and its arrears episode, which the provider echoes in its notification, so the
    notification reads the order, the unit and the episode's tasks in one call (WeChat Pay's attach holds 128
    characters, Alipay's passback_params 512; no name, phone or amount)."""
    return f"{unit.unit_id}|{unit.arrears_episode}"


def read_merchant_data(echoed: str | None) -> tuple[str | None, int | None]:
    """(unit id, arrears episode) from what the provider echoed: a bare unit id from an older order, or nothing."""
    if not echoed:
        return None, None
    unit_id, _, episode = echoed.rpartition("|")
    if not unit_id:
        return echoed, None
    return (unit_id, int(episode)) if episode.isdigit() else (echoed, None)


class NothingToPay(ValueError):
    pass


def order_number(provider: ProviderName, unit_id: str, periods: tuple[str, ...], attempt: int) -> str:
    """Deterministic: the same provider, unit, bills and attempt give the same number; opaque (a hash), so the
    number the owner sees on the cashier page carries no unit or name."""
    if not 1 <= attempt <= 99_999:
        raise ValueError("attempt out of range")
    seed = "|".join((provider.value, unit_id, ",".join(sorted(periods))))
    return f"PF{hashlib.sha256(seed.encode()).hexdigest()[:24].upper()}-{attempt}"


def open_amount(unit: Unit) -> tuple[tuple[str, ...], int]:
    """The unit's open bills and what they come to in fen (credit already paid them down when they were issued)."""
    periods = tuple(sorted(unit.open_bills))
    return periods, sum(bill.outstanding_fen for bill in unit.open_bills.values())


class OrderStore(Protocol):
    def get_order(self, out_trade_no: str) -> PaymentOrder | None: ...

    def add_order(self, order: PaymentOrder) -> PaymentOrder:
        """Store it unless its number exists; returns the stored one (the earlier one on a race)."""
        ...


def start_checkout(
    store: OrderStore,
    provider: PaymentProvider,
    unit: Unit,
    kind: CheckoutKind,
    description: str,
    now: datetime,
    client_ip: str | None = None,
    openid: str | None = None,
    return_url: str | None = None,
) -> tuple[PaymentOrder, Checkout]:
    """The order for the unit's open bills: the open one of earlier attempts (a retried create makes no second
    order), or the next attempt's when the earlier ones were closed or paid."""
    periods, amount = open_amount(unit)
    if amount <= 0:
        raise NothingToPay(unit.unit_id)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        number = order_number(provider.name, unit.unit_id, periods, attempt)
        order = store.get_order(number)
        if order is None:
            order = store.add_order(
                PaymentOrder(
                    out_trade_no=number,
                    provider=provider.name,
                    checkout=kind,
                    unit_id=unit.unit_id,
                    community_id=unit.community_id,
                    periods=periods,
                    amount_fen=amount,
                    attempt=attempt,
                    created_at=now,
                )
            )
        if order.status is not OrderStatus.OPEN or order.amount_fen != amount or order.checkout is not kind:
            continue  # that attempt is over (or was for other terms): the provider would refuse its number
        request = OrderRequest(
            out_trade_no=order.out_trade_no,
            unit_id=unit.unit_id,
            community_id=unit.community_id,
            bill_ids=periods,
            amount_fen=amount,
            description=description,
            kind=kind,
            client_ip=client_ip,
            openid=openid,
            return_url=return_url,
            merchant_data=merchant_data(unit),
        )
        return order, provider.create_order(request)
    raise RuntimeError(f"{unit.unit_id}: {MAX_ATTEMPTS} orders for the same bills")

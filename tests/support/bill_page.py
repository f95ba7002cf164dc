"""A bill page wired with in-memory ports (links, units, the reply flow, a fake payment provider)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from propfee.domain.models import Building, Community, OpenBill, Owner, Unit
from propfee.payments.bill_http import BillHttp
from propfee.payments.bill_page import BillPage
from propfee.payments.links import BillLinks, InMemoryBillLinks
from propfee.payments.orders import PaymentOrder
from propfee.payments.ports import Checkout, OrderRequest, ProviderName
from propfee.rules import load_rules
from propfee.web.limits import InMemoryRateCounter, RateLimiter, RateLimits
from tests.support import SHANGHAI, unit

PHONE = "+8613812345678"
SECRET = b"k" * 32  # the tests' signing key (the stack's comes from Secrets Manager)


class FakeProvider:
    """A PaymentProvider that records the orders it was asked for and sends the browser to its cashier."""

    def __init__(self, name: ProviderName) -> None:
        self.name = name
        self.orders: list[OrderRequest] = []

    def create_order(self, order: OrderRequest) -> Checkout:
        self.orders.append(order)
        return Checkout(
            order.out_trade_no, redirect_url=f"https://cashier.example/{self.name.value}/{order.out_trade_no}"
        )

    def verify_notification(self, headers, body):  # the notifications' branch implements these
        raise NotImplementedError

    def query(self, out_trade_no):
        return None

    def close(self, out_trade_no):
        return None

    def refund(self, notice, refund_no, amount_fen, reason):
        raise NotImplementedError

    def trade_bill(self, day):
        return []


def billed_unit(unit_id: str = "C01-B01-0101", **changes: Any) -> Unit:
    bills = {
        "2026-09": OpenBill(due=date(2026, 9, 10), outstanding_fen=25000),
        "2026-10": OpenBill(due=date(2026, 10, 10), outstanding_fen=12345),
    }
    owner = Owner(name="王小明", phone=PHONE, email="wang@example.net")
    return unit(unit_id, **{"owners": (owner,), "open_bills": bills, **changes})


@dataclass
class MemoryReader:
    """The bill page's reads over the reply flow's in-memory units (so a dispute's hold shows at once)."""

    units: dict[str, Unit]
    payments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    replies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # the clerks' (audit ticket.reply)

    def get_unit(self, unit_id: str) -> Unit | None:
        return self.units.get(unit_id)

    def communities(self) -> list[Community]:
        return [Community(community_id="C01", name="锦绣花园")]

    def buildings(self, community_id: str) -> list[Building]:
        return [Building(community_id="C01", building_id="C01-B01", name="1栋", floors=18)]

    def unit_payments(self, unit_id: str, limit: int) -> list[dict[str, Any]]:
        return self.payments.get(unit_id, [])[:limit]

    def ticket_replies(self, unit_id: str, limit: int) -> list[dict[str, Any]]:
        return sorted(self.replies.get(unit_id, []), key=lambda r: r["at"], reverse=True)[:limit]


@dataclass
class MemoryOrders:
    """payments.orders.OrderStore in memory."""

    orders: dict[str, PaymentOrder] = field(default_factory=dict)

    def get_order(self, out_trade_no: str) -> PaymentOrder | None:
        return self.orders.get(out_trade_no)

    def add_order(self, order: PaymentOrder) -> PaymentOrder:
        return self.orders.setdefault(order.out_trade_no, order)


def bill_http(
    units: dict[str, Unit],
    receiver: Any,
    limits: RateLimits | None = None,
    orders: MemoryOrders | None = None,
    jsapi: Any = None,
) -> tuple[BillHttp, BillLinks, dict]:
    links = BillLinks(InMemoryBillLinks(), "https://jxwy.cn", lifetime=timedelta(days=45))
    providers = {name: FakeProvider(name) for name in ProviderName}
    page = BillPage(links, MemoryReader(units), providers, receiver, load_rules(), orders or MemoryOrders())
    limiter = RateLimiter(InMemoryRateCounter(), limits or RateLimits())
    return BillHttp(page, limiter, lambda: SECRET, SHANGHAI, jsapi=jsapi), links, providers

"""Builders for the pure-domain unit tests: units, owners, bills, payments, holds and contact policies."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import settings

from propfee.collection.policy import ContactPolicy
from propfee.domain.models import Bill, Hold, HoldKind, OpenBill, Owner, Payment, Unit
from tests import support

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2025, 3, 20)  # a Thursday and an ordinary PRC workday

# the default caps, without the holiday calendar: for random dates that may fall on a PRC statutory holiday
ANY_DAY = ContactPolicy(contact_on_statutory_holidays=True)

# property tests: enough examples to find edge cases, still fast; no example database written into the repository
PROPERTY = settings(max_examples=200, deadline=None, database=None)

PHONE = "+8613812345678"
PHONE_2 = "+8613912345678"
EMAIL = "wang.fang@example.net"
EMAIL_2 = "li.lei@example.net"


def owner(
    name: str = "王芳",
    phone: str | None = PHONE,
    email: str | None = EMAIL,
    *,
    sms_opt_out: bool = False,
    email_opt_out: bool = False,
    relation: str = "owner",
    sms_disabled: str | None = None,
    email_disabled: str | None = None,
) -> Owner:
    return Owner(
        name=name,
        phone=phone,
        email=email,
        sms_opt_out=sms_opt_out,
        email_opt_out=email_opt_out,
        relation=relation,
        sms_disabled=sms_disabled,
        email_disabled=email_disabled,
    )


OWNER = owner()


def make_unit(unit_id: str = "C01-B03-1502", **changes: Any) -> Unit:
    return support.unit(
        unit_id, **{"area_m2": Decimal("89.55"), "monthly_fee_fen": 21044, "owners": (OWNER,), **changes}
    )


def overdue_by(days: int, outstanding_fen: int = 21044, today: date = TODAY) -> dict[str, OpenBill]:
    """One open bill whose due date is `days` before today (negative: not yet due)."""
    due = today - timedelta(days=days)
    return {f"{due.year:04d}-{due.month:02d}": OpenBill(due=due, outstanding_fen=outstanding_fen)}


def local(text: str, tz: ZoneInfo = SHANGHAI) -> datetime:
    """'2025-03-20 09:30' as a local time (Shanghai unless told)."""
    return datetime.fromisoformat(text).replace(tzinfo=tz)


def contacts(*texts: str, tz: ZoneInfo = SHANGHAI) -> tuple[datetime, ...]:
    """Recent automated contacts at these local times, stored in UTC as a record read back would hold them."""
    return tuple(local(text, tz).astimezone(UTC) for text in texts)


def hold(kind: HoldKind = HoldKind.DISPUTE, until: date | None = None, reason: str = "业主对账单有异议") -> Hold:
    return Hold(kind=kind, until=until, reason=reason)


def open_bill(due: date, outstanding_fen: int) -> OpenBill:
    return OpenBill(due=due, outstanding_fen=outstanding_fen)


def make_bill(period: str, amount_fen: int = 21044, unit_id: str = "C01-B03-1502", due: date | None = None) -> Bill:
    year, month = (int(x) for x in period.split("-"))
    return support.bill(unit_id, period, amount_fen, due or date(year, month, 15))


def make_payment(
    amount_fen: int,
    reference: str = "PAY-0001",
    unit_id: str = "C01-B03-1502",
    paid_at: datetime | None = None,
    method: str = "wechat",
) -> Payment:
    return Payment(
        reference=reference,
        unit_id=unit_id,
        community_id=unit_id.split("-")[0],
        amount_fen=amount_fen,
        paid_at=paid_at or datetime(2025, 3, 20, 2, 0, tzinfo=UTC),
        method=method,
    )

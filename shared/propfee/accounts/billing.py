"""Monthly billing for companies that bill in propfee: each unit's bill for a period from its fee schedule.

The fee is the unit's area times its rate per m² and month, rounded to whole fen by the configured rule
(half up unless the contract says otherwise); a unit without a rate has a flat monthly fee. Issuing is
idempotent per unit and period: a rerun, or a retry of the schedule, issues nothing twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from propfee.domain.models import Bill, Community, Unit

ROUNDING = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "down": ROUND_DOWN}


class BillingRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    due_day: int = Field(default=10, ge=1, le=28)  # the period's bills fall due on this day of its month
    rounding: Literal["half_up", "half_even", "down"] = "half_up"  # area x rate to whole fen
    # how a payment settles open bills: the oldest first, or the month the payer named (账期) first
    allocation: Literal["oldest_first", "named_period_first"] = "oldest_first"


def monthly_fee_fen(unit: Unit, rules: BillingRules) -> int:
    if unit.rate_fen_per_m2 is None:
        return unit.monthly_fee_fen
    return int((unit.area_m2 * unit.rate_fen_per_m2).quantize(Decimal(1), rounding=ROUNDING[rules.rounding]))


def bill_for(unit: Unit, period: str, rules: BillingRules, issued_at: datetime) -> Bill:
    year, month = (int(part) for part in period.split("-"))
    return Bill(
        unit_id=unit.unit_id,
        community_id=unit.community_id,
        period=period,
        amount_fen=monthly_fee_fen(unit, rules),
        due=date(year, month, rules.due_day),
        issued_at=issued_at,
    )


class BillingStore(Protocol):
    def communities(self) -> list[Community]: ...

    def unit_ids(self, community_id: str) -> list[str]: ...

    def get_unit(self, unit_id: str) -> Unit | None: ...

    def issue_bill(self, bill: Bill) -> bool: ...


def issue_period(
    store: BillingStore,
    rules: BillingRules,
    period: str,
    issued_at: datetime,
    community_ids: list[str] | None = None,
    workers: int = 8,
) -> dict[str, object]:
    """Every unit's bill for the period; returns how many were issued and how many existed already."""
    counts: Counter[str] = Counter()

    def issue(unit_id: str) -> str:
        unit = store.get_unit(unit_id)
        if unit is None:
            return "unit_gone"
        if monthly_fee_fen(unit, rules) == 0:
            return "no_fee"
        return "issued" if store.issue_bill(bill_for(unit, period, rules, issued_at)) else "already_issued"

    def unit_ids() -> Iterator[str]:
        for community in store.communities():
            if community_ids is None or community.community_id in community_ids:
                yield from store.unit_ids(community.community_id)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        counts.update(pool.map(issue, unit_ids()))
    return {"period": period, **dict(sorted(counts.items()))}

"""Monthly billing: the fee from the unit's schedule, rounded as the contract says, issued once per period."""

from datetime import date
from decimal import Decimal

import pytest

from propfee.accounts.billing import BillingRules, bill_for, issue_period, monthly_fee_fen
from propfee.domain.models import Bill, Community
from tests.support import at, unit


@pytest.mark.parametrize(
    ("area", "rate", "rounding", "fee"),
    [
        ("89.55", "235", "half_up", 21044),  # 21044.25
        ("100.10", "250.5", "half_up", 25075),  # 25075.05
        ("90.10", "250.5", "half_up", 22570),  # 22570.05
        ("10.5", "1", "half_up", 11),  # 10.5 -> 11
        ("10.5", "1", "half_even", 10),  # 10.5 -> 10 (banker's rounding)
        ("11.5", "1", "half_even", 12),
        ("10.9", "1", "down", 10),
    ],
)
def test_the_fee_is_area_times_rate_rounded_to_whole_fen_by_the_stated_rule(area, rate, rounding, fee):
    flat = unit(area_m2=Decimal(area), rate_fen_per_m2=Decimal(rate), monthly_fee_fen=1)
    assert monthly_fee_fen(flat, BillingRules(rounding=rounding)) == fee


def test_a_unit_without_a_rate_has_its_flat_monthly_fee():
    assert monthly_fee_fen(unit(monthly_fee_fen=18800), BillingRules()) == 18800


def test_a_bill_falls_due_on_the_configured_day_of_its_month():
    bill = bill_for(unit(), "2027-02", BillingRules(due_day=28), at("2027-02-01 00:05"))
    assert (bill.period, bill.due, bill.amount_fen) == ("2027-02", date(2027, 2, 28), 25000)


def test_due_days_past_the_28th_are_refused_since_february_has_none():
    with pytest.raises(ValueError, match="less than or equal to 28"):
        BillingRules(due_day=31)


class Ledger:
    def __init__(self, *units):
        self.units = {u.unit_id: u for u in units}
        self.bills: dict[tuple[str, str], Bill] = {}

    def communities(self):
        return sorted({Community(community_id=u.community_id, name=u.community_id) for u in self.units.values()},
                      key=lambda c: c.community_id)  # fmt: skip

    def unit_ids(self, community_id):
        return [u.unit_id for u in self.units.values() if u.community_id == community_id]

    def get_unit(self, unit_id):
        return self.units.get(unit_id)

    def issue_bill(self, bill):
        key = (bill.unit_id, bill.period)
        if key in self.bills:
            return False
        self.bills[key] = bill
        return True


def test_a_period_is_issued_once_per_unit_whatever_the_reruns():
    ledger = Ledger(unit("C01-B01-0101"), unit("C01-B01-0102", monthly_fee_fen=0), unit("C02-B01-0101"))

    first = issue_period(ledger, BillingRules(), "2026-12", at("2026-12-01 00:05"))
    again = issue_period(ledger, BillingRules(), "2026-12", at("2026-12-01 01:05"))

    assert first == {"period": "2026-12", "issued": 2, "no_fee": 1}
    assert again == {"period": "2026-12", "already_issued": 2, "no_fee": 1}
    assert sorted(ledger.bills) == [("C01-B01-0101", "2026-12"), ("C02-B01-0101", "2026-12")]


def test_a_run_can_be_limited_to_some_communities():
    ledger = Ledger(unit("C01-B01-0101"), unit("C02-B01-0101"))
    assert issue_period(ledger, BillingRules(), "2026-12", at("2026-12-01 00:05"), ["C02"])["issued"] == 1
    assert list(ledger.bills) == [("C02-B01-0101", "2026-12")]

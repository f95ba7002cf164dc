"""Bills and payments on a unit's open balance: oldest first, partial, overpaid, and not one fen lost."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from propfee.accounts.ledger import allocate, with_bill
from propfee.domain.models import OpenBill
from tests.support.builders import PROPERTY, make_bill, make_payment, make_unit, open_bill

THREE_MONTHS = {
    "2025-01": open_bill(date(2025, 1, 15), 10_000),
    "2025-02": open_bill(date(2025, 2, 15), 10_000),
    "2025-03": open_bill(date(2025, 3, 15), 10_000),
}

# ---------------------------------------------------------------- allocate


def test_a_payment_settles_the_oldest_bills_first():
    unit = make_unit(open_bills=THREE_MONTHS, version=4)

    allocation = allocate(unit, make_payment(15_000))

    assert allocation.by_period == {"2025-01": 10_000, "2025-02": 5_000}
    assert allocation.credit_fen == 0
    after = allocation.unit_after
    assert after.open_bills == {
        "2025-02": open_bill(date(2025, 2, 15), 5_000),
        "2025-03": open_bill(date(2025, 3, 15), 10_000),
    }
    assert after.balance_fen == 15_000
    assert after.credit_fen == 0
    assert after.version == 5


def test_oldest_means_earliest_due_date_whatever_order_the_bills_are_stored_in():
    bills = {
        "2025-03": open_bill(date(2025, 3, 15), 10_000),
        "2025-02": open_bill(date(2025, 2, 15), 10_000),
        "2024-12": open_bill(date(2025, 1, 5), 10_000),  # billed late, but due before February's
    }

    allocation = allocate(make_unit(open_bills=bills), make_payment(12_000))

    assert allocation.by_period == {"2024-12": 10_000, "2025-02": 2_000}
    assert set(allocation.unit_after.open_bills) == {"2025-02", "2025-03"}


def test_bills_due_the_same_day_are_settled_in_period_order():
    bills = {"2025-02": open_bill(date(2025, 3, 1), 500), "2025-01": open_bill(date(2025, 3, 1), 500)}

    allocation = allocate(make_unit(open_bills=bills), make_payment(700))

    assert allocation.by_period == {"2025-01": 500, "2025-02": 200}


def test_a_partial_payment_leaves_the_remainder_outstanding_on_the_same_bill():
    unit = make_unit(open_bills={"2025-01": open_bill(date(2025, 1, 15), 21_044)})

    allocation = allocate(unit, make_payment(20_000))

    assert allocation.by_period == {"2025-01": 20_000}
    assert allocation.unit_after.open_bills == {"2025-01": open_bill(date(2025, 1, 15), 1_044)}
    assert allocation.unit_after.overdue_fen(date(2025, 3, 1)) == 1_044
    assert allocation.credit_fen == 0


def test_an_overpayment_becomes_credit():
    unit = make_unit(open_bills=THREE_MONTHS, credit_fen=100)

    allocation = allocate(unit, make_payment(35_000))

    assert sum(allocation.by_period.values()) == 30_000
    assert allocation.credit_fen == 5_000
    assert allocation.unit_after.open_bills == {}
    assert allocation.unit_after.balance_fen == 0
    assert allocation.unit_after.credit_fen == 5_100


def test_a_payment_with_nothing_owed_is_all_credit():
    allocation = allocate(make_unit(), make_payment(8_888))

    assert allocation.by_period == {}
    assert allocation.credit_fen == 8_888
    assert allocation.unit_after.credit_fen == 8_888


@pytest.mark.parametrize("amount", [30_000, 30_001])
def test_settling_everything_starts_a_new_arrears_episode(amount):
    unit = make_unit(open_bills=THREE_MONTHS, steps_done=frozenset({"sms_d1", "email_d7"}))

    after = allocate(unit, make_payment(amount)).unit_after

    assert after.open_bills == {}
    assert after.steps_done == frozenset()


def test_a_partial_payment_keeps_the_steps_already_sent():
    unit = make_unit(open_bills=THREE_MONTHS, steps_done=frozenset({"sms_d1", "email_d7"}))

    after = allocate(unit, make_payment(29_999)).unit_after

    assert after.steps_done == frozenset({"sms_d1", "email_d7"})


def test_allocate_does_not_change_the_unit_it_was_given():
    unit = make_unit(open_bills=THREE_MONTHS)

    allocate(unit, make_payment(15_000))

    assert unit.open_bills == THREE_MONTHS
    assert unit.balance_fen == 30_000


# ---------------------------------------------------------------- with_bill


def test_a_new_bill_is_open_for_its_whole_amount_without_credit():
    after = with_bill(make_unit(version=2), make_bill("2025-03", 21_044))

    assert after.open_bills == {"2025-03": OpenBill(due=date(2025, 3, 15), outstanding_fen=21_044)}
    assert after.balance_fen == 21_044
    assert after.version == 3


def test_credit_pays_a_new_bill_down_first():
    after = with_bill(make_unit(credit_fen=5_000), make_bill("2025-03", 21_044))

    assert after.open_bills["2025-03"].outstanding_fen == 16_044
    assert after.credit_fen == 0


def test_enough_credit_pays_a_new_bill_entirely():
    after = with_bill(make_unit(credit_fen=30_000), make_bill("2025-03", 21_044))

    assert after.open_bills == {}
    assert after.balance_fen == 0
    assert after.credit_fen == 8_956


def test_a_second_bill_for_the_same_period_is_refused():
    unit = with_bill(make_unit(), make_bill("2025-03", 21_044))

    with pytest.raises(ValueError, match="2025-03"):
        with_bill(unit, make_bill("2025-03", 21_044))


def test_a_bill_after_a_partial_payment_is_added_alongside():
    unit = allocate(with_bill(make_unit(), make_bill("2025-02", 20_000)), make_payment(5_000)).unit_after

    after = with_bill(unit, make_bill("2025-03", 20_000))

    assert after.balance_fen == 35_000
    assert after.oldest_due == date(2025, 2, 15)


# ---------------------------------------------------------------- properties

_PERIODS = [f"{year}-{month:02d}" for year in (2024, 2025) for month in range(1, 13)]


@st.composite
def units_with_bills(draw):
    periods = draw(st.lists(st.sampled_from(_PERIODS), max_size=8, unique=True))
    open_bills = {
        period: OpenBill(
            due=draw(st.dates(min_value=date(2024, 1, 1), max_value=date(2025, 12, 31))),
            outstanding_fen=draw(st.integers(min_value=1, max_value=500_000)),
        )
        for period in periods
    }
    return make_unit(
        open_bills=open_bills,
        credit_fen=draw(st.integers(min_value=0, max_value=100_000)),
        steps_done=frozenset(draw(st.sets(st.sampled_from(["sms_d1", "email_d7", "sms_d15"])))),
        version=draw(st.integers(min_value=0, max_value=1_000)),
    )


@PROPERTY
@given(unit=units_with_bills(), amount=st.integers(min_value=1, max_value=3_000_000))
def test_a_payment_conserves_every_fen(unit, amount):
    allocation = allocate(unit, make_payment(amount))

    allocated = sum(allocation.by_period.values())
    after = allocation.unit_after
    assert allocated + allocation.credit_fen == amount
    assert after.balance_fen == unit.balance_fen - allocated
    assert after.credit_fen == unit.credit_fen + allocation.credit_fen
    assert all(value >= 0 for value in allocation.by_period.values())
    # nothing becomes credit while something is still owed
    assert allocation.credit_fen == 0 or after.balance_fen == 0
    # each bill is reduced by exactly what was allocated to it
    for period, bill in unit.open_bills.items():
        left = after.open_bills[period].outstanding_fen if period in after.open_bills else 0
        assert left == bill.outstanding_fen - allocation.by_period.get(period, 0)
    assert set(after.open_bills) <= set(unit.open_bills)
    assert all(bill.outstanding_fen > 0 for bill in after.open_bills.values())


@PROPERTY
@given(unit=units_with_bills(), amount=st.integers(min_value=1, max_value=3_000_000))
def test_no_newer_bill_is_paid_while_an_older_one_stays_open(unit, amount):
    allocation = allocate(unit, make_payment(amount))

    order = sorted(unit.open_bills, key=lambda period: (unit.open_bills[period].due, period))
    still_open = [period for period in order if period in allocation.unit_after.open_bills]
    if still_open:
        first_open = order.index(still_open[0])
        assert all(allocation.by_period.get(period, 0) == 0 for period in order[first_open + 1 :])
    if allocation.unit_after.open_bills:
        assert allocation.unit_after.steps_done == unit.steps_done
    else:
        assert allocation.unit_after.steps_done == frozenset()


@PROPERTY
@given(
    unit=units_with_bills(),
    period=st.sampled_from(["2026-01", "2026-02"]),
    amount=st.integers(min_value=0, max_value=200_000),
)
def test_a_new_bill_conserves_every_fen(unit, period, amount):
    after = with_bill(unit, make_bill(period, amount))

    from_credit = unit.credit_fen - after.credit_fen
    assert 0 <= from_credit <= amount
    assert after.balance_fen == unit.balance_fen + amount - from_credit
    assert from_credit == min(unit.credit_fen, amount)


def test_a_payment_naming_its_month_settles_that_month_first_when_the_company_says_so():
    owing = with_bill(with_bill(make_unit(), make_bill("2026-10")), make_bill("2026-11"))
    named = make_payment(30000).model_copy(update={"for_period": "2026-11"})

    assert allocate(owing, named).by_period == {"2026-10": 21044, "2026-11": 8956}  # the default: the oldest first
    assert allocate(owing, named, "named_period_first").by_period == {"2026-11": 21044, "2026-10": 8956}
    unnamed = named.model_copy(update={"for_period": None})
    assert allocate(owing, unnamed, "named_period_first").by_period == {"2026-10": 21044, "2026-11": 8956}

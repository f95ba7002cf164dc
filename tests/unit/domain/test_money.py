"""Fen to yuan at the edges, and the monthly fee from area x rate, rounded like the billing system."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from propfee.domain.money import fen_from_area, rate, yuan
from tests.support.builders import PROPERTY


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (0, "0.00"),
        (5, "0.05"),
        (100, "1.00"),
        (21_044, "210.44"),
        (123_456, "1,234.56"),
        (100_000_000, "1,000,000.00"),
        (-5, "-0.05"),
        (-123_456, "-1,234.56"),
    ],
)
def test_yuan_with_grouping(fen, text):
    assert yuan(fen) == text


@pytest.mark.parametrize(
    ("fen", "text"),
    [(123_456, "1234.56"), (100_000_000, "1000000.00"), (-123_456, "-1234.56"), (-99, "-0.99"), (7, "0.07")],
)
def test_yuan_without_grouping_for_spreadsheets(fen, text):
    assert yuan(fen, grouping=False) == text


@PROPERTY
@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_yuan_round_trips_to_the_same_fen(fen):
    for text in (yuan(fen), yuan(fen, grouping=False)):
        assert Decimal(text.replace(",", "")) * 100 == fen
        assert len(text.rsplit(".", 1)[1]) == 2
    assert "," not in yuan(fen, grouping=False)


@pytest.mark.parametrize(
    ("area", "rate_yuan", "fen"),
    [
        ("89.55", "2.35", 21_044),  # 210.4425 yuan
        ("89.55", "2.30", 20_597),  # 205.965 yuan: exactly half a fen, rounded up
        ("100.50", "0.01", 101),  # 1.005 yuan: half a fen, up (banker's rounding would give 100)
        ("120.25", "2.50", 30_063),  # 300.625 yuan
        ("120.00", "2.50", 30_000),
        ("0.01", "0.01", 0),  # 0.0001 yuan
    ],
)
def test_fen_from_area_rounds_half_up(area, rate_yuan, fen):
    result = fen_from_area(Decimal(area), Decimal(rate_yuan))

    assert result == fen
    assert type(result) is int


@PROPERTY
@given(
    area=st.decimals(min_value=Decimal("1.00"), max_value=Decimal("999.99"), places=2),
    rate_yuan=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("20.00"), places=2),
)
def test_fen_from_area_is_within_half_a_fen_of_the_exact_amount(area, rate_yuan):
    exact = area * rate_yuan * 100
    fen = fen_from_area(area, rate_yuan)

    # within half a fen of the exact amount; an exact half always goes up (never down to even)
    assert -Decimal("0.5") <= exact - fen < Decimal("0.5")


@pytest.mark.parametrize(
    ("paid", "billed", "expected"),
    [(60_000, 100_000, 0.6), (1, 3, 0.3333), (2, 3, 0.6667), (0, 100, 0.0), (100, 0, None), (0, 0, None)],
)
def test_collection_rate(paid, billed, expected):
    assert rate(paid, billed) == expected


def test_a_providers_amount_in_yuan_is_read_as_fen_and_anything_else_is_refused():
    import pytest

    from propfee.domain.money import fen_from_yuan

    assert fen_from_yuan(" 1234.56 ") == 123456 and fen_from_yuan("0.01") == 1 and fen_from_yuan("250") == 25000
    with pytest.raises(ValueError, match="not an amount"):
        fen_from_yuan("¥12")

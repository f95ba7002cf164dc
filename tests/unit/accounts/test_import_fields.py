"""Cell converters for ledger and payment imports: money to exact fen, dates year first, no personal data in errors."""

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from propfee.accounts.imports.fields import (
    FieldError,
    is_blank,
    parse_amount_fen,
    parse_area,
    parse_date,
    parse_datetime,
    parse_label,
    parse_method,
    parse_period,
    parse_phone,
    parse_phones,
    parse_rate_fen,
    parse_reference,
    parse_room,
    split_room,
)
from propfee.domain.money import yuan
from tests.support.builders import PROPERTY, SHANGHAI

FULL_WIDTH = str.maketrans("0123456789.,-", "０１２３４５６７８９．，－")


@pytest.mark.parametrize(
    ("cell", "fen"),
    [
        ("1,234.50元", 123_450),
        ("¥1234.5", 123_450),
        ("￥1,234.50", 123_450),
        ("１２３４．５０", 123_450),
        ("-50.00", -5_000),
        ("−50.00", -5_000),  # the math minus sign some exports use
        ("¥-50", -5_000),
        ("-¥50", -5_000),
        ("(50.00)", -5_000),
        ("（５０．００）", -5_000),
        ("1234", 123_400),
        ("12.340", 1_234),
        ("0.05", 5),
        (" 1 234.5 RMB ", 123_450),
        ("CNY 99", 9_900),
        ("1,000,000.01", 100_000_001),
        ("-0.00", 0),
        (1234, 123_400),
        (1234.5, 123_450),
        (212.43000000000001, 21_243),  # a formula result: spreadsheets keep 15 significant digits
        (0.1 + 0.2, 30),
        (Decimal("12.30"), 1_230),
    ],
)
def test_amounts_become_exact_fen(cell, fen):
    assert parse_amount_fen(cell) == fen


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("12.345", "more than 2 decimal places"),
        (12.345, "more than 2 decimal places"),
        ("abc", "not an amount"),
        ("", "missing"),
        (None, "missing"),
        ("NaN", "not an amount"),
        ("inf", "not an amount"),
        (float("nan"), "not an amount"),
        (float("inf"), "not an amount"),
        ("12,34", "a comma as the decimal point"),
        ("1,2345", "not an amount"),
        ("(-50)", "a sign inside brackets"),
        ("(50", "not an amount"),
        ("--50", "not an amount"),
        ("1e5", "not an amount"),
        ("12345678901234", "too large"),  # 14 digits of yuan: an ID or phone number in the wrong column
        (True, "not an amount"),
    ],
)
def test_bad_amounts_are_refused_with_the_reason(cell, reason):
    with pytest.raises(FieldError, match=reason):
        parse_amount_fen(cell)


@PROPERTY
@given(st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1), st.booleans(), st.booleans())
def test_any_fen_round_trips_through_its_yuan_text(fen, grouping, full_width):
    text = yuan(fen, grouping=grouping)
    if full_width:
        text = text.translate(FULL_WIDTH)
    assert parse_amount_fen(text) == fen
    assert parse_amount_fen(f"¥{text}元") == fen


@pytest.mark.parametrize(
    "cell",
    [
        "2026年11月3日",
        "2026年11月3号",
        "2026-11-03",
        "2026/11/3",
        "2026.11.03",
        "20261103",
        "２０２６－１１－０３",
        46329,
        "46329",
        46329.0,
        "2026-11-03 23:59:59",
        datetime(2026, 11, 3, 12, 0),
        date(2026, 11, 3),
        datetime(2026, 11, 2, 16, 30, tzinfo=UTC),  # 00:30 on the 3rd in Shanghai
    ],
)
def test_dates_are_read_year_first_and_as_excel_serials(cell):
    assert parse_date(cell, SHANGHAI) == date(2026, 11, 3)


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("11/03/2026", "day and month order is ambiguous"),
        ("25/12/2026", "day and month order is ambiguous"),  # unambiguous alone, refused like its neighbours
        ("2026-02-30", "no such date"),
        ("2026-13-01", "no such date"),
        ("1989-12-31", "outside 1990-2099"),
        ("12", "outside 1990-2099"),  # a day number read as serial 12
        ("next tuesday", "not a date"),
        ("", "missing"),
        ("2026-11-03 25:00", "no such time"),
        ("2026-11-03 noon", "not a date and time"),
        (True, "not a date"),
        (-5, "not a date"),
    ],
)
def test_bad_dates_are_refused(cell, reason):
    with pytest.raises(FieldError, match=reason):
        parse_date(cell, SHANGHAI)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2026-11-03 14:05:09", datetime(2026, 11, 3, 14, 5, 9, tzinfo=SHANGHAI)),
        ("2026/11/3 9:05", datetime(2026, 11, 3, 9, 5, tzinfo=SHANGHAI)),
        ("2026年11月3日 14时05分", datetime(2026, 11, 3, 14, 5, tzinfo=SHANGHAI)),
        ("2026年11月3日 14时05分09秒", datetime(2026, 11, 3, 14, 5, 9, tzinfo=SHANGHAI)),
        ("2026-11-03T14:05:09.250", datetime(2026, 11, 3, 14, 5, 9, 250_000, tzinfo=SHANGHAI)),
        ("2026-11-03T06:05:09Z", datetime(2026, 11, 3, 14, 5, 9, tzinfo=SHANGHAI)),
        ("2026-11-03T14:05:09+08:00", datetime(2026, 11, 3, 14, 5, 9, tzinfo=SHANGHAI)),
        ("2026-11-03", datetime(2026, 11, 3, tzinfo=SHANGHAI)),  # a date alone: local midnight
        ("46329.5", datetime(2026, 11, 3, 12, tzinfo=SHANGHAI)),
        (46329.604166666664, datetime(2026, 11, 3, 14, 30, tzinfo=SHANGHAI)),  # binary noise rounds to the second
        (datetime(2026, 11, 3, 14, 5), datetime(2026, 11, 3, 14, 5, tzinfo=SHANGHAI)),
        (date(2026, 11, 3), datetime(2026, 11, 3, tzinfo=SHANGHAI)),
    ],
)
def test_datetimes_are_aware_and_naive_ones_are_company_time(cell, expected):
    parsed = parse_datetime(cell, SHANGHAI)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(hours=8)


def test_an_aware_datetime_keeps_its_instant():
    moment = datetime(2026, 11, 3, 14, 5, tzinfo=timezone(timedelta(hours=-5)))
    parsed = parse_datetime(moment, SHANGHAI)
    assert parsed == moment
    assert parsed.tzinfo == SHANGHAI


def test_a_naive_time_is_wall_clock_time_of_the_given_zone():
    assert parse_datetime("2026-07-01 09:00", ZoneInfo("Europe/Berlin")).utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize(
    "cell",
    [
        "2026年11月",
        "2026年11月份",
        "2026-11",
        "202611",
        "2026.11",
        "2026/11",
        "2026-11-01",
        202611,
        "２０２６年１１月",
        datetime(2026, 11, 1),
        date(2026, 11, 15),
    ],
)
def test_billing_periods(cell):
    assert parse_period(cell) == "2026-11"


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("2026-13", "no such month"),
        ("2026-00", "no such month"),
        ("1888-01", "year outside"),
        (2026.1, "format the column as text"),  # Excel made '2026.10' into 2026.1
        ("November", "not a billing month"),
        ("2026-11-01至2026-11-30", "not a billing month"),
        ("", "missing"),
    ],
)
def test_bad_periods(cell, reason):
    with pytest.raises(FieldError, match=reason):
        parse_period(cell)


def test_phone_numbers_become_e164():
    assert parse_phone("138 1234 5678") == "+8613812345678"
    assert parse_phone("+86 138-1234-5678") == "+8613812345678"
    assert parse_phone(13812345678) == "+8613812345678"
    assert parse_phone(13812345678.0) == "+8613812345678"  # a number cell
    assert parse_phone("１３８１２３４５６７８") == "+8613812345678"
    assert parse_phone("021-62345678") == "+862162345678"


def test_a_contact_cell_may_hold_several_numbers():
    assert parse_phones("13812345678/13912345678") == ("+8613812345678", "+8613912345678")
    assert parse_phones("13812345678、13912345678；13812345678") == ("+8613812345678", "+8613912345678")
    assert parse_phones("无") == ()
    assert parse_phones(None) == ()


@pytest.mark.parametrize("cell", ["1381234567", "13812345678999", "12345", "138123456789/1"])
def test_a_bad_phone_is_refused_without_repeating_it(cell):
    with pytest.raises(FieldError) as error:
        parse_phones(cell)
    assert str(error.value) == "not a valid phone number"


@pytest.mark.parametrize("convert", [parse_amount_fen, parse_period, parse_area, parse_rate_fen, parse_phone])
def test_no_error_message_repeats_the_cell(convert):
    cell = "王芳 13812345678 E+1"
    with pytest.raises(FieldError) as error:
        convert(cell)
    assert "王芳" not in str(error.value)
    assert "1381234" not in str(error.value)


def test_date_errors_do_not_repeat_the_cell():
    with pytest.raises(FieldError) as error:
        parse_datetime("13812345678 王芳", SHANGHAI)
    assert "王芳" not in str(error.value)
    assert "1381234" not in str(error.value)


def test_areas_and_rates():
    assert parse_area("89.5㎡") == Decimal("89.5")
    assert parse_area("89.5平米") == Decimal("89.5")
    assert parse_area("89.50 平方米") == Decimal("89.5")
    assert parse_area("89.5m²") == Decimal("89.5")
    assert parse_area(89.55) == Decimal("89.55")
    assert parse_rate_fen("2.5") == Decimal("250")
    assert parse_rate_fen("2.50元/㎡") == Decimal("250")
    assert parse_rate_fen("1.85元/平米/月") == Decimal("185")
    assert parse_rate_fen("2.125") == Decimal("212.5")  # fractional fen is kept
    for bad, reason in [("0", "positive"), ("-3", "not an area"), ("89.123456", "more than 4 decimal places")]:
        with pytest.raises(FieldError, match=reason):
            parse_area(bad)
    with pytest.raises(FieldError, match="not a rate"):
        parse_rate_fen("面议")


def test_labels_rooms_and_references():
    assert parse_label(1502) == "1502"
    assert parse_label(1502.0) == "1502"
    assert parse_label(" 3 栋 ") == "3栋"
    assert parse_room("1502室") == "1502"
    assert parse_reference("  PAY-0001 ") == "PAY-0001"
    assert parse_reference(20261103001) == "20261103001"
    assert parse_method("微信") == "wechat"
    assert parse_method("Alipay") == "alipay"
    assert parse_method("找零") == "找零"
    assert parse_method("-") is None
    assert is_blank("  ") and is_blank("无") and is_blank("N/A") and not is_blank("0")
    with pytest.raises(FieldError, match="missing"):
        parse_label("--")


@pytest.mark.parametrize("cell", [2.02611031234567e15, 2026110312345678, "2.02611E+15", "2.02611e+15"])
def test_a_reference_that_excel_turned_into_a_number_is_refused(cell):
    with pytest.raises(FieldError, match="format the column as text"):
        parse_reference(cell)


@pytest.mark.parametrize(
    ("cell", "parts"),
    [
        ("3栋1单元1502", ("3栋", "1单元", "1502")),
        ("3栋1502室", ("3栋", None, "1502")),
        ("12号楼2单元302", ("12号楼", "2单元", "302")),
        ("3-1-1502", ("3", "1", "1502")),
        ("3-1502", ("3", None, "1502")),
        ("1502", None),
    ],
)
def test_a_room_that_also_names_its_building(cell, parts):
    assert split_room(cell) == parts

"""The date an owner promises to pay, read from a normalised reply."""

from datetime import date, timedelta

import chinese_calendar
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from lunardate import LunarDate

from propfee.feedback.intents import normalize
from propfee.feedback.promise_dates import parse_promise_date
from tests.support.builders import PROPERTY

WEDNESDAY = date(2026, 3, 18)  # an ordinary PRC workday


def promised(text: str, today: date = WEDNESDAY) -> date | None:
    return parse_promise_date(normalize(text), today)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # month and day
        ("我12月10号交", date(2026, 12, 10)),
        ("12月10日前交清", date(2026, 12, 10)),
        ("十二月十号", date(2026, 12, 10)),
        ("四月二十五日", date(2026, 4, 25)),
        ("12.10交", date(2026, 12, 10)),
        ("12/10", date(2026, 12, 10)),
        ("１２月１０号", date(2026, 12, 10)),  # full-width digits
        ("2026-12-10", date(2026, 12, 10)),
        ("2026年5月6日", date(2026, 5, 6)),
        # a day of the month alone: this month while ahead (today included), else next month
        ("25号", date(2026, 3, 25)),
        ("18号", date(2026, 3, 18)),
        ("10号", date(2026, 4, 10)),
        ("二十号", date(2026, 3, 20)),
        # relative days
        ("今天晚上交", date(2026, 3, 18)),
        ("明天", date(2026, 3, 19)),
        ("后天", date(2026, 3, 20)),
        ("大后天", date(2026, 3, 21)),
        ("三天后", date(2026, 3, 21)),
        ("两周内", date(2026, 4, 1)),
        # weeks start on Monday; "下周五" is next week's Friday
        ("下周五", date(2026, 3, 27)),
        ("下礼拜一", date(2026, 3, 23)),
        ("周一", date(2026, 3, 23)),
        ("星期一", date(2026, 3, 23)),
        ("礼拜一", date(2026, 3, 23)),
        ("周三", date(2026, 3, 25)),  # the next Wednesday: today is one
        ("这周五", date(2026, 3, 20)),
        ("这周末", date(2026, 3, 21)),
        ("下周末", date(2026, 3, 28)),
        # parts of a month or year
        ("月底", date(2026, 3, 31)),
        ("月底前", date(2026, 3, 31)),
        ("下月初", date(2026, 4, 5)),
        ("下个月初", date(2026, 4, 5)),
        ("下个月15号", date(2026, 4, 15)),
        ("下个月十五号", date(2026, 4, 15)),
        ("下月底", date(2026, 4, 30)),
        ("6月底", date(2026, 6, 30)),
        ("年底", date(2026, 12, 31)),
        # English
        ("tomorrow", date(2026, 3, 19)),
        ("the day after tomorrow", date(2026, 3, 20)),
        ("next Friday", date(2026, 3, 27)),
        ("on Friday", date(2026, 3, 20)),
        ("by Dec 10", date(2026, 12, 10)),
        ("December 10th", date(2026, 12, 10)),
        ("10 Dec", date(2026, 12, 10)),
        ("on the 15th", date(2026, 4, 15)),
        ("on the 20th", date(2026, 3, 20)),
        ("end of the month", date(2026, 3, 31)),
        ("end of next month", date(2026, 4, 30)),
        ("early next month", date(2026, 4, 5)),
        ("in 10 days", date(2026, 3, 28)),
        ("this weekend", date(2026, 3, 21)),
    ],
)
def test_each_form_reads_as_a_date(text: str, expected: date) -> None:
    assert promised(text) == expected


@pytest.mark.parametrize(
    "text", ["发工资后", "过几天", "下个月", "下周", "改天吧", "尽快", "asap", "next month", "会交的", ""]
)
def test_vague_promises_give_no_date(text: str) -> None:
    assert promised(text) is None


@pytest.mark.parametrize("text", ["3号楼漏水", "1号线", "12.5元", "还差2.5万", "电话13812345678", "15th floor"])
def test_numbers_that_are_not_dates(text: str) -> None:
    assert promised(text) is None


def test_a_month_and_day_already_past_means_next_year() -> None:
    assert promised("3月1号") == date(2027, 3, 1)
    assert promised("1.15") == date(2027, 1, 15)
    assert promised("Jan 5") == date(2027, 1, 5)


def test_a_past_date_with_its_year_is_no_promise() -> None:
    assert promised("2025-12-10") is None


def test_a_day_missing_from_next_month_is_its_last_day() -> None:
    assert promised("31号", today=date(2026, 4, 5)) == date(2026, 4, 30)
    assert promised("下个月31号", today=date(2026, 1, 20)) == date(2026, 2, 28)


def test_month_end_across_a_year() -> None:
    new_years_eve = date(2026, 12, 30)
    assert promised("下月初", new_years_eve) == date(2027, 1, 5)
    assert promised("明天", new_years_eve) == date(2026, 12, 31)
    assert promised("12.10", new_years_eve) == date(2027, 12, 10)


def test_the_earliest_stated_date_counts() -> None:
    # a date already past this year reads as next year's, so the promised one wins
    assert promised("3月1号交了一半，剩下的4月10号交") == date(2026, 4, 10)
    assert promised("明天或者后天") == date(2026, 3, 19)


def test_after_new_year_is_the_first_workday_after_the_holiday() -> None:
    # 2026: 1-3 January off, Sunday the 4th a make-up workday (from the chinesecalendar package)
    assert promised("元旦后", today=date(2025, 12, 20)) == date(2026, 1, 4)
    assert chinese_calendar.is_workday(date(2026, 1, 4))
    assert promised("after new year", today=date(2025, 12, 20)) == date(2026, 1, 4)


def test_after_spring_festival_follows_the_official_calendar() -> None:
    # 2026: Spring Festival on 17 February, off from the 15th to the 23rd
    expected = date(2026, 2, 24)
    for text in ("过完年", "过完年再交", "年后", "春节后", "after Chinese New Year"):
        assert promised(text, today=date(2025, 11, 27)) == expected, text


def test_after_spring_festival_in_a_year_the_calendar_does_not_know_yet() -> None:
    today = date(2026, 11, 27)
    new_year = LunarDate(2027, 1, 1).to_solar_date()
    day = promised("过完年", today)
    assert day is not None
    assert new_year + timedelta(days=7) <= day <= new_year + timedelta(days=10)
    assert day.weekday() < 5


def test_a_promise_just_after_this_years_holiday_moves_to_next_year() -> None:
    assert promised("过完年", today=date(2026, 3, 1)) == promised("过完年", today=date(2026, 11, 1))


@PROPERTY
@given(
    text=st.text(
        alphabet="0123456789一二十号日月周下这本底初年后天明今过完元旦春节. /-星期礼拜tomrwnextfiday", max_size=30
    ),
    today=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
)
@example(text="十十日", today=date(2000, 1, 1))  # a doubled 十 once crashed the numeral reading
def test_a_promised_date_is_never_before_today(text: str, today: date) -> None:
    day = parse_promise_date(normalize(text), today)
    assert day is None or day >= today


@PROPERTY
@given(text=st.text(max_size=200), today=st.dates())
def test_any_text_and_any_day_never_raise(text: str, today: date) -> None:
    day = parse_promise_date(normalize(text), today)
    assert day is None or day >= today

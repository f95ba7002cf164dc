"""The date an owner promises to pay, read from a reply already normalised by `propfee.feedback.intents.normalize`.

Pure: a function of the text and today's local date. Every form resolves to today or later (a month and day
already past this year means next year's; a past date with its year is no promise); vague promises
("发工资后", "过几天", "下个月", "12月中旬") give None, and so does a message that states no date. When several
dates are stated, the earliest of those tied to a pay verb counts ("过完年再交，年底手头紧": after the festival),
else the earliest.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import NamedTuple

import chinese_calendar
from lunardate import LunarDate

__all__ = ["Dates", "StatedDate", "parse_promise_date", "read_dates"]

_CN_DIGITS = dict(zip("零〇一二两三四五六七八九", (0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))
# Chinese numerals in a date or a count of days ("十二月十号", "二〇二六年", "三天后"); not weekdays ("周一")
_CN_NUMBER = re.compile(r"[零〇一二两三四五六七八九十]{1,4}(?=[月号日年天周]|个?(?:星期|礼拜))")

_WEEKDAYS_ZH = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_WEEKDAYS_EN = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTH_NAMES_EN = (
    "jan january|feb february|mar march|apr april|may|jun june|jul july|aug august|sep sept september|oct october"
    "|nov november|dec december"
)
_MONTHS_EN = {
    name: number for number, names in enumerate(_MONTH_NAMES_EN.split("|"), start=1) for name in names.split()
}
_MONTH_EN = "|".join(sorted(_MONTHS_EN, key=len, reverse=True))
_WEEKDAY_EN = "|".join(_WEEKDAYS_EN)
_ORDINAL = r"(\d{1,2})(?:st|nd|rd|th)"
# "3号楼" is a building, "1号线" a metro line, "12.5元" money: none of them is a date
_NOT_A_DAY = r"(?!楼|栋|幢|座|房|室|门|单元|院|线|车位|库|机|床)"
_MONEY_NEAR = re.compile(r"(?:价|费|元|块|钱|金额|面积|平米|平方|涨|变|按|差)[^\d]{0,4}$")
_NOT_A_MONTH_DAY = r"(?![\d./:-]|元|块|万|千|百|%|个|倍|米|平|斤|度|折|分|岁|kg)"

# a pay verb within a few characters after the date, or an English one before it
_PAY_AFTER = re.compile(
    r"(?:.{0,8}?(?:交|缴|付|还钱|转账|转给|补上|结清)(?!了|过|完了|清了|的))|\s?(?:i ll |ill |i will )?(?:pay|settle)"
)
_PAY_BEFORE = re.compile(
    r"(?:pay|settle|transfer)(?: it| you| the \w+| this| them| all| the rest)? (?:on |by |before |at |until )?$"
)

Resolver = Callable[[re.Match[str], date], date | None]


class StatedDate(NamedTuple):
    day: date
    to_pay: bool  # a pay verb follows it ("下周五交", "月底前交清") or comes before it ("pay by Dec 10")


class Dates(NamedTuple):
    """What a reply says about dates: each date it states, and the rest of the text without them."""

    stated: tuple[StatedDate, ...]
    rest: str

    @property
    def promise(self) -> date | None:
        """The earliest date given to pay; the earliest of any when none is tied to paying."""
        to_pay = [d.day for d in self.stated if d.to_pay]
        return min(to_pay or (d.day for d in self.stated), default=None)


def parse_promise_date(normalized_text: str, today: date) -> date | None:
    """The date the text promises to pay, on or after today; None when it states none."""
    return read_dates(normalized_text, today).promise


def read_dates(normalized_text: str, today: date) -> Dates:
    text = _CN_NUMBER.sub(lambda m: _arabic(m.group()), normalized_text)
    claimed: list[tuple[int, int]] = []  # a longer form wins its span: "下个月15号" is not also "15号"
    stated: list[StatedDate] = []
    forms = _FORMS if _LATIN.search(text) else _FORMS[:_ENGLISH]
    for pattern, resolve in forms:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < other_end and other_start < end for other_start, other_end in claimed):
                continue
            claimed.append((start, end))
            try:
                day = resolve(match, today)
            except (ValueError, OverflowError):  # beyond the calendars (year 9999, the lunar table's end)
                continue
            if day is not None and day >= today:
                to_pay = bool(_PAY_AFTER.match(text, end) or _PAY_BEFORE.search(text, max(0, start - 30), start))
                stated.append(StatedDate(day, to_pay))
    rest = "".join(text[i] for i in range(len(text)) if not any(s <= i < e for s, e in claimed))
    return Dates(tuple(stated), rest)


def _arabic(numeral: str) -> str:
    """'十二' -> '12', '二十五' -> '25', '二〇二六' -> '2026'; anything else is left as it was."""
    if "十" not in numeral:
        return "".join(str(_CN_DIGITS[c]) for c in numeral)
    tens, _, ones = numeral.partition("十")
    if len(tens) > 1 or len(ones) > 1 or "十" in ones:  # "十十", "二十十": not a number, left as written
        return numeral
    return str((_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0))


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _add_months(day: date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


def _day_of_month(year: int, month: int, day: int) -> date:
    """The day in that month, or its last day when the month is shorter ("31号" in November)."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _next_month_day(today: date, day: int) -> date:
    return _day_of_month(*_add_months(today, 1), day)


def _month_day(today: date, month: int, day: int) -> date | None:
    """A month and day without a year: this year's, or next year's when this year's has passed."""
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    stated = _valid(today.year, month, day)
    if stated is not None and stated >= today:
        return stated
    return _valid(today.year + 1, month, day)


def _day_alone(today: date, day: int) -> date | None:
    """ "10号": this month while it is still ahead (today included), else next month; a day the month lacks
    is its last ("31号" in April)."""
    if not 1 <= day <= 31:
        return None
    if day >= today.day:
        return _day_of_month(today.year, today.month, day)
    return _next_month_day(today, day)


def _weekday(today: date, weekday: int, week: str) -> date:
    """'下' is next week's day (weeks start on Monday); '这' this week's (next week's once past); none: the
    next such day after today."""
    monday = today - timedelta(days=today.weekday())
    if week in ("下", "下个", "next"):
        return monday + timedelta(days=7 + weekday)
    if week in ("下下", "下下个"):
        return monday + timedelta(days=14 + weekday)
    if week in ("这", "这个", "本", "this"):
        day = monday + timedelta(days=weekday)
        return day if day >= today else day + timedelta(days=7)
    return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def _this_weekend(today: date) -> date:
    """The Saturday of this week (today itself on a Sunday)."""
    return today if today.weekday() == 6 else today + timedelta(days=5 - today.weekday())


def _is_workday(day: date) -> bool:
    """The PRC calendar (holidays and make-up workdays); plain weekdays for a year it does not know yet."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def _first_workday_from(day: date) -> date:
    while not _is_workday(day):
        day += timedelta(days=1)
    return day


def _after_new_year(today: date) -> date:
    """The first workday after the New Year's Day holiday (元旦, always off) that has not passed."""
    day = _first_workday_from(date(today.year, 1, 2))
    return day if day >= today else _first_workday_from(date(today.year + 1, 1, 2))


def _first_workday_after_spring_festival(year: int) -> date:
    new_year: date = LunarDate(year, 1, 1).to_solar_date()  # the untyped lunardate package
    try:
        chinese_calendar.get_holiday_detail(new_year)
    except NotImplementedError:
        # the calendar does not know this year's holiday yet: it has run seven to nine days from New Year's
        # Eve since 2008, so take the eighth day and the weekday after (make-up workdays are unknowable)
        day = new_year + timedelta(days=7)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        return day
    return _first_workday_from(new_year)


def _after_spring_festival(today: date) -> date:
    """The first workday after the Spring Festival holiday (过完年) that has not passed."""
    day = _first_workday_after_spring_festival(today.year)
    return day if day >= today else _first_workday_after_spring_festival(today.year + 1)


def _int(match: re.Match[str], group: int | str) -> int:
    return int(match.group(group))


def _full_date(match: re.Match[str], today: date) -> date | None:
    return _valid(_int(match, 1), _int(match, 2), _int(match, 3))  # a past year stays past: refused


# "月中", "中旬", "middle of the month" name no day: like "下个月" alone they give no date


def _next_month_part(match: re.Match[str], today: date) -> date:
    """'下个月15号', '下月底', '下月初' (the 5th, a fixed convention)."""
    year, month = _add_months(today, 1)
    part = match.group(1)
    if part.isdigit():
        return _day_of_month(year, month, int(part))
    return _month_end(year, month) if part in ("底", "末") else date(year, month, 5)


def _this_month_part(match: re.Match[str], today: date) -> date:
    if match.group(1) == "初":  # said late in a month, "月初" means the next one's early days
        return today.replace(day=5) if today.day <= 5 else _next_month_day(today, 5)
    return _month_end(today.year, today.month)


def _relative(days: int) -> Resolver:
    return lambda _match, today: today + timedelta(days=days)


def _month_part(match: re.Match[str], today: date) -> date | None:
    """'12月底', '1月初': a month's last or 5th day, this year's or next year's."""
    month, part = _int(match, 1), match.group(2)
    if not 1 <= month <= 12:
        return None
    year = today.year if month >= today.month else today.year + 1
    return _month_end(year, month) if part in ("底", "末") else date(year, month, 5)


def _next_month_en(match: re.Match[str], today: date) -> date:
    year, month = _add_months(today, 1)
    return _month_end(year, month) if match.group(1) == "end" else date(year, month, 5)


def _dotted(match: re.Match[str], today: date) -> date | None:
    """'12.10', '12/10' as month and day; not a price ("单价1.8", "涨到2.5了")."""
    month, day = match.group(1), match.group(2)
    if len(month) == len(day) == 1 or _MONEY_NEAR.search(match.string, max(0, match.start() - 6), match.start()):
        return None
    return _month_day(today, int(month), int(day))


def _in_days(match: re.Match[str], today: date) -> date | None:
    """'3天后', '两周内', 'in 10 days': counted from today."""
    weeks = not match.group(2).startswith(("天", "day"))
    count = _int(match, 1) * (7 if weeks else 1)
    return today + timedelta(days=count) if count <= 366 else None


def _weekday_zh(match: re.Match[str], today: date) -> date:
    week, name = match.group(1) or "", match.group(2)
    if name == "末":
        if week.startswith("下"):
            return _weekday(today, 5, week)
        return _this_weekend(today)
    weekday = int(name) - 1 if name.isdigit() else _WEEKDAYS_ZH[name]
    return _weekday(today, weekday, week)


def _weekday_en(match: re.Match[str], today: date) -> date:
    return _weekday(today, _WEEKDAYS_EN.index(match.group(2)), match.group(1) or "")


def _weekend_en(match: re.Match[str], today: date) -> date:
    return _weekday(today, 5, "下") if match.group(1) else _this_weekend(today)


# Tried in this order; a span taken by an earlier form is not read again by a later one.
_FORMS: tuple[tuple[re.Pattern[str], Resolver], ...] = (
    (re.compile(r"(?<!\d)(20\d\d)[-./年](\d{1,2})[-./月](\d{1,2})(?!\d)"), _full_date),
    (
        re.compile(r"(?<!\d)(\d{1,2})月(?:份)?(\d{1,2})(?:[日号]|(?!\d))" + _NOT_A_DAY),
        lambda m, today: _month_day(today, _int(m, 1), _int(m, 2)),
    ),
    (re.compile(r"(?<![\d./:-])(\d{1,2})[./](\d{1,2})" + _NOT_A_MONTH_DAY), _dotted),
    (re.compile(r"下个?月(?:的)?(\d{1,2})(?:[号日]|(?!\d))" + _NOT_A_DAY), _next_month_part),
    (re.compile(r"下个?月(?:的)?(底|末|初)"), _next_month_part),
    (re.compile(r"(?<!\d)(\d{1,2})月(?:份)?(底|末|初)"), _month_part),
    (re.compile(r"(?:这个?|本)?月(底|末|初)"), _this_month_part),
    (re.compile(r"(?<![\d月.])(\d{1,2})[号日]" + _NOT_A_DAY), lambda m, today: _day_alone(today, _int(m, 1))),
    (re.compile(r"大后天"), _relative(3)),
    (re.compile(r"后天"), _relative(2)),
    (re.compile(r"明天|明日|明儿|明早|明晚"), _relative(1)),
    (re.compile(r"今天|今日|今晚|今儿|当天"), _relative(0)),
    (re.compile(r"(?<!\d)(\d{1,3})(天|个?(?:星期|礼拜|周))(?:后|以后|之后|以内|之内|内)"), _in_days),
    (re.compile(r"(下下个?|下个?|这个?|本)?(?:周|星期|礼拜)([一二三四五六日天末1-7])"), _weekday_zh),
    (re.compile(r"(?<![明后])(?:今|这个?|本)?年(?:底|末)"), lambda _m, today: date(today.year, 12, 31)),
    (
        re.compile(r"元旦(?:假期)?(?:后|以后|之后|过后|过完)|过完元旦|过了元旦"),
        lambda _m, today: _after_new_year(today),
    ),
    (
        re.compile(
            r"过完年|过了年|过年(?:后|以后|之后)|(?<![一两二三\d])年后|春节(?:假期)?(?:后|以后|之后|过后)|过完春节|开年后"
        ),
        lambda _m, today: _after_spring_festival(today),
    ),
    # English (from here on: only tried on text with Latin letters)
    (
        re.compile(rf"(?<![a-z])({_MONTH_EN})(?![a-z]) ?(?:the )?(\d{{1,2}})(?:st|nd|rd|th)?(?![\d:])"),
        lambda m, today: _month_day(today, _MONTHS_EN[m.group(1)], _int(m, 2)),
    ),
    (
        re.compile(rf"(?<!\d)(\d{{1,2}})(?:st|nd|rd|th)? (?:of )?({_MONTH_EN})(?![a-z])"),
        lambda m, today: _month_day(today, _MONTHS_EN[m.group(2)], _int(m, 1)),
    ),
    (re.compile(r"(?<![a-z])(?:the )?day after tomorrow(?![a-z])"), _relative(2)),
    (re.compile(r"(?<![a-z])(?:tomorrow|tmr|tmrw)(?![a-z])"), _relative(1)),
    (re.compile(r"(?<![a-z])(?:today|tonight)(?![a-z])"), _relative(0)),
    (re.compile(r"(?<![a-z])in (\d{1,3}) (days?|weeks?)(?![a-z])"), _in_days),
    (re.compile(rf"(?<![a-z])(?:(next|this) )?({_WEEKDAY_EN})(?![a-z])"), _weekday_en),
    (re.compile(r"(?<![a-z])(next )?weekend(?![a-z])"), _weekend_en),
    (
        re.compile(r"(?<![a-z])(?:(?:the )?(end|start|beginning) of next month|early next month)(?![a-z])"),
        _next_month_en,
    ),
    (
        re.compile(r"(?<![a-z])(?:end of (?:the |this )?month|month end)(?![a-z])"),
        lambda _m, today: _month_end(today.year, today.month),
    ),
    (
        re.compile(r"(?<![a-z])(?:end of (?:the |this )?year|year end)(?![a-z])"),
        lambda _m, today: date(today.year, 12, 31),
    ),
    (
        re.compile(r"(?<![a-z])after (?:the )?(?:chinese new year|cny|lunar new year|spring festival)(?![a-z])"),
        lambda _m, today: _after_spring_festival(today),
    ),
    (
        re.compile(r"(?<![a-z])after (?:the )?new year(?:s)?(?: day)?(?![a-z])"),
        lambda _m, today: _after_new_year(today),
    ),
    (
        re.compile(rf"(?<![a-z\d]){_ORDINAL}(?![a-z])(?! (?:floor|time|building|block))"),
        lambda m, today: _day_alone(today, _int(m, 1)),
    ),
)
_ENGLISH = next(i for i, (pattern, _) in enumerate(_FORMS) if "january" in pattern.pattern)
_LATIN = re.compile(r"[a-z]")

"""When an owner may be contacted at all: lawful hours, PRC holidays and 调休, frequency caps and holds."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from propfee.collection.policy import (
    Blocked,
    ContactPolicy,
    FrequencyCap,
    TimeRange,
    active_hold,
    day_blocked,
    frequency_blocked,
    keep_recent,
    time_blocked,
)
from propfee.domain.models import HoldKind
from tests.support.builders import PROPERTY, SHANGHAI, contacts, hold, local

NEW_YORK = ZoneInfo("America/New_York")
DEFAULT = ContactPolicy()
LUNCH = ContactPolicy(quiet_hours=TimeRange(start=time(12, 0), end=time(14, 0)))
WEEKENDS_OFF = ContactPolicy(contact_on_weekends=False)
HOLIDAYS_ON = ContactPolicy(contact_on_statutory_holidays=True)
ONLY_4_PER_30 = ContactPolicy(frequency_caps=(FrequencyCap(messages=4, days=30),))

WORKDAY = date(2026, 3, 10)  # an ordinary Tuesday
NATIONAL_DAY = date(2026, 10, 1)  # 国庆节, a Thursday
NATIONAL_DAY_SATURDAY = date(2026, 10, 3)
ORDINARY_SATURDAY = date(2026, 3, 7)
ORDINARY_SUNDAY = date(2026, 3, 8)
MAKE_UP_WORKDAYS_2026 = [date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9), date(2026, 9, 20)]
UNKNOWN_YEAR_DAY = date(2027, 3, 2)  # a Tuesday; move to the next year when chinesecalendar learns 2027


# ---------------------------------------------------------------- configuration


def test_the_defaults_are_the_documented_ones():
    assert DEFAULT.window == TimeRange(start=time(8, 0), end=time(21, 0))
    assert DEFAULT.quiet_hours is None
    assert (DEFAULT.contact_on_weekends, DEFAULT.contact_on_statutory_holidays) == (True, False)
    assert DEFAULT.frequency_caps == (FrequencyCap(messages=1, days=3), FrequencyCap(messages=4, days=30))
    assert DEFAULT.longest_cap_days == 30
    assert ContactPolicy(frequency_caps=()).longest_cap_days == 0


@pytest.mark.parametrize(("start", "end"), [(time(21, 0), time(8, 0)), (time(9, 0), time(9, 0))])
def test_a_time_range_must_start_before_it_ends(start, end):
    with pytest.raises(ValidationError, match="start before it ends"):
        TimeRange(start=start, end=end)


@pytest.mark.parametrize(("messages", "days"), [(0, 3), (1, 0), (-1, 30)])
def test_a_frequency_cap_needs_at_least_one_message_and_one_day(messages, days):
    with pytest.raises(ValidationError):
        FrequencyCap(messages=messages, days=days)


def test_an_unknown_policy_setting_is_refused():
    with pytest.raises(ValidationError, match="min_days_between_messages"):
        ContactPolicy.model_validate({"min_days_between_messages": 3})


# ---------------------------------------------------------------- lawful hours


@pytest.mark.parametrize(
    ("clock", "expected"),
    [
        ("00:00", Blocked.OUTSIDE_CONTACT_WINDOW),
        ("07:59:59", Blocked.OUTSIDE_CONTACT_WINDOW),
        ("08:00", None),  # the window opens at 08:00 sharp
        ("11:59:59", None),
        ("12:00", Blocked.QUIET_HOURS),  # 午休
        ("13:30", Blocked.QUIET_HOURS),
        ("13:59:59", Blocked.QUIET_HOURS),
        ("14:00", None),  # the quiet hours end is exclusive
        ("20:59:59", None),
        ("21:00", Blocked.OUTSIDE_CONTACT_WINDOW),  # and so is the window's
        ("23:30", Blocked.OUTSIDE_CONTACT_WINDOW),
    ],
)
def test_time_blocked_by_the_window_and_the_lunch_rest(clock, expected):
    now = local(f"2026-03-10 {clock}")

    assert time_blocked(now, SHANGHAI, LUNCH) is expected


def test_there_are_no_quiet_hours_unless_configured():
    assert time_blocked(local("2026-03-10 12:30"), SHANGHAI, DEFAULT) is None


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 3, 9, 23, 59, 59, tzinfo=UTC), Blocked.OUTSIDE_CONTACT_WINDOW),  # 07:59:59 in Shanghai
        (datetime(2026, 3, 10, 0, 0, tzinfo=UTC), None),  # 08:00
        (datetime(2026, 3, 10, 4, 30, tzinfo=UTC), Blocked.QUIET_HOURS),  # 12:30
        (datetime(2026, 3, 10, 6, 0, tzinfo=UTC), None),  # 14:00
        (datetime(2026, 3, 10, 13, 0, tzinfo=UTC), Blocked.OUTSIDE_CONTACT_WINDOW),  # 21:00
        (datetime(2026, 3, 10, 18, 0, tzinfo=UTC), Blocked.OUTSIDE_CONTACT_WINDOW),  # 02:00 the next night
    ],
)
def test_time_blocked_reads_the_owners_local_time_from_utc(now, expected):
    assert time_blocked(now, SHANGHAI, LUNCH) is expected


def test_time_blocked_converts_from_any_timezone():
    # 21:30 in New York (EDT) is 09:30 the next morning in Shanghai
    new_york_evening = datetime(2026, 3, 9, 21, 30, tzinfo=NEW_YORK)

    assert time_blocked(new_york_evening, SHANGHAI, LUNCH) is None
    assert time_blocked(new_york_evening, NEW_YORK, LUNCH) is Blocked.OUTSIDE_CONTACT_WINDOW


def test_time_blocked_checks_the_local_day_too():
    assert time_blocked(local("2026-10-01 10:00"), SHANGHAI, DEFAULT) is Blocked.STATUTORY_HOLIDAY
    assert time_blocked(local("2026-10-01 10:00"), SHANGHAI, HOLIDAYS_ON) is None
    # outside the window, the hour is what is reported
    assert time_blocked(local("2026-10-01 22:00"), SHANGHAI, DEFAULT) is Blocked.OUTSIDE_CONTACT_WINDOW


def test_time_blocked_takes_the_day_in_the_owners_zone():
    # 20:00 on 30 September in New York (EDT) is 08:00 on National Day in Shanghai
    moment = datetime(2026, 9, 30, 20, 0, tzinfo=NEW_YORK)

    assert time_blocked(moment, SHANGHAI, DEFAULT) is Blocked.STATUTORY_HOLIDAY
    assert time_blocked(moment, NEW_YORK, DEFAULT) is None


def test_a_company_window_narrows_the_hours():
    policy = ContactPolicy(window=TimeRange(start=time(9, 0), end=time(20, 0)))

    assert time_blocked(local("2026-03-10 08:30"), SHANGHAI, policy) is Blocked.OUTSIDE_CONTACT_WINDOW
    assert time_blocked(local("2026-03-10 20:00"), SHANGHAI, policy) is Blocked.OUTSIDE_CONTACT_WINDOW
    assert time_blocked(local("2026-03-10 19:59"), SHANGHAI, policy) is None


# ---------------------------------------------------------------- PRC holidays, weekends and 调休


def test_national_day_is_a_statutory_holiday():
    assert chinese_calendar.is_holiday(NATIONAL_DAY)

    assert day_blocked(NATIONAL_DAY, DEFAULT) is Blocked.STATUTORY_HOLIDAY
    assert day_blocked(NATIONAL_DAY, WEEKENDS_OFF) is Blocked.STATUTORY_HOLIDAY


def test_a_company_may_contact_on_statutory_holidays():
    assert day_blocked(NATIONAL_DAY, HOLIDAYS_ON) is None


def test_a_statutory_holiday_on_a_saturday_is_still_a_weekend_when_weekends_are_off():
    policy = ContactPolicy(contact_on_statutory_holidays=True, contact_on_weekends=False)

    assert day_blocked(NATIONAL_DAY_SATURDAY, policy) is Blocked.WEEKEND
    assert day_blocked(NATIONAL_DAY_SATURDAY, HOLIDAYS_ON) is None


@pytest.mark.parametrize("day", MAKE_UP_WORKDAYS_2026, ids=str)
def test_a_make_up_workday_is_never_blocked_as_a_weekend(day):
    assert day.weekday() >= 5 and chinese_calendar.is_workday(day)  # a Saturday or Sunday that is worked (调休)

    assert day_blocked(day, WEEKENDS_OFF) is None
    assert day_blocked(day, DEFAULT) is None


@pytest.mark.parametrize("day", [ORDINARY_SATURDAY, ORDINARY_SUNDAY], ids=str)
def test_an_ordinary_weekend_is_blocked_only_when_weekends_are_off(day):
    assert not chinese_calendar.is_workday(day) and day not in chinese_calendar.holidays

    assert day_blocked(day, DEFAULT) is None
    assert day_blocked(day, WEEKENDS_OFF) is Blocked.WEEKEND


@pytest.mark.parametrize("policy", [DEFAULT, WEEKENDS_OFF, HOLIDAYS_ON], ids=["default", "weekends off", "holidays on"])
def test_an_ordinary_workday_is_never_blocked(policy):
    assert day_blocked(WORKDAY, policy) is None


@pytest.mark.parametrize("day", [WORKDAY, date(2026, 2, 14)], ids=["workday", "make-up workday"])
def test_a_company_day_off_is_blocked(day):
    assert day_blocked(day, WEEKENDS_OFF) is None  # a working day, unless the company takes it off

    assert day_blocked(day, ContactPolicy(extra_holidays=(day,))) is Blocked.STATUTORY_HOLIDAY
    assert day_blocked(day, ContactPolicy(extra_holidays=(day + timedelta(days=7),))) is None


def test_a_year_the_calendar_does_not_know_is_blocked():
    with pytest.raises(NotImplementedError):  # the premise: update UNKNOWN_YEAR_DAY once the calendar knows it
        chinese_calendar.get_holiday_detail(UNKNOWN_YEAR_DAY)

    assert day_blocked(UNKNOWN_YEAR_DAY, DEFAULT) is Blocked.HOLIDAY_CALENDAR_UNKNOWN
    assert day_blocked(UNKNOWN_YEAR_DAY, WEEKENDS_OFF) is Blocked.HOLIDAY_CALENDAR_UNKNOWN
    # days off listed for another year say nothing about this one
    assert day_blocked(UNKNOWN_YEAR_DAY, ContactPolicy(extra_holidays=(date(2026, 12, 31),))) is (
        Blocked.HOLIDAY_CALENDAR_UNKNOWN
    )


def test_a_company_that_lists_the_unknown_years_holidays_is_trusted():
    listed = ContactPolicy(extra_holidays=(date(2027, 1, 1), date(2027, 2, 6)))
    listed_weekends_off = listed.model_copy(update={"contact_on_weekends": False})

    assert day_blocked(UNKNOWN_YEAR_DAY, listed) is None
    assert day_blocked(date(2027, 1, 1), listed) is Blocked.STATUTORY_HOLIDAY
    assert day_blocked(date(2027, 3, 6), listed) is None  # a Saturday
    assert day_blocked(date(2027, 3, 6), listed_weekends_off) is Blocked.WEEKEND
    assert day_blocked(UNKNOWN_YEAR_DAY, listed_weekends_off) is None


# ---------------------------------------------------------------- frequency caps


def _blocked(recent, today, policy=DEFAULT, tz=SHANGHAI):
    return frequency_blocked(contacts(*recent), today, tz, policy)


TUESDAY = date(2026, 3, 10)


@pytest.mark.parametrize(
    ("recent", "blocked"),
    [
        ((), False),
        (("2026-03-10 00:00",), True),  # today
        (("2026-03-10 23:59",), True),
        (("2026-03-09 09:00",), True),  # yesterday
        (("2026-03-08 23:59",), True),  # two local days ago: still inside 3 days
        (("2026-03-07 23:59",), False),  # three local days ago
        (("2026-02-01 09:00",), False),
    ],
)
def test_one_message_per_three_local_days(recent, blocked):
    assert _blocked(recent, TUESDAY) is blocked


@pytest.mark.parametrize(
    ("recent", "blocked"),
    [
        (("2026-03-07 09:00", "2026-03-01 09:00", "2026-02-20 09:00"), False),  # three in 30 days
        (("2026-03-07 09:00", "2026-03-01 09:00", "2026-02-20 09:00", "2026-02-09 00:00"), True),  # 29 days ago
        (("2026-03-07 09:00", "2026-03-01 09:00", "2026-02-20 09:00", "2026-02-08 23:59"), False),  # 30 days ago
        (("2026-03-07 09:00", "2026-03-04 09:00", "2026-03-01 09:00", "2026-02-26 09:00"), True),
    ],
)
def test_four_messages_per_thirty_local_days(recent, blocked):
    assert _blocked(recent, TUESDAY) is blocked  # no contact in the last three days: only the 30-day cap can block
    assert _blocked(recent, TUESDAY, ONLY_4_PER_30) is blocked


def test_the_30_day_cap_blocks_when_the_3_day_cap_would_not():
    recent = ("2026-03-06 09:00", "2026-02-28 09:00", "2026-02-20 09:00", "2026-02-12 09:00")

    assert not _blocked(recent, TUESDAY, ContactPolicy(frequency_caps=(FrequencyCap(messages=1, days=3),)))
    assert _blocked(recent, TUESDAY)


def test_a_late_evening_contact_counts_for_its_own_local_day():
    # 23:30 in Shanghai is 15:30 UTC the same day; stored in UTC, it must still count for its Shanghai day
    recent = ("2026-03-07 23:30",)

    assert _blocked(recent, date(2026, 3, 9))
    assert not _blocked(recent, date(2026, 3, 10))


def test_an_early_morning_contact_counts_for_the_local_day_not_the_utc_day():
    # 00:30 in Shanghai on 8 March is 16:30 UTC on 7 March
    recent = contacts("2026-03-08 00:30")
    assert recent[0].date() == date(2026, 3, 7)

    assert frequency_blocked(recent, TUESDAY, SHANGHAI, DEFAULT)  # two Shanghai days ago
    assert not frequency_blocked(recent, TUESDAY, ZoneInfo("UTC"), DEFAULT)  # three UTC days ago


def test_without_caps_nothing_is_blocked():
    recent = tuple(f"2026-03-{day:02d} 09:00" for day in range(1, 11))

    assert not _blocked(recent, TUESDAY, ContactPolicy(frequency_caps=()))


@PROPERTY
@given(
    recent=st.lists(
        st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 6, 30), timezones=st.just(UTC)),
        max_size=8,
    ),
    today=st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 6, 30)),
    clock=st.times(),
    later=st.integers(min_value=0, max_value=2),
)
def test_a_message_sent_today_blocks_the_next_two_days(recent, today, clock, later):
    recent = tuple(recent)
    if frequency_blocked(recent, today, SHANGHAI, DEFAULT):
        return
    sent = datetime.combine(today, clock, tzinfo=SHANGHAI).astimezone(UTC)

    assert frequency_blocked((*recent, sent), today + timedelta(days=later), SHANGHAI, DEFAULT)


@PROPERTY
@given(
    recent=st.lists(
        st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 6, 30), timezones=st.just(UTC)),
        max_size=8,
    ),
    more=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 6, 30), timezones=st.just(UTC)),
    today=st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 6, 30)),
)
def test_one_more_contact_never_lifts_a_cap(recent, more, today):
    if frequency_blocked(tuple(recent), today, SHANGHAI, DEFAULT):
        assert frequency_blocked((*recent, more), today, SHANGHAI, DEFAULT)


# ---------------------------------------------------------------- keeping the contacts the caps can see


def test_keep_recent_drops_what_no_cap_can_see_and_sorts_the_rest():
    now = local("2026-03-10 09:00")
    recent = contacts("2026-03-09 10:00", "2026-02-07 09:00", "2026-02-01 09:00", "2026-03-01 10:00")

    kept = keep_recent(recent, now, DEFAULT)  # the longest cap is 30 days; one more day is kept for safety

    assert kept == contacts("2026-02-07 09:00", "2026-03-01 10:00", "2026-03-09 10:00")
    assert keep_recent(kept, now, DEFAULT) == kept


def test_keep_recent_follows_the_longest_cap():
    now = local("2026-03-10 09:00")
    recent = contacts("2026-03-01 09:00", "2026-03-08 09:00")

    assert keep_recent(recent, now, ContactPolicy(frequency_caps=(FrequencyCap(messages=1, days=3),))) == contacts(
        "2026-03-08 09:00"
    )
    assert keep_recent(recent, now, ContactPolicy(frequency_caps=())) == ()


@PROPERTY
@given(
    recent=st.lists(
        st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 6, 30), timezones=st.just(UTC)),
        max_size=8,
    ),
    now=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 6, 30), timezones=st.just(UTC)),
    later=st.integers(min_value=0, max_value=40),
    policy=st.sampled_from([DEFAULT, ONLY_4_PER_30, ContactPolicy(frequency_caps=(FrequencyCap(messages=2, days=7),))]),
    tz=st.sampled_from([SHANGHAI, NEW_YORK, ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Etc/GMT+11")]),
)
def test_keep_recent_never_changes_what_the_caps_decide(recent, now, later, policy, tz):
    # contacts are only ever in the past of the moment they are trimmed
    past = tuple(c for c in recent if c <= now)
    today = now.astimezone(tz).date() + timedelta(days=later)

    kept = keep_recent(past, now, policy)

    assert set(kept) <= set(past)
    assert list(kept) == sorted(kept)
    assert frequency_blocked(kept, today, tz, policy) == frequency_blocked(past, today, tz, policy)


# ---------------------------------------------------------------- holds

TODAY = date(2026, 3, 10)


def test_an_open_ended_hold_is_in_force():
    dispute = hold(HoldKind.DISPUTE, until=None)

    assert active_hold((dispute,), TODAY) == dispute
    assert active_hold((dispute,), date(2030, 1, 1)) == dispute


def test_a_hold_is_in_force_through_its_last_day():
    promise = hold(HoldKind.PROMISE_TO_PAY, until=TODAY, reason="业主承诺3月10日前缴清")

    assert active_hold((promise,), TODAY - timedelta(days=5)) == promise
    assert active_hold((promise,), TODAY) == promise
    assert active_hold((promise,), TODAY + timedelta(days=1)) is None


def test_an_expired_hold_is_not_in_force():
    assert active_hold((hold(HoldKind.PAID_CLAIM, until=TODAY - timedelta(days=1)),), TODAY) is None
    assert active_hold((), TODAY) is None


def test_the_first_hold_in_force_is_returned():
    expired = hold(HoldKind.PROMISE_TO_PAY, until=TODAY - timedelta(days=2))
    complaint = hold(HoldKind.COMPLAINT, until=TODAY + timedelta(days=7), reason="漏水投诉")
    manual = hold(HoldKind.MANUAL, reason="经理批准暂缓")

    assert active_hold((expired, complaint, manual), TODAY) == complaint
    assert active_hold((expired, manual, complaint), TODAY) == manual


def test_an_unknown_year_does_not_matter_to_a_company_that_contacts_on_every_day():
    every_day = ContactPolicy(contact_on_statutory_holidays=True, contact_on_weekends=True)
    assert day_blocked(UNKNOWN_YEAR_DAY, every_day) is None

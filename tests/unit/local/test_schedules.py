"""EventBridge Scheduler expressions in the sandbox: when each schedule fires and what event it sends."""

import itertools
import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from propfee.domain.models import ScheduledEvent
from propfee.local.sandbox.schedules import Schedule

SHANGHAI = ZoneInfo("Asia/Shanghai")
TUESDAY_MORNING = datetime(2025, 3, 4, 0, 0, tzinfo=UTC)  # 08:00 Tuesday in Shanghai


def schedule(expression: str, timezone: str = "Asia/Shanghai", input_: str | None = None) -> Schedule:
    return Schedule(
        name="propfee-PlanSchedule",
        expression=expression,
        timezone=timezone,
        target_logical_id="PlanFunction",
        input=input_,
    )


def firings(s: Schedule, start: datetime, count: int) -> list[datetime]:
    found, moment = [], start
    for _ in range(count):
        moment = s.next_after(moment)
        found.append(moment)
    return found


# ---------------------------------------------------------------- cron


def test_daily_plan_at_half_past_nine_shanghai_fires_at_01_30_utc():
    fires = schedule("cron(30 9 * * ? *)").next_after(TUESDAY_MORNING)

    assert fires == datetime(2025, 3, 4, 1, 30, tzinfo=UTC)
    assert fires.utcoffset() == timedelta(0)


def test_the_firing_after_a_firing_is_the_next_day():
    s = schedule("cron(30 9 * * ? *)")
    first = s.next_after(TUESDAY_MORNING)

    assert s.next_after(first) == datetime(2025, 3, 5, 1, 30, tzinfo=UTC)
    assert s.next_after(first - timedelta(seconds=1)) == first


def test_a_time_already_passed_today_fires_tomorrow():
    fires = schedule("cron(30 9 * * ? *)").next_after(datetime(2025, 3, 4, 5, 0, tzinfo=UTC))  # 13:00 local

    assert fires == datetime(2025, 3, 5, 1, 30, tzinfo=UTC)


def test_daily_report_late_evening_local_is_the_same_utc_day():
    fires = schedule("cron(30 21 * * ? *)").next_after(TUESDAY_MORNING)

    assert fires == datetime(2025, 3, 4, 13, 30, tzinfo=UTC)


def test_the_schedule_timezone_matters():
    assert schedule("cron(30 9 * * ? *)", timezone="UTC").next_after(TUESDAY_MORNING) == datetime(
        2025, 3, 4, 9, 30, tzinfo=UTC
    )


def test_cron_follows_daylight_saving_time_in_the_schedule_timezone():
    s = schedule("cron(0 9 * * ? *)", timezone="America/New_York")
    # 2025-03-09 is the first day of EDT: 09:00 is 14:00 UTC the day before and 13:00 UTC from then on
    before, after = firings(s, datetime(2025, 3, 8, 0, 0, tzinfo=UTC), 2)

    assert before == datetime(2025, 3, 8, 14, 0, tzinfo=UTC)
    assert after == datetime(2025, 3, 9, 13, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("aws_weekday", "weekday_name"),
    [("1", "Sunday"), ("2", "Monday"), ("4", "Wednesday"), ("7", "Saturday"), ("MON", "Monday")],
)
def test_aws_weekdays_count_from_sunday_as_1(aws_weekday, weekday_name):
    local = [f.astimezone(SHANGHAI) for f in firings(schedule(f"cron(0 10 ? * {aws_weekday} *)"), TUESDAY_MORNING, 4)]

    assert {f.strftime("%A") for f in local} == {weekday_name}
    assert {(f.hour, f.minute) for f in local} == {(10, 0)}
    assert [(b - a).days for a, b in itertools.pairwise(local)] == [7, 7, 7]


def test_monday_schedule_fires_next_monday_morning():
    fires = schedule("cron(0 10 ? * 2 *)").next_after(TUESDAY_MORNING)

    assert fires == datetime(2025, 3, 10, 2, 0, tzinfo=UTC)


def test_aws_weekday_range_two_to_six_is_monday_to_friday():
    local = [f.astimezone(SHANGHAI) for f in firings(schedule("cron(0 10 ? * 2-6 *)"), TUESDAY_MORNING, 10)]

    assert [f.date() for f in local] == [
        date(2025, 3, 4),
        date(2025, 3, 5),
        date(2025, 3, 6),
        date(2025, 3, 7),
        date(2025, 3, 10),
        date(2025, 3, 11),
        date(2025, 3, 12),
        date(2025, 3, 13),
        date(2025, 3, 14),
        date(2025, 3, 17),
    ]


@pytest.mark.parametrize(
    ("weekday", "expected"),
    [
        ("2#1", datetime(2025, 4, 7, 2, 0, tzinfo=UTC)),  # first Monday: March's was the 3rd, so 7 April
        ("2#3", datetime(2025, 3, 17, 2, 0, tzinfo=UTC)),  # third Monday of March
        ("6#1", datetime(2025, 3, 7, 2, 0, tzinfo=UTC)),  # first Friday of March
    ],
)
def test_aws_nth_weekday_of_the_month(weekday, expected):
    # in AWS "d#n" only d is a weekday number (1 = Sunday); n is which one in the month
    assert schedule(f"cron(0 10 ? * {weekday} *)").next_after(TUESDAY_MORNING) == expected


def test_last_day_of_the_month():
    fires = schedule("cron(0 10 L * ? *)").next_after(TUESDAY_MORNING)

    assert fires == datetime(2025, 3, 31, 2, 0, tzinfo=UTC)


def test_a_cron_expression_needs_six_fields():
    with pytest.raises(ValueError, match="6 fields"):
        schedule("cron(30 9 * * ?)").next_after(TUESDAY_MORNING)


def test_an_unknown_expression_kind_is_refused():
    with pytest.raises(ValueError, match="unsupported"):
        schedule("every(1 day)").next_after(TUESDAY_MORNING)


# ---------------------------------------------------------------- rate and at


@pytest.mark.parametrize(
    ("expression", "moment", "expected"),
    [
        ("rate(1 hour)", datetime(2025, 3, 4, 10, 15, tzinfo=UTC), datetime(2025, 3, 4, 11, 0, tzinfo=UTC)),
        ("rate(1 hour)", datetime(2025, 3, 4, 11, 0, tzinfo=UTC), datetime(2025, 3, 4, 12, 0, tzinfo=UTC)),
        ("rate(2 hours)", datetime(2025, 3, 4, 11, 0, tzinfo=UTC), datetime(2025, 3, 4, 12, 0, tzinfo=UTC)),
        ("rate(5 minutes)", datetime(2025, 3, 4, 10, 7, 30, tzinfo=UTC), datetime(2025, 3, 4, 10, 10, tzinfo=UTC)),
        ("rate(1 minute)", datetime(2025, 3, 4, 10, 7, tzinfo=UTC), datetime(2025, 3, 4, 10, 8, tzinfo=UTC)),
        ("rate(1 day)", datetime(2025, 3, 4, 10, 7, tzinfo=UTC), datetime(2025, 3, 5, 0, 0, tzinfo=UTC)),
    ],
)
def test_rate_fires_strictly_after_the_moment(expression, moment, expected):
    assert schedule(expression).next_after(moment) == expected


def test_rate_is_the_same_instant_whatever_zone_the_moment_is_given_in():
    s = schedule("rate(1 hour)")
    moment = datetime(2025, 3, 4, 10, 15, tzinfo=UTC)

    assert s.next_after(moment.astimezone(SHANGHAI)) == s.next_after(moment)


def test_rate_one_hour_fires_every_hour():
    fires = firings(schedule("rate(1 hour)"), datetime(2025, 3, 4, 10, 15, tzinfo=UTC), 5)

    assert [(b - a) for a, b in itertools.pairwise(fires)] == [timedelta(hours=1)] * 4


def test_at_fires_once_at_the_local_time():
    s = schedule("at(2025-03-05T09:00:00)")

    assert s.next_after(TUESDAY_MORNING) == datetime(2025, 3, 5, 1, 0, tzinfo=UTC)
    assert s.next_after(datetime(2025, 3, 5, 1, 0, tzinfo=UTC)) is None


# ---------------------------------------------------------------- the event sent


def test_event_for_fills_in_the_scheduled_time_in_utc():
    s = schedule("cron(30 9 * * ? *)", input_='{"scheduled_time": "<aws.scheduler.scheduled-time>"}')
    fire = datetime(2025, 3, 4, 9, 30, tzinfo=SHANGHAI)

    event = s.event_for(fire)

    assert event == {"scheduled_time": "2025-03-04T01:30:00Z"}
    assert ScheduledEvent.model_validate(event).local_day(SHANGHAI, datetime(2000, 1, 1, tzinfo=UTC)) == date(
        2025, 3, 4
    )


def test_event_for_a_late_evening_utc_firing_is_the_next_local_day():
    s = schedule("cron(30 9 * * ? *)", input_='{"scheduled_time": "<aws.scheduler.scheduled-time>"}')

    event = s.event_for(datetime(2025, 3, 4, 16, 30, tzinfo=UTC))

    assert event == {"scheduled_time": "2025-03-04T16:30:00Z"}
    assert ScheduledEvent.model_validate(event).local_day(SHANGHAI, datetime(2000, 1, 1, tzinfo=UTC)) == date(
        2025, 3, 5
    )


def test_event_for_substitutes_every_placeholder_and_keeps_other_fields():
    payload = {
        "a": "<aws.scheduler.scheduled-time>",
        "b": "<aws.scheduler.scheduled-time>",
        "communities": ["C01"],
        "arn": "<aws.scheduler.schedule-arn>",
    }
    s = schedule("rate(1 hour)", input_=json.dumps(payload))

    event = s.event_for(datetime(2025, 3, 4, 11, 0, tzinfo=UTC))

    assert event == {
        "a": "2025-03-04T11:00:00Z",
        "b": "2025-03-04T11:00:00Z",
        "communities": ["C01"],
        "arn": "propfee-PlanSchedule",
    }


def test_event_for_without_input_is_empty():
    assert schedule("rate(1 hour)").event_for(TUESDAY_MORNING) == {}


def test_event_for_wraps_a_non_object_input():
    assert schedule("rate(1 hour)", input_='"hello"').event_for(TUESDAY_MORNING) == {"input": "hello"}

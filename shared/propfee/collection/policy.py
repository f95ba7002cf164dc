"""When an owner may be contacted at all: lawful hours, statutory holidays, frequency caps and holds.

Pure functions of the configuration, the unit and the time; the planner and the sender both ask them,
the sender again at the moment of sending (a hold or payment that arrived after planning wins).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from propfee.domain.models import Hold


class Blocked(StrEnum):
    OUTSIDE_CONTACT_WINDOW = "outside_contact_window"
    QUIET_HOURS = "quiet_hours"
    STATUTORY_HOLIDAY = "statutory_holiday"
    WEEKEND = "weekend"
    HOLIDAY_CALENDAR_UNKNOWN = "holiday_calendar_unknown"
    FREQUENCY_CAP = "frequency_cap"
    ON_HOLD = "on_hold"


class TimeRange(BaseModel):
    """Local clock times. In YAML write them quoted ("09:00"): unquoted 9:00 is the number 540."""

    model_config = ConfigDict(frozen=True)

    start: time
    end: time

    @field_validator("start", "end", mode="before")
    @classmethod
    def _a_clock_time(cls, value: object) -> object:
        if isinstance(value, int | float):
            raise ValueError(f'{value!r} is not a clock time: write it quoted, e.g. "09:00"')
        return value

    @field_validator("start", "end")
    @classmethod
    def _local(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("contact times are the owner's local clock: give no timezone")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> TimeRange:
        if not self.start < self.end:
            raise ValueError(f"a time range must start before it ends ({self.start} - {self.end})")
        return self

    def __contains__(self, moment: time) -> bool:
        return self.start <= moment < self.end


class FrequencyCap(BaseModel):
    """At most `messages` automated messages in any `days` consecutive local days, across channels."""

    model_config = ConfigDict(frozen=True)

    messages: int = Field(ge=1)
    days: int = Field(ge=1)


class ContactPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    window: TimeRange = TimeRange(start=time(8, 0), end=time(21, 0))
    quiet_hours: TimeRange | None = None  # e.g. 12:00-14:00, the lunch rest many companies respect
    contact_on_weekends: bool = True
    contact_on_statutory_holidays: bool = False
    extra_holidays: tuple[date, ...] = ()  # company days off, and holidays of years the calendar lacks
    frequency_caps: tuple[FrequencyCap, ...] = (FrequencyCap(messages=1, days=3), FrequencyCap(messages=4, days=30))

    _hash: int | None = PrivateAttr(default=None)

    def __hash__(self) -> int:
        # the day checks are cached per (day, policy) for every unit of a plan: hash the fields once
        # (read through the private slot: pydantic's attribute lookup for private names is slow)
        private = self.__pydantic_private__
        if private is None or private.get("_hash") is None:
            fields = (self.window, self.quiet_hours, self.contact_on_weekends, self.contact_on_statutory_holidays,
                      self.extra_holidays, self.frequency_caps)  # fmt: skip
            self._hash = hash(fields)
            return self._hash
        return int(private["_hash"])

    def __eq__(self, other: object) -> bool:
        # the fields only: the cached hash is not part of what a policy says
        return isinstance(other, ContactPolicy) and self.__dict__ == other.__dict__

    @property
    def longest_cap_days(self) -> int:
        return max((cap.days for cap in self.frequency_caps), default=0)


@lru_cache(maxsize=4096)  # the same few days and policies for every unit of a plan
def day_blocked(day: date, policy: ContactPolicy) -> Blocked | None:
    """Whether automated contact is off for the whole local day (PRC holidays and make-up workdays)."""
    if day in policy.extra_holidays:
        return Blocked.STATUTORY_HOLIDAY
    try:
        is_off, holiday_name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        # the installed calendar does not know this year yet: trust a company that listed its days off,
        # or one that contacts owners on holidays and weekends alike (then the calendar does not matter)
        calendar_irrelevant = policy.contact_on_statutory_holidays and policy.contact_on_weekends
        if not calendar_irrelevant and not any(extra.year == day.year for extra in policy.extra_holidays):
            return Blocked.HOLIDAY_CALENDAR_UNKNOWN
        is_off, holiday_name = day.weekday() >= 5, None
    if is_off and holiday_name is not None and not policy.contact_on_statutory_holidays:
        return Blocked.STATUTORY_HOLIDAY
    if is_off and day.weekday() >= 5 and not policy.contact_on_weekends:
        return Blocked.WEEKEND  # a make-up workday (调休) is not off, so it is not a weekend here
    return None


def time_blocked(now: datetime, tz: ZoneInfo, policy: ContactPolicy) -> Blocked | None:
    """Whether this moment, in the owner's local time, is outside the lawful contact hours."""
    local = now.astimezone(tz)
    if local.time() not in policy.window:
        return Blocked.OUTSIDE_CONTACT_WINDOW
    if policy.quiet_hours is not None and local.time() in policy.quiet_hours:
        return Blocked.QUIET_HOURS
    return day_blocked(local.date(), policy)


def frequency_blocked(recent_contacts: tuple[datetime, ...], today: date, tz: ZoneInfo, policy: ContactPolicy) -> bool:
    """Whether one more message today would exceed a cap (counted by local day, today included)."""
    days = [contact.astimezone(tz).date() for contact in recent_contacts]
    for cap in policy.frequency_caps:
        first_day = today - timedelta(days=cap.days - 1)
        if sum(1 for day in days if first_day <= day <= today) >= cap.messages:
            return True
    return False


def keep_recent(recent_contacts: tuple[datetime, ...], now: datetime, policy: ContactPolicy) -> tuple[datetime, ...]:
    """The contacts the caps can still see (older ones are dropped when the unit is written)."""
    horizon = now - timedelta(days=policy.longest_cap_days + 1)
    return tuple(sorted(c for c in recent_contacts if c >= horizon))


def active_hold(holds: tuple[Hold, ...], today: date) -> Hold | None:
    """The first hold still in force: open-ended, or lasting until today or later."""
    return next((h for h in holds if h.until is None or h.until >= today), None)

"""What the daily report keeps of a community's day: one small snapshot per community and day, from which the
trend, reminder effectiveness and phased targets come (propfee.reports.history)."""

from __future__ import annotations

from datetime import date

from pydantic import Field, NonNegativeInt

from propfee.domain.models import Period, Record
from propfee.domain.money import rate


class StepEffect(Record):
    reminded: NonNegativeInt = 0  # units the step reached that day
    paid: NonNegativeInt = 0  # of them, units with a payment within 7 days after it


class CollectorDay(Record):
    done: dict[str, NonNegativeInt] = Field(default_factory=dict)  # task outcome -> tasks closed that day
    promised_fen: NonNegativeInt = 0  # the balances of the tasks closed with a promise


class DaySnapshot(Record):
    community_id: str
    day: date
    payments: NonNegativeInt = 0
    collected_fen: int = 0  # net of refunds
    period: Period
    billed_fen: NonNegativeInt = 0  # the current period, as the maintained totals stood that night
    paid_fen: int = 0
    back_billed_fen: NonNegativeInt = 0
    back_paid_fen: int = 0
    paid_by_period: dict[str, int] = Field(default_factory=dict)
    cohort_day: date  # whose reminders `effectiveness` follows (EFFECT_DAYS before `day`)
    effectiveness: dict[str, StepEffect] = Field(default_factory=dict)
    collectors: dict[str, CollectorDay] = Field(default_factory=dict)

    @property
    def collection_rate(self) -> float | None:
        return rate(self.paid_fen, self.billed_fen)

    @property
    def back_arrears_rate(self) -> float | None:
        return rate(self.back_paid_fen, self.back_billed_fen)

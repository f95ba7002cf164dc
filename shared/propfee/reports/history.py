"""What the daily report keeps from one day to the next, and what it makes of it.

Each run stores a small snapshot per community and day (by key: `REPORT#<community>`, `DAY#<date>`). From the
snapshots come the 30-day trend, reminder effectiveness over the last 30 closed cohorts, and progress against
phased targets (阶段性催缴指标), without reading the ledger again: a report costs the same on day 300 as on day 1.

Reminder effectiveness: of the units a ladder step reached on a day, the share that paid within 7 days. The
cohort of day D is complete when the report of D+7 runs, so each snapshot holds the cohort of 7 days before.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from itertools import pairwise

from pydantic import Field, NonNegativeInt, model_validator

from propfee.domain.activity import DayActivity
from propfee.domain.day_snapshot import CollectorDay, DaySnapshot, SourceTally, StepEffect
from propfee.domain.models import (
    Payment,
    PaymentSource,
    PeriodTotal,
    Record,
    Reminder,
    ReminderStatus,
    Task,
    TaskOutcome,
)
from propfee.domain.money import rate

TREND_DAYS = 30
EFFECT_DAYS = 7  # "paid within 7 days of the step"
# a step reached the owner: a message the provider took, or a call/visit handed to a collector
_REACHED = frozenset({ReminderStatus.SENT, ReminderStatus.DELIVERED, ReminderStatus.ASSIGNED})
TASK_OUTCOMES = tuple(o.value for o in TaskOutcome)


# ------------------------------------------------------------------------------------------- targets
class CollectorTarget(Record):
    tasks_done: NonNegativeInt | None = None  # calls and visits closed during the phase
    promises: NonNegativeInt | None = None  # of them, closed with a promise to pay


class Phase(Record):
    """One phase of a community's targets: by its end, the current period's collection rate, and how much
    of the back arrears (bills of months before the phase began) to collect during it."""

    name: str = Field(min_length=1)
    start: date
    end: date
    collection_rate: float | None = Field(default=None, ge=0, le=1)
    back_arrears_fen: NonNegativeInt | None = None
    collectors: dict[str, CollectorTarget] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _ordered(self) -> Phase:
        if self.end < self.start:
            raise ValueError(f"phase {self.name!r} ends before it starts")
        return self

    @property
    def first_back_period(self) -> str:
        """Bills of months before this one are the phase's back arrears."""
        return f"{self.start.year:04d}-{self.start.month:02d}"


class Targets(Record):
    """Phases per community id; phases of one community must not overlap."""

    communities: dict[str, tuple[Phase, ...]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _no_overlap(self) -> Targets:
        for community_id, phases in self.communities.items():
            ordered = sorted(phases, key=lambda p: p.start)
            for before, after in pairwise(ordered):
                if after.start <= before.end:
                    raise ValueError(f"{community_id}: phases {before.name!r} and {after.name!r} overlap")
        return self

    def phase(self, community_id: str, day: date) -> Phase | None:
        return next((p for p in self.communities.get(community_id, ()) if p.start <= day <= p.end), None)


# ------------------------------------------------------------------------------------------- snapshot
# StepEffect, CollectorDay and DaySnapshot are records (propfee.domain.day_snapshot): the ports store them
def step_effectiveness(cohort: Iterable[Reminder], payments: Iterable[Payment]) -> dict[str, StepEffect]:
    """Per step, the units it reached and those of them that paid (not a refund) after the step's first
    contact that day and within EFFECT_DAYS of it. A unit reached by two steps counts for both."""
    first_contact: dict[tuple[str, str], datetime] = {}
    for r in cohort:
        if r.status in _REACHED:
            moment = r.sent_at or r.claimed_at
            key = (r.step, r.unit_id)
            first_contact[key] = min(moment, first_contact.get(key, moment))
    paid_at: dict[str, list[datetime]] = {}
    for p in payments:
        if p.amount_fen > 0:
            paid_at.setdefault(p.unit_id, []).append(p.paid_at)
    effect: dict[str, dict[str, int]] = {}
    for (step, unit_id), contact in first_contact.items():
        counts = effect.setdefault(step, {"reminded": 0, "paid": 0})
        counts["reminded"] += 1
        window_end = contact + timedelta(days=EFFECT_DAYS)
        counts["paid"] += any(contact < at <= window_end for at in paid_at.get(unit_id, ()))
    return {step: StepEffect(**counts) for step, counts in sorted(effect.items())}


def source_key(payment: Payment) -> str:
    """How a payment came, as the snapshot counts it: "import", or "provider:<provider>" (a notification or a
    query) and "reconciliation:<provider>" (the trade bill) for an online one (its method names the provider)."""
    if payment.source is PaymentSource.IMPORT:
        return PaymentSource.IMPORT.value
    return f"{payment.source.value}:{payment.method}"


def payment_sources(payments: Iterable[Payment]) -> dict[str, SourceTally]:
    """The payments (not refunds: the collections table lists them) by how they came: count and fen."""
    counts: Counter[str] = Counter()
    amounts: Counter[str] = Counter()
    for p in payments:
        if p.amount_fen > 0:
            counts[source_key(p)] += 1
            amounts[source_key(p)] += p.amount_fen
    return {key: SourceTally(count=counts[key], amount_fen=amounts[key]) for key in sorted(counts)}


def collector_days(tasks_done: Iterable[Task]) -> dict[str, CollectorDay]:
    outcomes: dict[str, Counter[str]] = {}
    promised: Counter[str] = Counter()
    for task in tasks_done:
        if task.outcome is None:
            continue
        outcomes.setdefault(task.collector_id, Counter())[task.outcome.value] += 1
        if task.outcome is TaskOutcome.PROMISED:
            promised[task.collector_id] += task.balance_fen
    return {
        cid: CollectorDay(done=dict(sorted(counts.items())), promised_fen=promised[cid])
        for cid, counts in sorted(outcomes.items())
    }


def day_snapshot(
    community_id: str,
    day: date,
    activity: DayActivity,
    periods: Iterable[PeriodTotal],
    cohort: Iterable[Reminder],
    window_payments: Iterable[Payment],
) -> DaySnapshot:
    """`cohort`: the reminders of EFFECT_DAYS before `day`; `window_payments`: the payments from that day to
    `day`, both ends included."""
    period = f"{day.year:04d}-{day.month:02d}"
    periods = list(periods)
    current = [p for p in periods if p.period == period]
    back = [p for p in periods if p.period < period]
    return DaySnapshot(
        community_id=community_id,
        day=day,
        payments=len(activity.payments),
        collected_fen=sum(p.amount_fen for p in activity.payments),
        period=period,
        billed_fen=sum(p.billed_fen for p in current),
        paid_fen=sum(p.paid_fen for p in current),
        back_billed_fen=sum(p.billed_fen for p in back),
        back_paid_fen=sum(p.paid_fen for p in back),
        paid_by_period={p.period: p.paid_fen for p in sorted(periods, key=lambda p: p.period)},
        cohort_day=day - timedelta(days=EFFECT_DAYS),
        effectiveness=step_effectiveness(cohort, window_payments),
        collectors=collector_days(activity.tasks_done),
        payment_sources=payment_sources(activity.payments),
    )


# ------------------------------------------------------------------------------------------- figures
def trend(snapshots: Sequence[DaySnapshot], day: date) -> list[dict[str, object]]:
    """One row per day of the TREND_DAYS ending on `day` that has a snapshot (a day without one, before the
    first report or when a run was missed, is left out rather than shown as zero)."""
    first = day - timedelta(days=TREND_DAYS - 1)
    return [
        {
            "date": s.day.isoformat(),
            "payments": s.payments,
            "collected_fen": s.collected_fen,
            "period": s.period,
            "billed_fen": s.billed_fen,
            "paid_fen": s.paid_fen,
            "back_billed_fen": s.back_billed_fen,
            "back_paid_fen": s.back_paid_fen,
            "collection_rate": s.collection_rate,
            "back_arrears_rate": s.back_arrears_rate,
        }
        for s in sorted(snapshots, key=lambda s: s.day)
        if first <= s.day <= day
    ]


def effectiveness(snapshots: Sequence[DaySnapshot], day: date) -> list[dict[str, object]]:
    """Per step: the cohort whose 7 days ended on `day`, and the sum of the cohorts closed in TREND_DAYS."""
    first = day - timedelta(days=TREND_DAYS - 1)
    today = next((s for s in snapshots if s.day == day), None)
    totals: dict[str, list[int]] = {}
    for s in snapshots:
        if first <= s.day <= day:
            for step, e in s.effectiveness.items():
                t = totals.setdefault(step, [0, 0])
                t[0] += e.reminded
                t[1] += e.paid
    rows: list[dict[str, object]] = []
    for step in sorted(totals):
        latest = today.effectiveness.get(step, StepEffect()) if today else StepEffect()
        reminded, paid = totals[step]
        rows.append(
            {
                "step": step,
                "cohort_day": today.cohort_day.isoformat() if today else None,
                "cohort_reminded": latest.reminded,
                "cohort_paid": latest.paid,
                "cohort_rate": rate(latest.paid, latest.reminded),
                "reminded_30d": reminded,
                "paid_30d": paid,
                "rate_30d": rate(paid, reminded),
            }
        )
    return rows


def collectors_today(snapshots: Iterable[DaySnapshot], day: date) -> dict[str, CollectorDay]:
    """The collectors' day across the given communities' snapshots of `day`."""
    done: dict[str, Counter[str]] = {}
    promised: Counter[str] = Counter()
    for s in snapshots:
        if s.day != day:
            continue
        for cid, c in s.collectors.items():
            done.setdefault(cid, Counter()).update(c.done)
            promised[cid] += c.promised_fen
    return {
        cid: CollectorDay(done=dict(sorted(d.items())), promised_fen=promised[cid]) for cid, d in sorted(done.items())
    }


def _back_paid(snapshot: DaySnapshot, first_back_period: str) -> int:
    return sum(fen for period, fen in snapshot.paid_by_period.items() if period < first_back_period)


def phase_progress(phase: Phase | None, snapshots: Sequence[DaySnapshot], day: date) -> dict[str, object] | None:
    """Where a community stands in its phase on `day`: the current rate against its target, the back arrears
    collected since the phase began (what was paid towards them, net of refunds, since the last snapshot
    before it, or the first one within it when there is none: `since` says which), and each collector's
    closed tasks and promises since the phase began."""
    if phase is None:
        return None
    ordered = sorted((s for s in snapshots if s.day <= day), key=lambda s: s.day)
    today = next((s for s in ordered if s.day == day), None)
    if today is None:
        return None
    before = [s for s in ordered if s.day < phase.start]
    baseline = before[-1] if before else next(s for s in ordered if s.day >= phase.start)
    in_phase = [s for s in ordered if phase.start <= s.day <= day]
    done: dict[str, int] = Counter()
    promises: dict[str, int] = Counter()
    for s in in_phase:
        for cid, c in s.collectors.items():
            done[cid] += sum(c.done.values())
            promises[cid] += c.done.get(TaskOutcome.PROMISED.value, 0)
    back_collected = _back_paid(today, phase.first_back_period) - _back_paid(baseline, phase.first_back_period)
    return {
        "phase": phase.name,
        "start": phase.start.isoformat(),
        "end": phase.end.isoformat(),
        "days_left": (phase.end - day).days,
        "since": baseline.day.isoformat(),
        "collection_rate": {"target": phase.collection_rate, "actual": today.collection_rate},
        "back_arrears_collected_fen": {"target": phase.back_arrears_fen, "actual": back_collected},
        "collectors": {
            cid: {
                "tasks_done": {"target": target.tasks_done, "actual": done.get(cid, 0)},
                "promises": {"target": target.promises, "actual": promises.get(cid, 0)},
            }
            for cid, target in sorted(phase.collectors.items())
        },
    }


def history_window(day: date, phases: Mapping[str, Phase | None]) -> date:
    """The first day whose snapshot a report of `day` reads in a range: the trend's, the month's first (its
    online payments to date), or the first of a phase (its baseline, the last snapshot before it, is read on its
    own)."""
    first = min(day - timedelta(days=TREND_DAYS - 1), day.replace(day=1))
    for phase in phases.values():
        if phase is not None:
            first = min(first, phase.start)
    return first

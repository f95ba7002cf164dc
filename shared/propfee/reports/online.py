"""The report's online payments, from plain records: paid online (by provider) versus imported from the billing
system's export, for the day and the month to date; the hours from a reminder to the payment after it, by step
and channel; the share of reminders whose bill link was opened; and the orders started but left unpaid.

All of it from what the report reads anyway: the activity index of the day and of the week before (payments,
reminders, link openings, orders) and its own snapshots of the month's earlier days (payments by source)."""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from propfee.domain.activity import DayActivity, LinkOpened, StartedOrder
from propfee.domain.day_snapshot import DaySnapshot, SourceTally
from propfee.domain.models import Channel, Payment, PaymentSource, Reminder, ReminderStatus
from propfee.domain.money import rate
from propfee.payments.links import LINK_PATH
from propfee.payments.orders import OrderStatus
from propfee.payments.ports import ProviderName
from propfee.reports.history import EFFECT_DAYS, payment_sources

PROVIDERS = tuple(p.value for p in ProviderName)
# a payment is put down to the unit's latest reminder within this long before it (the week the report reads)
REMINDER_LOOKBACK = timedelta(days=EFFECT_DAYS)
# a reminder's link counts as opened when the unit's link was opened within this long after it
OPENED_WITHIN = timedelta(days=EFFECT_DAYS)
# an order still unpaid this long after it was started is abandoned (both cashiers' pages have long timed out
# by then, and an owner who means to pay has paid): the default of the rules' reports.abandoned_after_minutes
ABANDONED_AFTER = timedelta(hours=2)


class ReportRules(BaseModel):
    """The daily report's own rules (rules.yaml `reports`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # at least half an hour (an order its cashier page may still pay is not abandoned); at most a day (the report reads
    # the orders of the week before the day, and each order is counted by the report of the day its time ends)
    abandoned_after_minutes: int = Field(int(ABANDONED_AFTER.total_seconds() // 60), ge=30, le=24 * 60)

    @property
    def abandoned_after(self) -> timedelta:
        return timedelta(minutes=self.abandoned_after_minutes)


# the channels that carry a bill link: the SMS and the email as a link, the letter as its QR code
LINK_CHANNELS = (Channel.SMS.value, Channel.EMAIL.value, Channel.LETTER.value)
# a step reached the owner: a message the provider took, or a call or visit handed to a collector
_REACHED = frozenset({ReminderStatus.SENT, ReminderStatus.DELIVERED, ReminderStatus.ASSIGNED})
NO_REMINDER = "no_reminder"


# ------------------------------------------------------------------------------------ online versus imported
def add_tallies(*parts: Mapping[str, SourceTally]) -> dict[str, SourceTally]:
    counts: Counter[str] = Counter()
    amounts: Counter[str] = Counter()
    for part in parts:
        for key, tally in part.items():
            counts[key] += tally.count
            amounts[key] += tally.amount_fen
    return {key: SourceTally(count=counts[key], amount_fen=amounts[key]) for key in sorted(counts)}


def source_figures(tallies: Mapping[str, SourceTally]) -> dict[str, object]:
    """Online (each provider, and of it what the reconciliation applied from a trade bill) and imported."""
    providers: dict[str, dict[str, int]] = {}
    for provider in PROVIDERS:
        notified = tallies.get(f"{PaymentSource.PROVIDER.value}:{provider}", SourceTally())
        reconciled = tallies.get(f"{PaymentSource.RECONCILIATION.value}:{provider}", SourceTally())
        providers[provider] = {
            "count": notified.count + reconciled.count,
            "amount_fen": notified.amount_fen + reconciled.amount_fen,
            "reconciled": reconciled.count,
            "reconciled_fen": reconciled.amount_fen,
        }
    imported = tallies.get(PaymentSource.IMPORT.value, SourceTally())
    online_count = sum(p["count"] for p in providers.values())
    online_fen = sum(p["amount_fen"] for p in providers.values())
    return {
        "online": {"count": online_count, "amount_fen": online_fen},
        "providers": providers,
        "imported": {"count": imported.count, "amount_fen": imported.amount_fen},
        "online_share": rate(online_count, online_count + imported.count),
    }


def month_to_date(
    day: date, today: Mapping[str, SourceTally], history: Iterable[DaySnapshot], communities: int = 1
) -> dict[str, object]:
    """The month's days before `day` from their snapshots, and `day` from its own payments. A day without a
    snapshot, or with one kept before the snapshots counted sources (schema < 6), is missing: counted in
    `days_missing` (for the company, each community's day), its payments in neither side."""
    first = day.replace(day=1)
    earlier = {(s.community_id, s.day): s for s in history if first <= s.day < day and s.payment_sources is not None}
    total = add_tallies(today, *(s.payment_sources or {} for s in earlier.values()))
    missing = communities * (day - first).days - len(earlier)
    return {"from": first.isoformat(), "days_missing": missing, **source_figures(total)}


# ------------------------------------------------------------------------------------ reminder to payment
def _contact(reminder: Reminder) -> datetime:
    return reminder.sent_at or reminder.claimed_at


def _ladder_step(reminder: Reminder) -> str:
    """The ladder's step of what was claimed ("sms_d30-r2", a repetition, and "notice_d7-sms", a part, are
    their steps')."""
    return reminder.step.split("-", 1)[0]


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest rank: the smallest value with at least `fraction` of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)), 1) - 1]


def reminder_to_payment(payments: Iterable[Payment], reminders: Iterable[Reminder]) -> dict[str, object]:
    """Each payment (not a refund) put down to the latest reminder that reached its unit before it, within
    REMINDER_LOOKBACK: per step and channel, the payments, how many of them online, and the median and 90th
    percentile (nearest rank) of the hours between. A payment with no such reminder is counted apart."""
    contacts: dict[str, list[Reminder]] = defaultdict(list)
    for r in reminders:
        if r.status in _REACHED:
            contacts[r.unit_id].append(r)
    hours: dict[tuple[str, str], list[float]] = defaultdict(list)
    online: Counter[tuple[str, str]] = Counter()
    without = 0
    for p in payments:
        if p.amount_fen <= 0:
            continue
        before = [r for r in contacts.get(p.unit_id, ()) if p.paid_at - REMINDER_LOOKBACK <= _contact(r) < p.paid_at]
        if not before:
            without += 1
            continue
        latest = max(before, key=lambda r: (_contact(r), r.step))
        key = (_ladder_step(latest), latest.channel.value)
        hours[key].append((p.paid_at - _contact(latest)).total_seconds() / 3600)
        online[key] += p.source.online
    return {
        "lookback_days": REMINDER_LOOKBACK.days,
        "without_reminder": without,
        "steps": [
            {
                "step": step,
                "channel": channel,
                "payments": len(values),
                "online": online[(step, channel)],
                "median_hours": round(statistics.median(values), 2),
                "p90_hours": round(percentile(values, 0.9), 2),
            }
            for (step, channel), values in sorted(hours.items())
        ],
    }


# ------------------------------------------------------------------------------------ links opened
def carried_link(reminder: Reminder) -> bool:
    """A reminder that reached the owner with the unit's bill link in it (its text as sent names the link)."""
    return (
        reminder.status in _REACHED and reminder.channel.value in LINK_CHANNELS and LINK_PATH in (reminder.text or "")
    )


def _opened(reminder: Reminder, openings: Mapping[str, list[datetime]], until: datetime) -> bool:
    contact = _contact(reminder)
    return any(contact <= at <= until for at in openings.get(reminder.unit_id, ()))


def link_openings(
    day: date,
    today: Iterable[Reminder],
    cohort: Iterable[Reminder],
    openings: Iterable[LinkOpened],
    tz: ZoneInfo,
) -> dict[str, object]:
    """Per channel, of the reminders that carried a link: those of `day` whose unit's link was opened after them
    that day, and those of the cohort (EFFECT_DAYS before) opened within OPENED_WITHIN after them. A link's opening
    is kept once a day, at its first time: one opened before a reminder, earlier the same day, hides that day's
    later openings (such a reminder counts as opened the next day it is opened, or not at all)."""
    by_unit: dict[str, list[datetime]] = defaultdict(list)
    for o in openings:
        by_unit[o.unit_id].append(o.at)
    end_of_day = datetime.combine(day + timedelta(days=1), datetime.min.time(), tz)
    counts: dict[str, Counter[str]] = {channel: Counter() for channel in LINK_CHANNELS}
    for r in today:
        if carried_link(r):
            counts[r.channel.value]["reminders_today"] += 1
            counts[r.channel.value]["opened_today"] += _opened(r, by_unit, end_of_day)
    for r in cohort:
        if carried_link(r):
            counts[r.channel.value]["cohort_reminders"] += 1
            counts[r.channel.value]["cohort_opened"] += _opened(r, by_unit, _contact(r) + OPENED_WITHIN)
    rows = []
    for channel in LINK_CHANNELS:
        c = counts[channel]
        rows.append(
            {
                "channel": channel,
                "reminders_today": c["reminders_today"],
                "opened_today": c["opened_today"],
                "today_rate": rate(c["opened_today"], c["reminders_today"]),
                "cohort_reminders": c["cohort_reminders"],
                "cohort_opened": c["cohort_opened"],
                "cohort_rate": rate(c["cohort_opened"], c["cohort_reminders"]),
            }
        )
    return {
        "cohort_day": (day - timedelta(days=EFFECT_DAYS)).isoformat(),
        "opened_within_days": OPENED_WITHIN.days,
        "channels": rows,
    }


# ------------------------------------------------------------------------------------ orders left unpaid
ORDER_FIGURES = ("started", "paid", "held", "paid_otherwise", "abandoned", "abandoned_fen", "pending")


def abandoned_orders(
    day: date,
    generated_at: datetime,
    orders: Iterable[StartedOrder],
    payments: Iterable[Payment],
    tz: ZoneInfo,
    abandoned_after: timedelta = ABANDONED_AFTER,
) -> dict[str, object]:
    """The orders whose `abandoned_after` (the rules') ended on `day` (each order is counted by one report, also one
    started late the day before), per provider: paid (however late), held for finance, not paid but the unit paid
    another way since it was started, abandoned (none of those: unpaid, and its amount), and pending (its time
    not over when the report ran, only when a report runs before the day is out)."""
    paid_at: dict[str, list[datetime]] = defaultdict(list)
    for p in payments:
        if p.amount_fen > 0:
            paid_at[p.unit_id].append(p.paid_at)
    figures = {provider: dict.fromkeys(ORDER_FIGURES, 0) for provider in PROVIDERS}
    for order in orders:
        deadline = order.created_at + abandoned_after
        if deadline.astimezone(tz).date() != day:
            continue
        counts = figures.setdefault(order.provider, dict.fromkeys(ORDER_FIGURES, 0))
        counts["started"] += 1
        if order.status == OrderStatus.PAID.value:
            counts["paid"] += 1
        elif order.status == OrderStatus.HELD.value:
            counts["held"] += 1
        elif any(order.created_at <= at for at in paid_at.get(order.unit_id, ())):
            counts["paid_otherwise"] += 1
        elif deadline > generated_at:
            counts["pending"] += 1
        else:
            counts["abandoned"] += 1
            counts["abandoned_fen"] += order.amount_fen
    return {
        "after_hours": abandoned_after.total_seconds() / 3600,
        "providers": [{"provider": provider, **counts} for provider, counts in sorted(figures.items())],
    }


# ------------------------------------------------------------------------------------ the section
def online_section(
    day: date,
    generated_at: datetime,
    today: Sequence[DayActivity],
    week: Sequence[DayActivity],
    history: Iterable[DaySnapshot],
    tz: ZoneInfo,
    communities: int = 1,
    abandoned_after: timedelta = ABANDONED_AFTER,
) -> dict[str, object]:
    """The section for one community, or for the company (`communities` of them: each argument holds every
    community's). `today`: the day's activity; `week`: that of the EFFECT_DAYS before it."""
    payments = [p for a in today for p in a.payments]
    reminders = [r for a in (*week, *today) for r in a.reminders]
    cohort_day = day - timedelta(days=EFFECT_DAYS)
    cohort = [r for r in reminders if r.claimed_at.astimezone(tz).date() == cohort_day]  # its activity's day
    todays = [r for a in today for r in a.reminders]
    openings = [o for a in (*week, *today) for o in a.link_openings]
    orders = [o for a in (*week, *today) for o in a.orders]  # those started late the day before end on the day
    since = [p for a in (*week, *today) for p in a.payments]
    tallies = payment_sources(payments)
    return {
        "day": source_figures(tallies),
        "month_to_date": month_to_date(day, tallies, history, communities),
        "reminder_to_payment": reminder_to_payment(payments, reminders),
        "link_opened": link_openings(day, todays, cohort, openings, tz),
        "abandoned_orders": abandoned_orders(day, generated_at, orders, since, tz, abandoned_after),
    }

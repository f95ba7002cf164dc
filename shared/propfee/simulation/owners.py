"""How simulated owners respond: when they pay, and how a reminder changes that."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from propfee.models import TaskOutcome
from propfee.simulation.world import DUE_DAY, Behaviour, World, stable_rng

# behaviour -> (chance that a reminder leads to a payment, earliest and latest hours after it)
REACTIONS = {
    Behaviour.ON_TIME: (0.9, 1, 24),
    Behaviour.RESPONSIVE: (0.65, 2, 48),
    Behaviour.LATE: (0.25, 1, 72),
    Behaviour.CHRONIC: (0.12, 24, 120),
    Behaviour.UNREACHABLE: (0.0, 0, 0),
}


@dataclass(order=True)
class PaymentIntent:
    at: datetime
    unit_id: str = field(compare=True)
    why: str = field(compare=False, default="")
    partial: bool = field(compare=False, default=False)


class OwnerModel:
    def __init__(self, world: World) -> None:
        self._world = world
        self._reminders_seen: dict[str, int] = {}

    def intents_for_month(self, month_first: date) -> list[PaymentIntent]:
        """Payments owners make of their own accord in the month that starts on month_first."""
        intents = []
        for unit_id, behaviour in sorted(self._world.behaviours.items()):
            rng = stable_rng("month", self._world.seed, unit_id, month_first)
            if behaviour is Behaviour.ON_TIME:
                day = month_first + timedelta(days=rng.randint(0, DUE_DAY - 2))
            elif behaviour is Behaviour.LATE:
                day = month_first + timedelta(days=DUE_DAY - 1 + rng.randint(5, 25))
            elif behaviour is Behaviour.UNREACHABLE and rng.random() < 0.15:
                day = month_first + timedelta(days=rng.randint(0, 27))
            else:
                continue
            at = datetime.combine(day, time(rng.randint(8, 21), rng.randint(0, 59)), self._world.tz)
            intents.append(PaymentIntent(at, unit_id, why=f"{behaviour.value} payer"))
        return intents

    def react(self, unit_id: str, reminded_at: datetime) -> PaymentIntent | None:
        """Whether this reminder moves the owner to pay, and when."""
        count = self._reminders_seen[unit_id] = self._reminders_seen.get(unit_id, 0) + 1
        behaviour = self._world.behaviours[unit_id]
        chance, earliest, latest = REACTIONS[behaviour]
        rng = stable_rng("reaction", self._world.seed, unit_id, count)
        if rng.random() >= chance:
            return None
        delay = timedelta(hours=rng.randint(earliest, latest), minutes=rng.randint(0, 59))
        return PaymentIntent(
            reminded_at + delay, unit_id, why="after a reminder", partial=behaviour is Behaviour.CHRONIC
        )


def task_outcome(world: World, unit_id: str, task_kind: str, today: date) -> tuple[TaskOutcome, date | None]:
    """What the owner tells the collector who calls or knocks; for a legal review, what the site manager
    decides (the long silent or refusing cases go to the lawyers)."""
    behaviour = world.behaviours[unit_id]
    rng = stable_rng("task", world.seed, unit_id, today)
    if task_kind == "legal_review":
        hopeless = behaviour in (Behaviour.CHRONIC, Behaviour.UNREACHABLE) and rng.random() < 0.5
        return (TaskOutcome.REFERRED if hopeless else TaskOutcome.NOT_REFERRED), None
    if behaviour is Behaviour.UNREACHABLE and task_kind == "call":
        return TaskOutcome.UNREACHABLE, None
    if behaviour is Behaviour.ON_TIME:
        return TaskOutcome.PAID, None
    if behaviour is Behaviour.CHRONIC and rng.random() < 0.6:
        return TaskOutcome.REFUSED, None
    return TaskOutcome.PROMISED, today + timedelta(days=rng.randint(2, 10))


def keeps_promise(world: World, unit_id: str, promised: date) -> PaymentIntent | None:
    behaviour = world.behaviours[unit_id]
    rng = stable_rng("promise", world.seed, unit_id, promised)
    chance = {Behaviour.CHRONIC: 0.3, Behaviour.LATE: 0.6}.get(behaviour, 0.8)
    if rng.random() >= chance:
        return None
    at = datetime.combine(promised, time(rng.randint(9, 20), rng.randint(0, 59)), world.tz)
    return PaymentIntent(at, unit_id, why="kept a promise", partial=behaviour is Behaviour.CHRONIC)

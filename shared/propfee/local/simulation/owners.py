"""How simulated owners respond: when they pay, and how a reminder changes that."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from propfee.domain.models import TaskOutcome
from propfee.local.simulation.world import DUE_DAY, Behaviour, World, stable_rng

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


# what owners answer by SMS, by behaviour: (chance per reminder, the texts they choose from). Chronic
# debtors often withhold fees over a service complaint; late payers promise a date; a few claim they paid.
COMPLAINTS = (
    "楼上漏水三个月了没人修，修好再交",
    "电梯三天两头坏，修好了再说",
    "小区垃圾好几天没人清理，臭死了",
    "晚上广场舞太吵了，投诉多少次了都没用",
    "我的车位天天被人占，保安也不管",
    "地库的灯坏了一个月了，黑漆漆的",
)
REPLIES = {
    Behaviour.CHRONIC: (
        (0.20, COMPLAINTS),
        (0.08, ("面积算错了吧，我家没有这么大", "账单不对，这个月多收了")),
        (0.06, ("下个月发工资再交", "手头紧，过完年再交")),
    ),
    Behaviour.LATE: (
        (0.15, ("下周五交", "月底前一定交清", "这两天忙，周一交")),
        (0.04, ("已经交了", "昨天在app上交过了")),
    ),
    Behaviour.RESPONSIVE: ((0.08, ("收到，今天就交", "好的马上交", "谢谢提醒，明天交")),),
    Behaviour.ON_TIME: ((0.03, ("谢谢提醒",)), (0.02, ("已缴费",))),
}
OPT_OUT = (0.01, ("TD", "退订"))


@dataclass(order=True)
class ReplyIntent:
    at: datetime
    unit_id: str = field(compare=True)
    phone: str = field(compare=False, default="")
    text: str = field(compare=False, default="")
    answers: str = field(compare=False, default="")  # the provider id of the reminder it answers
    reply_id: str = field(compare=False, default="")


def reply_to_reminder(
    world: World, unit_id: str, phone: str, message_id: str, reminded_at: datetime, count: int
) -> ReplyIntent | None:
    """Whether the owner answers this SMS, what and when (minutes to a few hours later)."""
    rng = stable_rng("reply", world.seed, unit_id, count)
    draw = rng.random()
    for chance, texts in (*REPLIES.get(world.behaviours[unit_id], ()), OPT_OUT):
        if draw < chance:
            delay = timedelta(minutes=rng.randint(3, 240))
            text = rng.choice(texts)
            return ReplyIntent(reminded_at + delay, unit_id, phone, text, message_id, f"demo-{unit_id}-{count}")
        draw -= chance
    return None


def ticket_handled(world: World, ticket_id: str, age: timedelta) -> bool:
    """Whether the department has dealt with a ticket by this evening: most within a day or two, some late
    (those the hourly check escalates to the site manager)."""
    rng = stable_rng("ticket", world.seed, ticket_id)
    return age >= timedelta(hours=rng.choice((6, 20, 30, 44, 70, 100)))

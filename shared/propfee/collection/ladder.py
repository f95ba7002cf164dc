"""The escalation ladder and the decision for one unit on one day: pure, no I/O.

A unit climbs the ladder as its oldest unpaid bill ages. Each step (each repetition of it, each of its
messages) is sent at most once per arrears episode: the send function's conditional claim enforces it.
A step that was missed (the unit was unreachable, held or inside the frequency cap) is not sent late:
the unit moves on to the step its age calls for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from propfee.collection.policy import Blocked, ContactPolicy, active_hold, day_blocked, frequency_blocked
from propfee.domain.identity import CompanyIdentity
from propfee.domain.models import Channel, Owner, Unit


class Repeat(BaseModel):
    """Send the step again every `every_days` days, at most `times` more times, while the debt stays."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    every_days: int = Field(ge=1)
    times: int = Field(ge=1)


class Step(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    step_id: str = Field(pattern=r"^[a-z0-9_]+$")
    # days after the oldest unpaid bill fell due; 0 or less: a courtesy note up to the due date
    days_overdue: int = Field(ge=-30)
    # one channel (a fallback is used when it cannot reach the owner), or several messages sent together
    channels: tuple[Channel, ...] = Field(min_length=1)
    template: str = ""  # the message or letter template; tasks have none
    min_amount_fen: int = Field(default=1, ge=1)
    repeat: Repeat | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_channel_shorthand(cls, data: object) -> object:
        """`channel: sms` is short for `channels: [sms]`."""
        if isinstance(data, dict) and "channel" in data:
            data = dict(data)
            if "channels" in data:
                raise ValueError("give either channel or channels, not both")
            data["channels"] = [data.pop("channel")]
        return data

    @model_validator(mode="after")
    def _coherent(self) -> Step:
        if len(set(self.channels)) != len(self.channels):
            raise ValueError(f"step {self.step_id} names a channel twice")
        if len(self.channels) > 1 and not all(c.is_message for c in self.channels):
            raise ValueError(f"step {self.step_id}: only sms and email can be sent together in one step")
        if self.is_courtesy and not self.channel.is_message:
            raise ValueError(f"step {self.step_id}: up to the due date only a friendly sms or email is sent")
        if not self.channel.is_task and not self.template:
            raise ValueError(f"step {self.step_id} sends a message or a letter and needs a template")
        return self

    @property
    def channel(self) -> Channel:
        return self.channels[0]

    @property
    def is_courtesy(self) -> bool:
        """A note before (or on) the due date, about money not yet overdue; it ends when the bill is late."""
        return self.days_overdue <= 0

    def cutoff(self, today: date) -> date:
        """The bills a step is about fall due on or before this day: the overdue ones, or for a courtesy
        note the ones falling due by its day."""
        return today - timedelta(days=self.days_overdue if self.is_courtesy else 1)

    @property
    def last_day(self) -> int:
        """The days overdue of the step's last repetition."""
        return self.days_overdue + (self.repeat.every_days * self.repeat.times if self.repeat else 0)

    def round_on(self, days: int) -> int:
        """The latest repetition due after `days` days overdue (0: the first sending). A missed
        repetition is not sent late: the unit gets the one its age calls for."""
        if self.repeat is None:
            return 0
        return min(self.repeat.times, (days - self.days_overdue) // self.repeat.every_days)

    def claim_id(self, round_: int, channel: Channel | None = None) -> str:
        """What is claimed once per arrears episode: the step, its repetition and, when the step sends
        several messages, the channel ("notice_d7-sms", "sms_d30-r2"). `-` never occurs in a step id."""
        parts = [self.step_id]
        if round_:
            parts.append(f"r{round_}")
        if len(self.channels) > 1 and channel is not None:
            parts.append(channel.value)
        return "-".join(parts)


class Ladder(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    steps: tuple[Step, ...] = Field(min_length=1)

    def model_post_init(self, _context: object) -> None:
        days = [step.days_overdue for step in self.steps]
        if days != sorted(days):
            raise ValueError("ladder steps must be ordered by days overdue")
        ids = [step.step_id for step in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError("ladder step ids must be unique")
        for step, following in zip(self.steps, self.steps[1:], strict=False):
            if step.repeat is not None and step.last_day >= following.days_overdue:
                raise ValueError(
                    f"step {step.step_id} repeats until day {step.last_day}, when step {following.step_id} "
                    f"(day {following.days_overdue}) has taken over: fewer or closer repetitions"
                )

    def due_before(self, today: date) -> date:
        """The arrears index bound: units whose oldest unpaid bill falls due before this day can have a
        step today (a courtesy step before the due date reaches into bills not yet due)."""
        return today - timedelta(days=self.steps[0].days_overdue - 1)


DEFAULT_POLICY = ContactPolicy()
DEFAULT_LADDER = Ladder(
    steps=(
        Step(step_id="due_soon_sms", days_overdue=-3, channels=(Channel.SMS,), template="reminder_due_soon"),
        Step(step_id="sms_d1", days_overdue=1, channels=(Channel.SMS,), template="reminder_friendly"),
        Step(step_id="notice_d7", days_overdue=7, channels=(Channel.EMAIL, Channel.SMS), template="reminder_notice"),
        Step(step_id="call_d15", days_overdue=15, channels=(Channel.CALL,)),
        Step(
            step_id="sms_d30",
            days_overdue=30,
            channels=(Channel.SMS,),
            template="reminder_firm",
            repeat=Repeat(every_days=7, times=1),
        ),
        Step(step_id="letter_d45", days_overdue=45, channels=(Channel.LETTER,), template="demand_letter"),
        Step(step_id="review_d90", days_overdue=90, channels=(Channel.LEGAL_REVIEW,)),
    )
)


class LadderRules(Protocol):
    """What the plan and send flows read of the rules file (propfee.rules.CollectionRules implements it)."""

    def ladder_for(self, community_id: str) -> Ladder: ...

    def policy_for(self, community_id: str) -> ContactPolicy: ...

    def identity_for(self, community_id: str) -> CompanyIdentity: ...


class SkipReason(StrEnum):
    NOT_OVERDUE = "not_overdue"
    BELOW_MINIMUM = "below_minimum"
    STEP_ALREADY_SENT = "step_already_sent"
    KEY_CUSTOMER = "key_customer"  # no automated courtesy note or repetition: the site manager handles them
    NO_REACHABLE_CHANNEL = "no_reachable_channel"
    PAID = "paid"
    DUPLICATE = "duplicate"
    NO_COLLECTOR = "no_collector"  # a task is due and nobody is assigned to the building


Role = Literal["collector", "site_manager"]


@dataclass(frozen=True)
class Action:
    step: Step
    channel: Channel
    destination: str  # phone, email, or for a visit, letter or review the unit's label
    assignee_role: Role = "collector"
    claim_id: str = ""  # what is claimed once per arrears episode; the step id unless it repeats or fans out
    # the messages of one step count once against the caps: each may count while none is claimed (the
    # claim that wins adds the contact and changes the unit, so the other is decided again, not counting)
    counts_as_contact: bool = True

    def __post_init__(self) -> None:
        if not self.claim_id:
            object.__setattr__(self, "claim_id", self.step.step_id)


@dataclass(frozen=True)
class Decision:
    actions: tuple[Action, ...] = ()
    reason: str | None = None  # a SkipReason, a policy.Blocked, or on_hold_<kind>

    @property
    def action(self) -> Action | None:
        return self.actions[0] if self.actions else None


def _skip(reason: str) -> Decision:
    return Decision(reason=reason)


_NOTHING_OWED = Decision(reason=SkipReason.NOT_OVERDUE)


def reachable(owners: tuple[Owner, ...], channel: Channel) -> str | None:
    """The first owner's address on this channel that may be used, if any. An opt-out (or a bounce)
    belongs to the address: a number shared by two household members is not used if either opted out."""
    if channel is Channel.WECHAT:
        return None  # bound to the unit, not to an owner: see _destination
    if channel is Channel.SMS:
        addresses = [(o.phone, o.sms_opt_out or bool(o.sms_disabled)) for o in owners if o.phone]
    else:
        addresses = [(o.email, o.email_opt_out or bool(o.email_disabled)) for o in owners if o.email]
    opted_out = {address for address, out in addresses if out}
    return next((address for address, _ in addresses if address not in opted_out), None)


FALLBACK = {
    Channel.SMS: (Channel.SMS, Channel.EMAIL),
    Channel.EMAIL: (Channel.EMAIL, Channel.SMS),
    Channel.WECHAT: (Channel.WECHAT, Channel.SMS, Channel.EMAIL),  # not bound (or stopped there): a text instead
    Channel.CALL: (Channel.CALL, Channel.VISIT),  # no number to call: someone goes to the door
    Channel.VISIT: (Channel.VISIT,),
    Channel.LETTER: (Channel.LETTER,),
    Channel.LEGAL_REVIEW: (Channel.LEGAL_REVIEW,),
}
ROLE: dict[Channel, Role] = {Channel.LEGAL_REVIEW: "site_manager"}  # who decides on a referral to the lawyers


def _destination(unit: Unit, channel: Channel) -> str | None:
    if channel in (Channel.VISIT, Channel.LETTER, Channel.LEGAL_REVIEW):  # about the unit itself
        return unit.label
    if channel is Channel.WECHAT:  # the first bound account that has not stopped the messages
        return next((b.openid for b in unit.wechat if not b.opt_out and not b.disabled), None)
    if channel is Channel.CALL:  # an SMS opt-out is not a refusal of calls; a dead number is, for everyone
        dead = {o.phone for o in unit.owners if o.sms_disabled}
        return next((o.phone for o in unit.owners if o.phone and o.phone not in dead), None)
    return reachable(unit.owners, channel)


def _reach(unit: Unit, step: Step, channel: Channel) -> tuple[Channel, str] | None:
    """The channel that carries the step's message on `channel`, and where to: a one-channel step falls
    back to another channel; a step that sends several messages does not (the other one is its own)."""
    for candidate in FALLBACK[channel] if len(step.channels) == 1 else (channel,):
        destination = _destination(unit, candidate)
        if destination:
            return candidate, destination
    return None


def amount_for(unit: Unit, step: Step, today: date) -> int:
    """What a step is about: the overdue amount, or for a courtesy note what falls due by its day."""
    return unit.owed_fen(due_on_or_before=step.cutoff(today))


def decide(
    unit: Unit, today: date, tz: ZoneInfo, ladder: Ladder = DEFAULT_LADDER, policy: ContactPolicy = DEFAULT_POLICY
) -> Decision:
    """Today's actions for a unit (several when a step sends more than one message), or the reason
    there is none."""
    oldest = unit.oldest_due
    if oldest is None:
        return _NOTHING_OWED
    days = (today - oldest).days
    # the last step the age has reached; a courtesy note is over once the bill is late ("falls due on
    # <a past day>" would be wrong)
    step = next((s for s in reversed(ladder.steps) if s.days_overdue <= days), None)
    if step is None or (step.days_overdue <= 0 and days > 0):
        return _NOTHING_OWED
    amount = amount_for(unit, step, today)
    if amount <= 0:
        return _skip(SkipReason.NOT_OVERDUE)
    if amount < step.min_amount_fen:
        return _skip(SkipReason.BELOW_MINIMUM)
    hold = active_hold(unit.holds, today)
    if hold is not None:
        return _skip(f"{Blocked.ON_HOLD}_{hold.kind}")
    round_ = step.round_on(days)
    if unit.key_customer and step.channel is not Channel.LEGAL_REVIEW:
        # handled in person by the site manager, never by automated messages: one visit per step
        if step.is_courtesy or round_ > 0:
            return _skip(SkipReason.KEY_CUSTOMER)
        if step.step_id in unit.steps_done:
            return _skip(SkipReason.STEP_ALREADY_SENT)
        return _when_the_day_allows(today, policy) or Decision(
            (Action(step, Channel.VISIT, unit.label, "site_manager", step.step_id),)
        )
    claims = {channel: step.claim_id(round_, channel) for channel in step.channels}
    done = {channel for channel, claim in claims.items() if claim in unit.steps_done}
    if len(done) == len(claims):
        return _skip(SkipReason.STEP_ALREADY_SENT)
    day_off = _when_the_day_allows(today, policy)
    if day_off is not None:
        return day_off
    # the caps limit automated messages (a collector's task or a formal letter is not one); the messages of
    # one step go out together as one contact, so a step already begun is not held back by its own first part
    first_of_step = not done
    if first_of_step and step.channel.is_message and frequency_blocked(unit.recent_contacts, today, tz, policy):
        return _skip(Blocked.FREQUENCY_CAP)
    actions = []
    for channel in step.channels:
        reach = None if channel in done else _reach(unit, step, channel)
        if reach is not None:
            carrier, destination = reach
            actions.append(
                Action(step, carrier, destination, ROLE.get(carrier, "collector"), claims[channel], first_of_step)
            )
    if not actions:
        return _skip(SkipReason.STEP_ALREADY_SENT if done else SkipReason.NO_REACHABLE_CHANNEL)
    return Decision(tuple(actions))


def _when_the_day_allows(today: date, policy: ContactPolicy) -> Decision | None:
    blocked = day_blocked(today, policy)
    return None if blocked is None else _skip(blocked)

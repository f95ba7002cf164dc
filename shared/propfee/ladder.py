"""The escalation ladder and the decision for one unit on one day: pure, no I/O.

A unit climbs the ladder as its oldest unpaid bill ages. Each step is sent at most once per arrears
episode (the send function's conditional claim enforces it); a step that was missed (the unit was
unreachable, held or inside the frequency cap) is not sent late: the unit moves on to the step its
age calls for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from propfee.models import Channel, Owner, Unit
from propfee.policy import Blocked, ContactPolicy, active_hold, day_blocked, frequency_blocked


class Step(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    step_id: str = Field(pattern=r"^[a-z0-9_]+$")
    days_overdue: int = Field(ge=0)
    channel: Channel  # sms, email, or a task for a collector: call, visit
    template: str = ""  # the message template; tasks have none
    min_amount_fen: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _messages_have_a_template(self) -> Step:
        if not self.channel.is_task and not self.template:
            raise ValueError(f"step {self.step_id} sends a message or a letter and needs a template")
        return self


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


DEFAULT_POLICY = ContactPolicy()
DEFAULT_LADDER = Ladder(
    steps=(
        Step(step_id="sms_d1", days_overdue=1, channel=Channel.SMS, template="reminder_friendly"),
        Step(step_id="email_d7", days_overdue=7, channel=Channel.EMAIL, template="reminder_notice"),
        Step(step_id="call_d15", days_overdue=15, channel=Channel.CALL),
        Step(step_id="sms_d30", days_overdue=30, channel=Channel.SMS, template="reminder_firm"),
        Step(step_id="letter_d45", days_overdue=45, channel=Channel.LETTER, template="demand_letter"),
    )
)


class SkipReason(StrEnum):
    NOT_OVERDUE = "not_overdue"
    BELOW_MINIMUM = "below_minimum"
    STEP_ALREADY_SENT = "step_already_sent"
    KEY_CUSTOMER = "key_customer"
    NO_REACHABLE_CHANNEL = "no_reachable_channel"
    PAID = "paid"
    DUPLICATE = "duplicate"
    NO_COLLECTOR = "no_collector"  # a call or visit is due and nobody is assigned to the building


@dataclass(frozen=True)
class Action:
    step: Step
    channel: Channel
    destination: str  # phone, email, or for a visit the unit's label
    assignee_role: Literal["collector", "site_manager"] = "collector"


@dataclass(frozen=True)
class Decision:
    action: Action | None
    reason: str | None = None  # a SkipReason, a policy.Blocked, or on_hold_<kind>


def reachable(owners: tuple[Owner, ...], channel: Channel) -> str | None:
    """The first owner's address on this channel that may be used, if any. An opt-out (or a bounce)
    belongs to the address: a number shared by two household members is not used if either opted out."""
    if channel is Channel.SMS:
        addresses = [(o.phone, o.sms_opt_out or bool(o.sms_disabled)) for o in owners if o.phone]
    else:
        addresses = [(o.email, o.email_opt_out or bool(o.email_disabled)) for o in owners if o.email]
    opted_out = {address for address, out in addresses if out}
    return next((address for address, _ in addresses if address not in opted_out), None)


FALLBACK = {
    Channel.SMS: (Channel.SMS, Channel.EMAIL),
    Channel.EMAIL: (Channel.EMAIL, Channel.SMS),
    Channel.CALL: (Channel.CALL, Channel.VISIT),  # no number to call: someone goes to the door
    Channel.VISIT: (Channel.VISIT,),
    Channel.LETTER: (Channel.LETTER,),
}


def _destination(unit: Unit, channel: Channel) -> str | None:
    if channel in (Channel.VISIT, Channel.LETTER):  # delivered to the unit itself
        return unit.label
    if channel is Channel.CALL:  # an SMS opt-out is not a refusal of calls; a dead number is, for everyone
        dead = {o.phone for o in unit.owners if o.sms_disabled}
        return next((o.phone for o in unit.owners if o.phone and o.phone not in dead), None)
    return reachable(unit.owners, channel)


def decide(
    unit: Unit, today: date, tz: ZoneInfo, ladder: Ladder = DEFAULT_LADDER, policy: ContactPolicy = DEFAULT_POLICY
) -> Decision:
    """Today's action for a unit, or the reason there is none."""
    days = unit.days_overdue(today)
    due_steps = [step for step in ladder.steps if step.days_overdue <= days]
    if not due_steps or unit.overdue_fen(today) <= 0:
        return Decision(None, SkipReason.NOT_OVERDUE)
    step = due_steps[-1]
    if unit.overdue_fen(today) < step.min_amount_fen:
        return Decision(None, SkipReason.BELOW_MINIMUM)
    hold = active_hold(unit.holds, today)
    if hold is not None:
        return Decision(None, f"{Blocked.ON_HOLD}_{hold.kind}")
    if step.step_id in unit.steps_done:
        return Decision(None, SkipReason.STEP_ALREADY_SENT)
    blocked_day = day_blocked(today, policy)
    if blocked_day is not None:
        return Decision(None, blocked_day)
    if unit.key_customer:  # handled in person by the site manager, never by automated messages
        return Decision(Action(step, Channel.VISIT, unit.label, assignee_role="site_manager"))
    # the frequency caps limit automated messages; a collector's call or visit, a formal letter, is not one
    if step.channel.is_message and frequency_blocked(unit.recent_contacts, today, tz, policy):
        return Decision(None, Blocked.FREQUENCY_CAP)
    for channel in FALLBACK[step.channel]:
        destination = _destination(unit, channel)
        if destination:
            return Decision(Action(step, channel, destination))
    return Decision(None, SkipReason.NO_REACHABLE_CHANNEL)

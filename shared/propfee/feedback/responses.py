"""What an owner's reply sets in motion: pure, no I/O.

A reply is classified (propfee.feedback.intents), then `respond` works out everything it changes: the owner's
channels (opt-out, opt-in, a wrong number), holds on the units (a paid claim, a promise, a dispute, an
open complaint), the ticket for the department that can act, and the acknowledgement to send back. A text
never marks anything paid: finance verifies. The receive flow applies the response in one transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from propfee.collection.policy import ContactPolicy
from propfee.domain.identity import CompanyIdentity
from propfee.domain.models import Hold, HoldKind, InboundMessage, Ticket, Unit
from propfee.feedback.intents import Classification, Department, Intent

UNKNOWN_COMMUNITY = "UNKNOWN"


class DepartmentContact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    name_en: str = ""
    email: str | None = None  # its inbox; tickets also go to the department's queue for integrations

    def name_in(self, language: str) -> str:
        return self.name_en if language == "en" and self.name_en else self.name


DEFAULT_DEPARTMENTS = {
    Department.CUSTOMER_SERVICE: DepartmentContact(name="客服中心", name_en="customer service"),
    Department.ENGINEERING: DepartmentContact(name="工程维修部", name_en="engineering and maintenance"),
    Department.SECURITY: DepartmentContact(name="秩序维护部", name_en="security"),
    Department.ENVIRONMENT: DepartmentContact(name="环境部", name_en="cleaning and landscaping"),
    Department.FINANCE: DepartmentContact(name="财务部", name_en="finance"),
    Department.LEGAL: DepartmentContact(name="法务", name_en="legal"),
    Department.SITE_MANAGER: DepartmentContact(name="项目经理", name_en="site manager"),
}


class Deadlines(BaseModel):
    """Hours a department has to act, by complaint category, else by intent, else the default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    default_hours: int = Field(default=48, ge=1)
    by_intent: dict[Intent, int] = {}
    by_category: dict[str, int] = {}
    urgent_categories: frozenset[str] = frozenset()

    def hours(self, intent: Intent, category: str | None) -> int:
        if category is not None and category in self.by_category:
            return self.by_category[category]
        return self.by_intent.get(intent, self.default_hours)


class FeedbackRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    departments: dict[Department, DepartmentContact] = DEFAULT_DEPARTMENTS
    deadlines: Deadlines = Deadlines()
    hold_while_complaint_open: bool = True  # collection waits while the owner's complaint is open
    paid_claim_days: int = Field(default=7, ge=1)  # reminders pause this long while finance looks
    plan_days_without_date: int = Field(default=14, ge=1)  # "I'll pay later" with no date
    longest_promise_days: int = Field(default=90, ge=1)  # a promise further out holds only this long
    messages_per_hour: int = Field(default=6, ge=1)  # from one sender; beyond: kept, not acted on
    messages_per_day: int = Field(default=20, ge=1)
    ack_every_minutes: int = Field(default=60, ge=1)  # at most one acknowledgement per sender: no bot loops

    def with_departments(self, overrides: dict[Department, DepartmentContact]) -> FeedbackRules:
        return self.model_copy(update={"departments": {**self.departments, **overrides}})


# the hold each intent places, and whether a ticket goes to a department


class RepliesRules(Protocol):
    """What the receive and ticket flows read of the rules file (propfee.rules.CollectionRules implements it)."""

    @property
    def feedback(self) -> FeedbackRules: ...

    def feedback_for(self, community_id: str) -> FeedbackRules: ...

    def policy_for(self, community_id: str) -> ContactPolicy: ...

    def identity_for(self, community_id: str) -> CompanyIdentity: ...


HOLD_FOR = {
    Intent.PAID_CLAIM: HoldKind.PAID_CLAIM,
    Intent.PAYMENT_PLAN: HoldKind.PROMISE_TO_PAY,
    Intent.BILL_DISPUTE: HoldKind.DISPUTE,
    Intent.COMPLAINT: HoldKind.COMPLAINT,
}
NO_TICKET = {Intent.OPT_OUT, Intent.OPT_IN, Intent.HELP, Intent.THANKS}
# the acknowledgement template (shared/propfee/templates/<name>.<language>.sms.j2); thanks gets none
ACK_TEMPLATE = {Intent.OPT_OUT: "reply_opt_out", Intent.OPT_IN: "reply_opt_in", Intent.HELP: "reply_help"}
TICKET_ACK = "reply_ticket"
UNKNOWN_SENDER_ACK = "reply_unknown_sender"
CONFIRM_OPT_OUT_ACK = "reply_opt_out_confirm"  # a possible opt-out: stopped, and the owner asked once
REPLY_TEMPLATES = frozenset({*ACK_TEMPLATE.values(), TICKET_ACK, UNKNOWN_SENDER_ACK, CONFIRM_OPT_OUT_ACK})


@dataclass(frozen=True)
class Acknowledgement:
    template: str
    language: str
    context: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Response:
    classification: Classification
    units_after: tuple[Unit, ...] = ()  # changed units (version + 1); the store writes them conditionally
    ticket: Ticket | None = None
    acknowledgement: Acknowledgement | None = None
    changes: tuple[str, ...] = ()  # what was done, in words for the evidence record and the logs


def ticket_id_for(source_id: str, day: date, salt: int = 0) -> str:
    """Short enough to read out on the phone, the same for the same inbound message (idempotent); in the rare
    case of two messages of a day with the same id, the second tries again with a salt."""
    seed = f"{source_id}#{salt}" if salt else source_id
    return f"T{day:%Y%m%d}-{hashlib.sha256(seed.encode()).hexdigest()[:8].upper()}"


def _owners_with(unit: Unit, sender: str, change: dict[str, object]) -> Unit:
    """The owners who wrote from this number or address (addresses compare without case); for a WeChat sender
    (wechat:<openid>) the unit's binding of that account."""
    if sender.startswith("wechat:"):
        openid = sender.removeprefix("wechat:")
        # the channel's change, said of the binding: {"sms_opt_out": True} -> {"opt_out": True}
        flags = {key.split("_", 1)[1]: value for key, value in change.items()}
        bound = tuple(b.model_copy(update=flags) if b.openid == openid else b for b in unit.wechat)
        return unit.model_copy(update={"wechat": bound})
    owners = tuple(
        o.model_copy(update=change) if sender in (o.phone, (o.email or "").lower()) else o for o in unit.owners
    )
    return unit.model_copy(update={"owners": owners})


def _opted_out(units: list[Unit], message: InboundMessage) -> bool:
    """Whether every owner who wrote from this address has already stopped messages on this channel."""
    if message.channel == "wechat":
        openid = message.sender.removeprefix("wechat:")
        bound = [b for u in units for b in u.wechat if b.openid == openid]
        return bool(bound) and all(b.opt_out for b in bound)
    owners = [o for u in units for o in u.owners if message.sender in (o.phone, (o.email or "").lower())]
    flag = "sms_opt_out" if message.channel == "sms" else "email_opt_out"
    return bool(owners) and all(getattr(o, flag) for o in owners)


def _channel_change(intent: Intent, message: InboundMessage) -> dict[str, object]:
    """An opt-out, opt-in or wrong number concerns the address that wrote, on the channel it wrote on."""
    sms = message.channel == "sms"
    if intent is Intent.OPT_OUT:
        return {"sms_opt_out": True} if sms else {"email_opt_out": True}
    if intent is Intent.OPT_IN:
        return {"sms_opt_out": False} if sms else {"email_opt_out": False}
    reason = "wrong number (the person who replied is not the owner)"
    return {"sms_disabled": reason} if sms else {"email_disabled": reason}


def _hold_until(intent: Intent, classification: Classification, today: date, rules: FeedbackRules) -> date | None:
    if intent is Intent.PAID_CLAIM:
        return today + timedelta(days=rules.paid_claim_days)
    if intent is Intent.PAYMENT_PLAN:
        longest = today + timedelta(days=rules.longest_promise_days)
        promised = classification.promise_date or today + timedelta(days=rules.plan_days_without_date)
        return min(promised, longest)
    return None  # a dispute or complaint holds until its ticket is resolved


MATTERS = (Intent.BILL_DISPUTE, Intent.COMPLAINT, Intent.PAID_CLAIM, Intent.PAYMENT_PLAN)
DEPARTMENT_OF = {
    Intent.BILL_DISPUTE: Department.FINANCE,
    Intent.PAID_CLAIM: Department.FINANCE,
    Intent.PAYMENT_PLAN: Department.FINANCE,
}


def respond(
    message: InboundMessage,
    classification: Classification,
    units: list[Unit],
    rules: FeedbackRules,
    tz: ZoneInfo,
    answered: tuple[str, str] | None = None,
    salt: int = 0,
) -> Response:
    """Everything a classified message changes. `units` are the sender's units (an owner may hold
    several; a number may be a household member's); `answered` is the unit and claim of the reminder the
    message replies to, when the provider linked it; `salt` gives another ticket id after a collision.

    "已经交了，别再发了" both opts out and claims payment: the channel change of the first intent and the
    matter for a department (the first of the message's intents that has one) are both acted on."""
    intent = classification.intent
    language = units[0].language if units else "zh-CN"
    answered_unit = answered[0] if answered else None

    def new_ticket(about: Intent, department: Department, concerned: list[Unit] | tuple[Unit, ...]) -> Ticket:
        ticket = _ticket(message, classification, about, department, concerned, rules, tz, salt)
        return ticket.model_copy(update={"answers": "#".join(answered)}) if answered else ticket

    if not units:
        # nothing about any account may be revealed to a sender we do not know
        ticket = new_ticket(intent, Department.CUSTOMER_SERVICE, ())
        return Response(
            classification, ticket=ticket, acknowledgement=_ack(UNKNOWN_SENDER_ACK, language, ticket, rules, tz)
        )
    after = {u.unit_id: u for u in units}
    changes: list[str] = []
    # a possible refusal of messages stops them (doubt resolves to stopping) and asks the owner, once: a second
    # such message finds the channel already stopped and asks nothing
    confirm = classification.possible_opt_out and intent is not Intent.OPT_IN and not _opted_out(units, message)
    if intent in (Intent.OPT_OUT, Intent.OPT_IN, Intent.WRONG_NUMBER):
        change = _channel_change(intent, message)
        after = {u.unit_id: _owners_with(u, message.sender, change) for u in units}
        changes.append(f"{intent.value} for {message.channel}")
    elif classification.possible_opt_out:
        change = _channel_change(Intent.OPT_OUT, message)
        after = {u.unit_id: _owners_with(u, message.sender, change) for u in units}
        changes.append(f"possible opt_out: {message.channel} stopped" + (", owner asked to confirm" if confirm else ""))
    if intent is Intent.WRONG_NUMBER:
        # not the owner: customer service corrects the contact data; what they wrote is not the owner's matter
        ticket = new_ticket(intent, Department.CUSTOMER_SERVICE, units)
        ack = _ack(UNKNOWN_SENDER_ACK, language, ticket, rules, tz)
        return Response(classification, _changed(units, after), ticket, ack, (*changes, _ticketed(ticket)))
    matter = next((i for i in (intent, *classification.also_detected) if i in MATTERS), None)
    if matter is None and intent is Intent.UNKNOWN:
        matter = Intent.UNKNOWN  # a person reads what the rules did not understand
    if matter is None:
        template = ACK_TEMPLATE.get(intent)  # help is answered, a thank-you is not (no loops with bots)
        if confirm:
            template = CONFIRM_OPT_OUT_ACK
        answer = Acknowledgement(template, language) if template else None
        return Response(classification, _changed(units, after), None, answer, tuple(changes))
    # the unit the owner answered about, else every unit of theirs concerned
    concerned = [after[u.unit_id] for u in units if u.unit_id == answered_unit] or list(after.values())
    if matter in (Intent.PAID_CLAIM, Intent.PAYMENT_PLAN, Intent.BILL_DISPUTE):
        concerned = [u for u in concerned if u.balance_fen > 0] or concerned
    department = (
        classification.department if matter is intent and classification.department else DEPARTMENT_OF.get(matter)
    ) or Department.CUSTOMER_SERVICE
    ticket = new_ticket(matter, department, concerned)
    changes.append(_ticketed(ticket))
    if classification.refuses_to_pay:
        changes.append("the owner refuses to pay until it is dealt with (recorded on the ticket)")
    hold_kind = HOLD_FOR.get(matter)
    if matter is Intent.COMPLAINT and not rules.hold_while_complaint_open:
        hold_kind = None
    if hold_kind is not None:
        today = message.received_at.astimezone(tz).date()
        hold = Hold(
            kind=hold_kind,
            until=_hold_until(matter, classification, today, rules),
            reason=f"{matter.value}, ticket {ticket.ticket_id}",
            ticket=ticket.ticket_id,
        )
        for unit in concerned:
            after[unit.unit_id] = unit.model_copy(update={"holds": (*unit.holds, hold)})
        ticket = ticket.model_copy(update={"hold": hold_kind})
        changes.append(f"{hold_kind.value} hold until {hold.until or 'the ticket is resolved'}")
        promised = Intent.PAYMENT_PLAN in (intent, *classification.also_detected) and classification.promise_date
        if matter is not Intent.PAYMENT_PLAN and promised:
            # "电梯坏了请尽快修，10号我会交": the promise is kept as well, and outlasts the complaint's hold
            # ("修好再交" names no day: a condition, not a promise)
            promise = Hold(
                kind=HoldKind.PROMISE_TO_PAY,
                until=_hold_until(Intent.PAYMENT_PLAN, classification, today, rules),
                reason=f"payment_plan, said with ticket {ticket.ticket_id}",
            )
            for unit in concerned:
                held = after[unit.unit_id]
                after[unit.unit_id] = held.model_copy(update={"holds": (*held.holds, promise)})
            changes.append(f"{HoldKind.PROMISE_TO_PAY.value} hold until {promise.until}")
    ack = _ack(TICKET_ACK, language, ticket, rules, tz)
    if confirm:
        ack = Acknowledgement(CONFIRM_OPT_OUT_ACK, ack.language, ack.context)
    if intent is Intent.OPT_OUT:  # "已经交了，别再发了": the one acknowledgement also confirms the opt-out
        ack = Acknowledgement(ack.template, ack.language, {**ack.context, "opted_out": message.channel})
    return Response(classification, _changed(units, after), ticket, ack, tuple(changes))


def _changed(before: list[Unit], after: dict[str, Unit]) -> tuple[Unit, ...]:
    """The units that changed, each one version on (the store writes them only if still as read)."""
    return tuple(
        after[u.unit_id].model_copy(update={"version": u.version + 1}) for u in before if after[u.unit_id] != u
    )


def _ticketed(ticket: Ticket) -> str:
    return f"ticket {ticket.ticket_id} for {ticket.department}"


def _ticket(
    message: InboundMessage,
    classification: Classification,
    intent: Intent,
    department: Department,
    units: list[Unit] | tuple[Unit, ...],
    rules: FeedbackRules,
    tz: ZoneInfo,
    salt: int = 0,
) -> Ticket:
    category = classification.category if intent is Intent.COMPLAINT else None
    created = message.received_at
    said = [
        i.value for i in (classification.intent, *classification.also_detected) if i not in (intent, Intent.UNKNOWN)
    ]
    if classification.refuses_to_pay:
        said.append("refuses_to_pay")
    return Ticket(
        ticket_id=ticket_id_for(message.source_id, created.astimezone(tz).date(), salt),
        community_id=units[0].community_id if units else UNKNOWN_COMMUNITY,
        unit_ids=tuple(u.unit_id for u in units),
        department=department.value,
        intent=intent.value,
        category=category,
        priority="urgent" if intent is Intent.COMPLAINT and classification.urgent else "normal",  # per message
        channel=message.channel,
        contact=message.sender,
        message=message.body,
        created_at=created,
        due_by=created + timedelta(hours=rules.deadlines.hours(intent, category)),
        promise_date=classification.promise_date,
        source_id=message.source_id,
        also=tuple(dict.fromkeys(said)),
        guesses=tuple(g.value for g in classification.guesses),
    )


def _ack(template: str, language: str, ticket: Ticket, rules: FeedbackRules, tz: ZoneInfo) -> Acknowledgement:
    department = Department(ticket.department)
    name = rules.departments.get(department, DEFAULT_DEPARTMENTS[department]).name_in(language)
    due = ticket.due_by.astimezone(tz)
    context = {"ticket_id": ticket.ticket_id, "department": name, "due_by": f"{due:%m-%d %H:%M}"}
    return Acknowledgement(template, language, {**context, "due_at": ticket.due_by.isoformat()})


def ack_context(context: dict[str, str], now: datetime) -> dict[str, str]:
    """An acknowledgement sent late (it waited for the contact window) promises no time already past."""
    due_at = context.get("due_at")
    if due_at and datetime.fromisoformat(due_at) <= now:
        return {**context, "due_by": ""}
    return context


def release_ticket_holds(unit: Unit, ticket_id: str) -> Unit | None:
    """The unit without the holds a ticket placed (None when it had none)."""
    kept = tuple(h for h in unit.holds if h.ticket != ticket_id)
    if len(kept) == len(unit.holds):
        return None
    return unit.model_copy(update={"holds": kept, "version": unit.version + 1})

"""Records and messages at every boundary. Money is integer fen; times are timezone-aware."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import phonenumbers
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, NonNegativeInt, field_validator

Fen = int
Language = Literal["zh-CN", "en"]
Period = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


def _e164(value: str) -> str:
    try:
        parsed = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException as error:
        raise ValueError(f"not a phone number: {error}") from error
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


E164 = Annotated[str, AfterValidator(_e164)]


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    CALL = "call"  # a phone-call task for a collector (电话催缴)
    VISIT = "visit"  # a door visit by a collector or the site manager
    LETTER = "letter"  # a formal demand letter (催缴函), a PDF for printing and delivery to the unit
    LEGAL_REVIEW = "legal_review"  # the site manager decides whether to refer the debt to the lawyers
    WECHAT = "wechat"  # a template message through the company's WeChat official account, to a bound openid

    @property
    def is_task(self) -> bool:
        return self in (Channel.CALL, Channel.VISIT, Channel.LEGAL_REVIEW)

    @property
    def is_message(self) -> bool:
        return self in (Channel.SMS, Channel.EMAIL, Channel.WECHAT)


def room_key(room: str) -> str:
    """A room as billing systems write it: '0101' and '101' are the same room, '12a' and '12A' too."""
    return (room.lstrip("0") or "0") if room.isdigit() else room.upper()


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Owner(Record):
    """An owner or household member and how they may be reached."""

    name: str
    phone: E164 | None = None
    email: str | None = None
    relation: Literal["owner", "co_owner", "household", "tenant"] = "owner"
    sms_opt_out: bool = False
    email_opt_out: bool = False
    # set from delivery events: the number does not exist, the mailbox bounced or complained
    sms_disabled: str | None = None
    email_disabled: str | None = None


class Community(Record):
    community_id: str
    name: str
    timezone: str = "Asia/Shanghai"


class Building(Record):
    community_id: str
    building_id: str
    name: str
    floors: int = Field(ge=1)


class HoldKind(StrEnum):
    DISPUTE = "dispute"  # the owner disputes the bill
    PROMISE_TO_PAY = "promise_to_pay"  # until the promised date
    PAID_CLAIM = "paid_claim"  # "already paid", waiting for finance to verify
    COMPLAINT = "complaint"  # an open service complaint
    MANUAL = "manual"  # set by staff
    LEGAL = "legal"  # referred to the lawyers: they take it from here, automated reminders stop


class Hold(Record):
    """Reminders to the unit pause while a hold is in force."""

    kind: HoldKind
    until: date | None = None  # None: until released
    reason: str = ""
    ticket: str | None = None  # the ticket that placed it: resolving the ticket releases it


class OpenBill(Record):
    """What is still owed on one bill; the unit keeps a small map of these for fast decisions."""

    due: date
    outstanding_fen: NonNegativeInt


class UnitBillLink(Record):
    """The unit's current bill link as the unit item carries it: the plan puts it on each job, so that a reminder
    reuses it without a read, and a new one is written with the reminder's claim."""

    token: str = Field(min_length=1)
    issued_at: AwareDatetime
    valid_until: AwareDatetime


class WechatBinding(Record):
    """An owner's WeChat (their openid under the company's official account), bound by OAuth from the bill page."""

    openid: str = Field(pattern=r"^[A-Za-z0-9_-]{16,64}$")
    bound_at: AwareDatetime
    opt_out: bool = False  # the owner said 退订 on the account: no more reminders there
    disabled: str | None = None  # the account reported it cannot reach them (unsubscribed, blocked)


class Unit(Record):
    unit_id: str
    community_id: str
    building_id: str
    room: str
    area_m2: Decimal = Field(gt=0)
    monthly_fee_fen: NonNegativeInt  # the fee when no rate is set (a flat fee, or as the billing system says)
    rate_fen_per_m2: Decimal | None = Field(default=None, ge=0)  # fee schedule: per m² and month, may have a fraction
    language: Language = "zh-CN"
    owners: tuple[Owner, ...] = ()
    key_customer: bool = False
    open_bills: dict[str, OpenBill] = Field(default_factory=dict)
    credit_fen: NonNegativeInt = 0
    steps_done: frozenset[str] = frozenset()  # ladder steps taken in the current arrears episode
    arrears_episode: int = Field(default=1, ge=1)  # +1 each time the balance is settled: the ladder restarts
    recent_contacts: tuple[AwareDatetime, ...] = ()  # automated messages, for the frequency caps
    holds: tuple[Hold, ...] = ()
    bill_link: UnitBillLink | None = None
    wechat: tuple[WechatBinding, ...] = ()  # the WeChat accounts bound to the unit (propfee.payments.wechat_bind)
    version: NonNegativeInt = 0

    @property
    def balance_fen(self) -> Fen:
        return sum(bill.outstanding_fen for bill in self.open_bills.values())

    @property
    def oldest_due(self) -> date | None:
        dues = [bill.due for bill in self.open_bills.values() if bill.outstanding_fen > 0]
        return min(dues) if dues else None

    def overdue_fen(self, today: date) -> Fen:
        return sum(b.outstanding_fen for b in self.open_bills.values() if b.due < today)

    def owed_fen(self, due_on_or_before: date) -> Fen:
        return sum(b.outstanding_fen for b in self.open_bills.values() if b.due <= due_on_or_before)

    def days_overdue(self, today: date) -> int:
        oldest = self.oldest_due
        return (today - oldest).days if oldest is not None and oldest < today else 0

    @property
    def label(self) -> str:
        """How the unit is named to its own owner, e.g. '3栋1502'."""
        return f"{self.building_id.split('-')[-1]}-{self.room}"


class Bill(Record):
    unit_id: str
    community_id: str
    period: Period
    amount_fen: NonNegativeInt
    due: date
    issued_at: AwareDatetime


class PaymentSource(StrEnum):
    """How a payment reached the ledger (the report's online versus imported)."""

    PROVIDER = "provider"  # an online payment a provider vouched for: its notification, or its answer to a query
    RECONCILIATION = "reconciliation"  # online, applied from the provider's trade bill: no notification came
    IMPORT = "import"  # the billing system's export (or a bank file); a payment recorded before sources were kept

    @property
    def online(self) -> bool:
        return self is not PaymentSource.IMPORT


class Payment(Record):
    """Money received for a unit (negative: a refund paid back to the owner). The reference (bank or
    billing-system serial) makes it idempotent."""

    reference: str = Field(min_length=1, max_length=128)
    unit_id: str
    community_id: str
    amount_fen: int = Field(validate_default=True)
    paid_at: AwareDatetime
    method: str = "unknown"
    for_period: Period | None = None  # the month the payer named (a cashier's 账期 column), settled first
    source: PaymentSource = PaymentSource.IMPORT  # online ones say so where they are built (payments/)

    @field_validator("amount_fen")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("a payment of nothing")
        return value

    @property
    def is_refund(self) -> bool:
        return self.amount_fen < 0


class PlanRequest(Record):
    """Plan one community's day: the morning run sends one per community, so that no run plans more than a
    community (a company of a million households plans in parallel, each run well within Lambda's limits)."""

    day: date
    community_id: str = Field(min_length=1)


class SendJob(Record):
    """One planned reminder: the plan function enqueues it, the send function delivers it once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unit_id: str = Field(min_length=1)
    community_id: str = Field(min_length=1)
    step: str = Field(min_length=1)  # what is claimed: the ladder step, "-r2" for a repetition, "-sms" for a part
    occurrence: int = Field(default=1, ge=1)
    channel: Channel
    destination: str = Field(min_length=3)
    language: Language
    template: str
    unit_label: str
    balance_fen: int = Field(gt=0)
    overdue_since: date
    planned_for: date
    unit_version: NonNegativeInt
    building_id: str = ""
    assignee_role: Literal["collector", "site_manager"] = "collector"
    recent_contacts: tuple[AwareDatetime, ...] = ()  # as planned; the claim adds to it, a release restores it
    counts_as_contact: bool = True  # False for the second message of a step that sends two together
    periods: tuple[str, ...] = ()  # the unpaid billing periods, oldest first (a demand letter lists them)
    # how owners name their unit ("锦绣花园1栋2304室"), from the community and building records; empty: the
    # texts fall back to unit_label (the codes)
    community_name: str = ""
    building_name: str = ""
    room: str = ""
    owner_surname: str = ""  # of the person written to, for the salutation (the surname only, never the name)
    owner_name: str = ""  # call and visit jobs only: whom the collector asks for (the task shows it without a read)
    bill_link: UnitBillLink | None = None  # the unit's link as planned (reused while valid)

    @property
    def claim_key(self) -> str:
        return f"REMINDER#{self.step}#{self.occurrence}"


class ReminderStatus(StrEnum):
    CLAIMED = "claimed"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    COMPLAINED = "complained"  # delivered, and the owner marked it as spam
    ASSIGNED = "assigned"  # a call or visit task given to a collector


class Reminder(Record):
    """The evidence record of one reminder (and its exactly-once claim)."""

    unit_id: str
    community_id: str
    step: str
    occurrence: int
    channel: Channel
    destination: str
    template: str
    template_version: str
    content_sha256: str
    balance_fen: int
    status: ReminderStatus
    claimed_at: AwareDatetime
    sent_at: AwareDatetime | None = None
    provider_message_id: str | None = None
    # what was sent, word for word: the email's subject and the text of the SMS, email or letter (personal: the
    # evidence export and the owner's own records carry it, never a log)
    subject: str | None = None
    text: str | None = None


class Collector(Record):
    """A member of staff who takes call and visit tasks (催缴人员分工): by building first, then community."""

    collector_id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    name: str
    role: Literal["collector", "site_manager"] = "collector"
    communities: tuple[str, ...] = ()
    buildings: tuple[str, ...] = ()
    open_tasks: NonNegativeInt = 0
    # how the morning digest of new tasks reaches them: email when they have one on record, else SMS
    phone: E164 | None = None
    email: str | None = None
    language: Language = "zh-CN"


class TaskOutcome(StrEnum):
    PROMISED = "promised"
    REFUSED = "refused"
    WRONG_NUMBER = "wrong_number"
    UNREACHABLE = "unreachable"
    PAID = "paid"  # the owner says so: finance verifies, nothing is marked paid from a call
    VISITED = "visited"  # the collector went to the door and spoke to the household: recorded, the ladder goes on
    REFERRED = "referred"  # a legal review's outcome: the lawyers take the case, reminders stop
    NOT_REFERRED = "not_referred"  # a legal review's outcome: collection goes on as before


class Task(Record):
    task_id: str
    unit_id: str
    community_id: str
    kind: Channel
    step: str
    collector_id: str
    status: Literal["open", "done"] = "open"
    created_at: AwareDatetime
    due_by: AwareDatetime
    unit_label: str
    # where the collector goes and whom they ask for, copied when the task is made so that a list needs no reads
    owner_name: str = ""
    community_name: str = ""
    building_name: str = ""
    room: str = ""
    call_number: str | None = None
    balance_fen: int
    overdue_since: date | None = None  # the oldest unpaid bill's due date
    outcome: TaskOutcome | None = None
    promised_date: date | None = None
    note: str = ""
    done_at: AwareDatetime | None = None


class ScheduledEvent(BaseModel):
    """What EventBridge Scheduler passes (see the Input of each schedule in the template)."""

    scheduled_time: AwareDatetime | None = None
    date: dt.date | None = None  # set by hand to (re)run a given local day
    communities: list[str] | None = None  # limit a run to these communities
    day_offset: int = 0  # -1: the day before the scheduled time (a report run just after midnight)

    def local_day(self, tz: ZoneInfo, fallback: datetime) -> dt.date:
        if self.date is not None:
            return self.date
        return (self.scheduled_time or fallback).astimezone(tz).date() + dt.timedelta(days=self.day_offset)


class PeriodTotal(Record):
    """Maintained per community and billing period: what was billed and what has been paid of it."""

    community_id: str
    period: Period
    billed_fen: int = 0
    paid_fen: int = 0
    bills: int = 0


class TicketStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Ticket(Record):
    """An owner's reply or email that a department must act on, with its deadline (工单)."""

    ticket_id: str = Field(pattern=r"^T\d{8}-[0-9A-F]{8}$")
    community_id: str  # "UNKNOWN" when the sender matched no unit
    unit_ids: tuple[str, ...] = ()
    department: str  # a propfee.feedback.intents.Department id
    intent: str
    category: str | None = None
    priority: Literal["urgent", "normal"] = "normal"
    status: TicketStatus = TicketStatus.OPEN
    channel: Literal["sms", "email", "wechat", "payment"]  # payment: an online payment held for finance (payments/)
    contact: str  # the number or address that wrote, to answer the owner (masked in every log)
    message: str = Field(max_length=2000)  # the owner's words
    created_at: AwareDatetime
    due_by: AwareDatetime
    escalated_at: AwareDatetime | None = None
    resolved_at: AwareDatetime | None = None
    resolution: str = ""
    hold: HoldKind | None = None  # the hold it placed on its units, released when it is resolved
    promise_date: date | None = None
    source_id: str  # the provider's id of the inbound message
    answers: str | None = None  # the reminder the owner replied to: "<unit>#<claim>"
    also: tuple[str, ...] = ()  # what else the message said: refuses_to_pay, payment_plan (a promise), ...
    guesses: tuple[str, ...] = ()  # the classifier was unsure: its two best guesses, for the person who decides
    assigned_to: str | None = None  # the clerk (Cognito sub) who claimed it in the console; None: new
    queued_replies: tuple[str, ...] = ()  # a clerk's answers written outside the contact window: the hourly run sends


class InboundMessage(Record):
    """What an owner sent us (SMS or email), kept as evidence with what was done about it."""

    source_id: str = Field(min_length=1, max_length=200)
    channel: Literal["sms", "email", "wechat"]
    sender: str  # E.164 number, email address, or wechat:<openid>
    recipient: str = ""  # our number or address
    body: str = Field(max_length=2000)  # what is classified: the first part of a longer text
    received_at: AwareDatetime
    answers_message_id: str | None = None  # the provider id of our message it replies to
    original: str | None = None  # s3://bucket/key of the message kept whole, as it came
    body_chars: NonNegativeInt | None = None  # the length of the owner's whole text, when it is known

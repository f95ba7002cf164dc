"""The parts of the reply classifier's rules file (intents.yaml), as validated records: the intents and the
departments they go to, a rule, the negation cues, the signals, what makes a complaint urgent and when the model
decides. The whole file is propfee.feedback.intent_rules; matching a rule is propfee.feedback.intent_matching.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Intent(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    PAID_CLAIM = "paid_claim"
    PAYMENT_PLAN = "payment_plan"
    BILL_DISPUTE = "bill_dispute"
    COMPLAINT = "complaint"
    WRONG_NUMBER = "wrong_number"
    THANKS = "thanks"
    UNKNOWN = "unknown"


class Department(StrEnum):
    """Ids only: each community configures the names and inboxes behind them."""

    CUSTOMER_SERVICE = "customer_service"
    ENGINEERING = "engineering"
    SECURITY = "security"
    ENVIRONMENT = "environment"
    FINANCE = "finance"
    LEGAL = "legal"
    SITE_MANAGER = "site_manager"


class Negation(BaseModel):
    """Cues that cancel a match right after them ("不要退订", "not paid"), with up to two filler words
    between the cue and the match ("我没说要退订", "have not yet paid")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    zh: tuple[str, ...]
    zh_between: tuple[str, ...] = ()
    en: tuple[str, ...] = ()
    en_between: tuple[str, ...] = ()
    not_cues: tuple[str, ...] = ()  # phrases that start like a cue but negate nothing ("不是说...吗")


class Signal(BaseModel):
    """Something said alongside an intent ("一分钱都不交"): patterns as a rule's, recorded, never an intent."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    zh: tuple[str, ...] = ()
    en: tuple[str, ...] = ()
    negatable: bool = True


class Urgency(BaseModel):
    """Which complaints are emergencies: decided per message, not by the category alone ("电梯里困了人" is, a
    lift that is merely slow is not)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    always: frozenset[str] = frozenset()  # categories urgent whatever is said: any smell of gas
    seasonal: dict[str, frozenset[int]] = {}  # urgent in these months: heating off in winter
    said: dict[str, Signal] = {}  # urgent in any category when the message says it: someone trapped, an outage
    mild: Signal = Signal()  # what makes an `always` or `seasonal` category no emergency ("暖气不够热")


class ModelThresholds(BaseModel):
    """When the statistical model (propfee.feedback.intent_model) decides and when a person must."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    decide_at: float = Field(default=0.5, gt=0, le=1)  # below: unknown, to a person with the two best guesses
    override_at: float = Field(default=0.5, gt=0, le=1)  # the model overrules what the rules found only above
    possible_opt_out_at: float = Field(default=0.2, gt=0, le=1)  # the model's opt-out probability that stops SMS
    opt_out_over_rules_at: float = Field(default=0.8, gt=0, le=1)  # a model's opt-out over the rules' other intent
    opt_out_alone_at: float = Field(default=0.7, gt=0, le=1)  # a model's opt-out where the rules found nothing
    category_at: float = Field(default=0.2, gt=0, le=1)  # a complaint category the rules did not name


class Rule(BaseModel):
    """One way of saying something. See the header of intents.yaml for what each field does."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
    intent: Intent
    zh: tuple[str, ...] = ()
    en: tuple[str, ...] = ()
    whole: frozenset[str] = frozenset()
    fuzzy: tuple[str, ...] = ()
    date: Literal["only", "to_pay"] | None = None
    unless: tuple[Intent, ...] = ()
    overrides: tuple[Intent, ...] = ()
    negatable: bool = True
    set_aside: tuple[str, ...] = ()  # a match read on: the words are not meant ("退订?我只是问问")
    # words right before a match that make it a question about it, not a request ("what happens if I unsubscribe")
    set_aside_before: tuple[str, ...] = ()
    # keywords also matched as they sound: each character or any of its `homophones` ("拒收" as "据受")
    sounds_like: tuple[str, ...] = ()
    category: str | None = None
    department: Department | None = None

    @model_validator(mode="after")
    def _sound(self) -> Rule:
        if self.intent is Intent.UNKNOWN:
            raise ValueError(f"rule {self.id}: 'unknown' is what no rule matched, not a rule's intent")
        if not (self.zh or self.en or self.whole or self.fuzzy or self.date or self.sounds_like):
            raise ValueError(f"rule {self.id}: give zh, en, whole, fuzzy, sounds_like or date")
        if Intent.OPT_OUT in self.overrides:
            raise ValueError(f"rule {self.id}: nothing overrides an opt-out (doubt resolves to stopping)")
        if self.category is not None and self.intent is not Intent.COMPLAINT:
            raise ValueError(f"rule {self.id}: only complaints have a category")
        for word in self.fuzzy:
            if not re.fullmatch(r"[a-z]{6,}", word):
                raise ValueError(f"rule {self.id}: fuzzy words are lower-case English words of 6+ letters: {word!r}")
        for pattern in (*self.zh, *self.en, *self.set_aside, *self.set_aside_before):
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"rule {self.id}: bad pattern {pattern!r}: {error}") from error
        return self

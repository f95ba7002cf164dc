"""The reply classifier's rules: what owners' replies say, as data (the packaged intents.yaml, or a file the
operator names), validated and compiled once; matching them is a few precompiled regular expressions over a
message's normalised text (propfee.feedback.intent_matching). Classifying with them (and the model) is
propfee.feedback.intents.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from propfee.feedback.intent_matching import Matcher, NegationCues, Reply
from propfee.feedback.intent_schema import Department, Intent, ModelThresholds, Negation, Rule, Signal, Urgency
from propfee.feedback.promise_dates import Dates

__all__ = ["IntentRules", "load_intent_rules", "parse_intent_rules"]


class IntentRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_chars: int = Field(default=400, ge=40)
    precedence: tuple[Intent, ...]
    departments: dict[Intent, Department | None]
    aliases: dict[str, str] = {}
    # characters typed for another by ear or by the IME (a rule's `sounds_like` keywords match through them)
    homophones: dict[str, str] = {}
    negation: Negation
    date_fillers: tuple[str, ...] = ()
    rules: tuple[Rule, ...]
    signals: dict[str, Signal] = {}
    urgency: Urgency = Urgency()
    categories: dict[str, Department] = {}
    model: ModelThresholds = ModelThresholds()
    _compiled: tuple[tuple[Matcher, ...], NegationCues, re.Pattern[str], tuple[Matcher, ...]] = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        fillers = re.compile(f"(?:{'|'.join(self.date_fillers)})*") if self.date_fillers else re.compile("")
        # a signal is matched as a rule is; the rule's intent is a placeholder, never reported
        # the urgency cues are signals too, named urgent.<name> and urgent.mild
        said = {
            **self.signals,
            **{f"urgent.{name}": signal for name, signal in self.urgency.said.items()},
            "urgent.mild": self.urgency.mild,
        }
        signals = tuple(
            Matcher.of(Rule(id=f"signal.{name}", intent=Intent.COMPLAINT, **signal.model_dump()))
            for name, signal in said.items()
            if signal.zh or signal.en
        )
        self._compiled = (
            tuple(Matcher.of(rule, self.homophones) for rule in self.rules),
            NegationCues.of(self.negation),
            fillers,
            signals,
        )

    @model_validator(mode="after")
    def _complete(self) -> IntentRules:
        ranked = [intent for intent in self.precedence if intent is not Intent.UNKNOWN]
        missing = set(Intent) - {Intent.UNKNOWN} - set(ranked)
        if missing or len(ranked) != len(set(ranked)):
            raise ValueError(f"precedence must name every intent once; missing {sorted(missing)}")
        if missing := set(Intent) - set(self.departments):
            raise ValueError(f"departments: give every intent a department or null; missing {sorted(missing)}")
        ids = [rule.id for rule in self.rules]
        if duplicated := sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"rule ids must be unique: {duplicated}")
        for char, heard in self.homophones.items():
            if len(char) != 1 or not heard or char in heard:
                raise ValueError(f"homophones: one character to the others typed for it; not {char!r}: {heard!r}")
        for filler in self.date_fillers:
            try:
                re.compile(filler)
            except re.error as error:
                raise ValueError(f"date_fillers: bad pattern {filler!r}: {error}") from error
        return self

    def urgent(self, category: str | None, said: frozenset[str], today: date) -> bool:
        """Whether a complaint is an emergency now: what it says, else its category (gas; heating in winter)."""
        if any(signal.startswith("urgent.") and signal != "urgent.mild" for signal in said):
            return True
        if category is None or "urgent.mild" in said:
            return False
        return category in self.urgency.always or today.month in self.urgency.seasonal.get(category, ())

    def prepare(self, text: str) -> str:
        """Cut a long message, keeping its beginning and its end (where "退订" often stands); spell out
        the emoji that mean something."""
        if len(text) > self.max_chars:
            head = self.max_chars * 3 // 4
            text = f"{text[:head]} {text[-(self.max_chars - head) :]}"
        for alias, meaning in self.aliases.items():
            text = text.replace(alias, f" {meaning} ")
        return text

    def matched(self, raw: str, normalized: str, dates: Dates) -> list[Rule]:
        """The rules that match, in file order."""
        return self.read(raw, normalized, dates)[0]

    @staticmethod
    def _refusal_said_last(
        found: list[Rule], by_rule: dict[str, Matcher], reply: Reply, negation: NegationCues
    ) -> list[Rule]:
        """An opt-out rule `unless: [opt_in]` and a wish to keep the messages in one reply: the one said last
        stands. "手滑回了TD，请继续发" keeps them (the opt-out rule is dropped as `unless` says); "if you keep
        texting me ... Stop now." refuses (the opt-in is dropped, and the refusal no longer waits on it)."""

        def last(intent: Intent) -> tuple[int, int]:
            spans = [by_rule[r.id].last_span(reply, negation) for r in found if r.intent is intent]
            return max(s for s, _ in spans), max(e for _, e in spans)

        # the refusal must start after the wish has ended: "别把我的短信关了" is one wish, not a wish and a refusal
        if last(Intent.OPT_OUT)[0] < last(Intent.OPT_IN)[1]:
            return found
        return [
            rule.model_copy(update={"unless": tuple(i for i in rule.unless if i is not Intent.OPT_IN)})
            if rule.intent is Intent.OPT_OUT
            else rule
            for rule in found
            if rule.intent is not Intent.OPT_IN
        ]

    def read(
        self, raw: str, normalized: str, dates: Dates
    ) -> tuple[list[Rule], frozenset[str], frozenset[str], frozenset[Intent]]:
        """The rules that match (in file order), the signals found, the reply's date facts and the intents
        whose words are there but negated ("没有漏水", "havent paid")."""
        matchers, negation, fillers, signals = self._compiled
        reply = Reply.of(raw, normalized, dates, fillers)
        found, negated, by_rule = [], set(), {}
        for matcher in matchers:
            read = matcher.reads(reply, negation)
            if read:
                found.append(matcher.rule)
                by_rule[matcher.rule.id] = matcher
            elif read is None:
                negated.add(matcher.rule.intent)
        firm = {rule.intent for rule in found if not rule.unless}
        if Intent.OPT_IN in firm and any(r.intent is Intent.OPT_OUT and Intent.OPT_IN in r.unless for r in found):
            found = self._refusal_said_last(found, by_rule, reply, negation)
            firm = {rule.intent for rule in found if not rule.unless}
        # "漏水修好了，谢谢师傅": a rule that reads the whole message may set aside what its words say
        overridden = {intent for rule in found for intent in rule.overrides}
        found = [rule for rule in found if rule.intent not in overridden]
        said = frozenset(m.rule.id.removeprefix("signal.") for m in signals if m.matches(reply, negation))
        negated -= {rule.intent for rule in found}
        return [rule for rule in found if not firm.intersection(rule.unless)], said, reply.dates, frozenset(negated)


def parse_intent_rules(text: str) -> IntentRules:
    loaded = yaml.safe_load(text) or {}
    if not isinstance(loaded, dict):
        raise ValueError("the intent rules file must be a mapping")
    return IntentRules.model_validate(loaded)


@cache
def load_intent_rules(path: Path | None = None) -> IntentRules:
    if path is None:
        return parse_intent_rules(
            resources.files("propfee.feedback").joinpath("intents.yaml").read_text(encoding="utf-8")
        )
    return parse_intent_rules(path.read_text(encoding="utf-8"))

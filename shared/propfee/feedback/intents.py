"""What an owner means by a reply to a reminder: intent, department, complaint category and promised date.

Pure: the rules (propfee.feedback.intent_rules) find what a message says; the model
(propfee.feedback.intent_model), which sees the text and what the rules found, decides all but an opt-out. The
rules' names are importable from here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from propfee.feedback.intent_evaluation import evaluate
from propfee.feedback.intent_matching import normalize
from propfee.feedback.intent_model import IntentModel, features, load_intent_model
from propfee.feedback.intent_rules import IntentRules, load_intent_rules, parse_intent_rules
from propfee.feedback.intent_schema import Department, Intent, Rule
from propfee.feedback.promise_dates import Dates, read_dates

__all__ = [
    "Classification",
    "Department",
    "Intent",
    "IntentRules",
    "classify",
    "evaluate",
    "load_intent_rules",
    "normalize",
    "parse_intent_rules",
    "rule_view",
]


class Classification(BaseModel):
    model_config = ConfigDict(frozen=True)

    intent: Intent
    department: Department | None = None
    category: str | None = None  # complaints only: leak, lift, noise, parking, cleaning, pests, ...
    promise_date: date | None = None  # the date the owner says they will pay, whatever the intent
    matched_rule: str | None = None  # the rule that decided; None when nothing matched (unknown)
    also_detected: tuple[Intent, ...] = ()  # the other intents present, in precedence order
    refuses_to_pay: bool = False  # "修好再交", "一分钱都不交": recorded on the ticket of what it is about
    # a complaint about an emergency now (a smell of gas, someone trapped, a total outage, no heating in winter,
    # a break-in under way): decided per message (intents.yaml `urgency`), not by the category alone
    urgent: bool = False
    # the model thinks this may be a refusal of messages the rules did not recognise: SMS to the number stops
    # and the owner is asked once to confirm (doubt resolves to stopping, never to sending)
    possible_opt_out: bool = False
    decided_by: Literal["rules", "model", "person"] = "rules"  # person: low confidence, a person reads it
    confidence: int | None = None  # the model's, in percent, when it was asked
    guesses: tuple[Intent, ...] = ()  # the model's two best guesses, for the person who decides


# ---------------------------------------------------------------------------------------------- classifying


@dataclass(frozen=True, slots=True)
class _Read:
    prepared: str
    normalized: str
    dates: Dates
    matched: list[Rule]
    signals: frozenset[str]
    date_facts: frozenset[str]
    negated: frozenset[Intent]
    present: list[Intent]


def _read(text: str, today: date, rules: IntentRules) -> _Read:
    prepared = rules.prepare(text)
    normalized = normalize(prepared)
    dates = read_dates(normalized, today)
    matched, signals, date_facts, negated = rules.read(prepared, normalized, dates)
    present = [intent for intent in rules.precedence if any(rule.intent is intent for rule in matched)]
    return _Read(prepared, normalized, dates, matched, signals, date_facts, negated, present)


def _model_features(read: _Read) -> set[str]:
    first = read.present[0].value if read.present else None
    found = [rule.id for rule in read.matched] + [f"not.{intent.value}" for intent in sorted(read.negated)]
    return features(read.normalized, found, first, read.date_facts, read.prepared)


def rule_view(text: str, today: date, rules: IntentRules | None = None) -> set[str]:
    """What the model is trained on for a message: its text and what the rules found in it."""
    return _model_features(_read(text, today, rules or load_intent_rules()))


def _by_rules(read: _Read, rules: IntentRules) -> Classification:
    refuses = "refuses_to_pay" in read.signals
    if not read.present:
        return Classification(
            intent=Intent.UNKNOWN, department=rules.departments[Intent.UNKNOWN], refuses_to_pay=refuses
        )
    intent = read.present[0]
    candidates = [rule for rule in read.matched if rule.intent is intent]
    # a complaint's category (and so its department) comes from the first categorised rule that matched
    deciding = next((rule for rule in candidates if rule.category), candidates[0])
    return Classification(
        intent=intent,
        department=deciding.department or rules.departments[intent],
        category=deciding.category,
        promise_date=read.dates.promise if Intent.PAYMENT_PLAN in read.present else None,
        matched_rule=deciding.id,
        also_detected=tuple(read.present[1:]),
        refuses_to_pay=refuses,
    )


def classify(
    text: str, today: date, rules: IntentRules | None = None, model: IntentModel | bool | None = True
) -> Classification:
    """The owner's intent, with the department that should act on it.

    The rules decide an opt-out (exact, and never overruled); the model, which sees the text and what the
    rules found, decides the rest. When the model is unsure the message goes to a person with its two best
    guesses; when it thinks the message may refuse messages, SMS stops (`possible_opt_out`).
    `model=False` classifies by the rules alone; `True` uses the packaged model."""
    rules = rules or load_intent_rules()
    read = _read(text, today, rules)
    result = _decide(read, rules, model)
    if result.intent is Intent.COMPLAINT and rules.urgent(result.category, read.signals, today):
        return result.model_copy(update={"urgent": True})
    return result


def _decide(read: _Read, rules: IntentRules, model: IntentModel | bool | None) -> Classification:
    by_rules = _by_rules(read, rules)
    if by_rules.intent is Intent.OPT_OUT or model is False or not rules.model.enabled:
        return by_rules
    model = load_intent_model() if model is True or model is None else model
    thresholds = rules.model
    seen = _model_features(read)
    prediction = model.intent.predict(seen)
    best, confidence = Intent(prediction.best), prediction.confidence
    # for the person who decides: the model's two best guesses that are intents ("unknown" tells them nothing)
    guesses = tuple(Intent(c) for c, _ in prediction.ranked if c != Intent.UNKNOWN.value)[:2]
    opt_out_p = prediction.probability(Intent.OPT_OUT.value)
    # "不要退订" / "stopped by mistake": an exact wish to keep the messages is no doubt
    keeps = by_rules.intent is Intent.OPT_IN or Intent.OPT_OUT in read.negated
    possible_opt_out = opt_out_p >= thresholds.possible_opt_out_at and not keeps
    common = {"confidence": round(confidence * 100), "refuses_to_pay": by_rules.refuses_to_pay}
    if best is Intent.OPT_OUT:
        # over what the rules found ("我要投诉", "已经交了"), only when very sure: the words of angry refusals are
        # those of complaints too; below that SMS stops all the same (possible_opt_out) and the ticket opens
        sure = thresholds.opt_out_alone_at if by_rules.intent is Intent.UNKNOWN else thresholds.opt_out_over_rules_at
        # the rules saw the refusal and the operator's precedence ranked another intent first: the model may
        # not reorder what the rules file decided (SMS still stops: possible_opt_out)
        ranked_by_operator = Intent.OPT_OUT in read.present
        if confidence >= sure and not keeps and not ranked_by_operator:
            # the model is sure of a refusal the rules did not see: stopped like any opt-out
            return Classification(intent=Intent.OPT_OUT, decided_by="model", **common)
        # not sure enough to call it an opt-out: SMS stops all the same (possible_opt_out) and the message is
        # read as its next most likely intent, the owner asked to confirm
        best, confidence = Intent(prediction.ranked[1][0]), prediction.ranked[1][1]
    overruled = by_rules.intent is not Intent.UNKNOWN and best is not by_rules.intent
    if best in read.negated:
        best = by_rules.intent  # "没有漏水", "havent paid": the negation is exact, the model may not undo it
    elif overruled and confidence < thresholds.override_at:
        best = by_rules.intent  # the rules' verdict stands
    elif confidence < thresholds.decide_at and best is not by_rules.intent:
        return Classification(
            intent=Intent.UNKNOWN,
            department=rules.departments[Intent.UNKNOWN],
            promise_date=by_rules.promise_date,
            also_detected=tuple(i for i in read.present if i is not Intent.UNKNOWN),
            possible_opt_out=possible_opt_out,
            decided_by="person",
            guesses=guesses,
            **common,
        )
    if best is by_rules.intent:
        update: dict[str, Any] = {"possible_opt_out": possible_opt_out, "confidence": common["confidence"]}
        if best is Intent.UNKNOWN:  # a person reads it: with the model's guesses
            update["guesses"] = guesses
        if best is Intent.COMPLAINT and by_rules.category is None:
            update.update(_named_category(model, seen, rules))
        return by_rules.model_copy(update=update)
    category = None
    department = rules.departments[best]
    if best is Intent.COMPLAINT:
        rule = next((r for r in read.matched if r.intent is Intent.COMPLAINT and r.category), None)
        if rule is not None:
            category, department = rule.category, rule.department or department
        else:
            named = _named_category(model, seen, rules)
            category, department = named.get("category"), named.get("department", department)
    present = [i for i in read.present if i is not best]
    promises = best is Intent.PAYMENT_PLAN or Intent.PAYMENT_PLAN in read.present
    return Classification(
        intent=best,
        department=department,
        category=category,
        promise_date=read.dates.promise if promises else None,
        also_detected=tuple(present),
        possible_opt_out=possible_opt_out,
        decided_by="model",
        **common,
    )


def _named_category(model: IntentModel, seen: set[str], rules: IntentRules) -> dict[str, Any]:
    """A complaint's category when no rule named one: the model's, if it is sure enough."""
    named = model.category.predict(seen)
    if named.confidence >= rules.model.category_at and named.best in rules.categories:
        return {"category": named.best, "department": rules.categories[named.best]}
    return {}

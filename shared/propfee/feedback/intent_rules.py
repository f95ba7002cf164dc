"""The reply classifier's rules: what owners' replies say, as data (the packaged intents.yaml, or a file the
operator names), validated and compiled once; matching them is a few precompiled regular expressions over a
message's normalised text. Classifying with them (and the model) is propfee.feedback.intents.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
import zhconv
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator
from rapidfuzz.distance import OSA

from propfee.feedback.promise_dates import Dates

__all__ = [
    "Department",
    "Intent",
    "IntentRules",
    "ModelThresholds",
    "Negation",
    "Rule",
    "Signal",
    "Urgency",
    "load_intent_rules",
    "normalize",
    "parse_intent_rules",
]


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


# ---------------------------------------------------------------------------------------------- normalising

_APOSTROPHES = re.compile(r"['‘’`´]")  # "don't" -> "dont": English patterns need no apostrophes
_NOISE = re.compile(r"[^\w?./:\-]|_")  # emoji, symbols, punctuation, marks, controls -> a space
_LONE_SEPARATOR = re.compile(r"(?<!\d)[./:\-]|[./:\-](?!\d)")  # kept only inside "12.10", "12/10", "2026-12-10"
_QUESTION_MARKS = re.compile(r"\s*\?[\s?]*")
_SPACES = re.compile(r"\s+")
_UNNEEDED_SPACE = re.compile(r"(?<![a-z0-9]) | (?![a-z0-9])")  # only a space between two words carries meaning
# "STOP. Already paid." is two clauses; `whole` entries are short, so only short clauses are compared
_CLAUSE_END = re.compile(r"[,.!?;:，。！？；：、…\n]+(?!\d)")
# pinyin typed with its tones ("tuì dìng") reads as pinyin without them ("tui ding")
_TONELESS = str.maketrans("āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü", "aaaaeeeeiiiioooouuuuuuuuu")


def normalize(text: str) -> str:
    """The text rules are written against: NFKC (full-width -> half-width), simplified Chinese, lower case,
    pinyin's tone marks dropped;
    emoji, punctuation and spaces dropped, except one space between English words, "?" and the separators of
    a numeric date ("12.10", "12/10", "2026-12-10")."""
    text = unicodedata.normalize("NFKC", text).replace("。", ".")
    text = zhconv.convert(text, "zh-cn").lower().translate(_TONELESS)
    text = _NOISE.sub(" ", _APOSTROPHES.sub("", text))
    text = _QUESTION_MARKS.sub("?", _LONE_SEPARATOR.sub(" ", text))
    return _UNNEEDED_SPACE.sub("", _SPACES.sub(" ", text).strip())


# ---------------------------------------------------------------------------------------------- the rules

_ASIDE_REACH = 20  # how far after a match a set-aside cue may reach (a short clause)
_WORD = re.compile(r"[a-z]{6,}")  # only longer English words are matched with a typo: short ones collide
_LATIN = re.compile(r"[a-z]")


def _typo_of(word: str, target: str) -> bool:
    """One edit away (two for long words), transpositions included, same first letter ("unsubscibe")."""
    if word[0] != target[0] or abs(len(word) - len(target)) > 1:
        return False
    allowed = 2 if len(target) >= 9 else 1
    return OSA.distance(word, target, score_cutoff=allowed) <= allowed


def _sounding(keyword: str, homophones: dict[str, str]) -> str:
    """A keyword as a pattern matching it as typed by ear or by a slip of the IME: each character, or one of
    the characters that sound (or look) like it ("退订" also as "退定", "腿订"; "拒收" as "据受")."""
    # "^" and "$" anchor a keyword that alone is one ("^取消$") but inside a sentence means other things
    return "".join(char if char in "^$" else f"[{re.escape(char + homophones.get(char, ''))}]" for char in keyword)


_CANCEL_CUES = frozenset({"取消", "撤销"})


def _alternation(words: tuple[str, ...]) -> str:
    """Longest first, so that "不要" is tried before "不"."""
    return "|".join(sorted(words, key=len, reverse=True))


class Negation(BaseModel):
    """Cues that cancel a match right after them ("不要退订", "not paid"), with up to two filler words
    between the cue and the match ("我没说要退订", "have not yet paid")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    zh: tuple[str, ...]
    zh_between: tuple[str, ...] = ()
    en: tuple[str, ...] = ()
    en_between: tuple[str, ...] = ()
    not_cues: tuple[str, ...] = ()  # phrases that start like a cue but negate nothing ("不是说...吗")


@dataclass(frozen=True, slots=True)
class _Negation:
    cue: re.Pattern[str]
    not_cues: tuple[str, ...]
    opening: re.Pattern[str]  # a cue where a match starts: the match is itself a refusal ("别再发了")

    @classmethod
    def of(cls, negation: Negation) -> _Negation:
        parts = [f"(?:{_alternation(negation.zh)})(?:{_alternation(negation.zh_between)}){{0,2}}$"]
        if negation.en:
            between = f"(?:(?:{_alternation(negation.en_between)}) ){{0,2}}"
            parts.append(f"(?<![a-z])(?:{_alternation(negation.en)}) {between}$")
        # not "取消" / "撤销": cues of "cancel", which open refusals and questions about them alike
        refusing = tuple(cue for cue in negation.zh if cue not in _CANCEL_CUES)
        english = f"|(?:{_alternation(negation.en)})(?![a-z])" if negation.en else ""
        opening = re.compile(f"(?:{_alternation(refusing)}){english}")
        return cls(re.compile("|".join(parts)), negation.not_cues, opening)

    def opens(self, text: str, start: int) -> bool:
        """Whether a match begins with a negation cue of its own ("别再发了", "不要再传了"): a cue before it
        ("不需要！别再发了", "不是我，别发", whose punctuation normalising dropped) negates nothing then."""
        return self.opening.match(text, start) is not None

    def cancels(self, text: str, start: int) -> bool:
        """Whether a cue ends right where a match starts."""
        found = self.cue.search(text, max(0, start - 16), start)
        if found is None:
            return False
        at = found.start()
        if 0 < at < len(text) - 1 and text[at - 1] == text[at + 1]:
            return False  # an A-not-A question asks, it does not negate: "有没有", "要不要", "可不可以"
        return not text.startswith(self.not_cues, at)


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


@dataclass(frozen=True, slots=True)
class _Reply:
    """A reply, read once: normalised, its clauses, its English words and what it says about dates."""

    text: str
    clauses: frozenset[str]
    latin: bool
    words: tuple[re.Match[str], ...]
    dates: frozenset[str]  # "to_pay": a date tied to a pay verb; "only": nothing but a date


@dataclass(frozen=True, slots=True)
class _Matcher:
    """A rule compiled once, with plain attributes (pydantic's private ones are slow to read): one regular
    expression per language; the English one runs only on text with Latin letters."""

    rule: Rule
    zh: re.Pattern[str] | None
    en: re.Pattern[str] | None
    set_aside: re.Pattern[str] | None
    set_aside_before: re.Pattern[str] | None

    @classmethod
    def of(cls, rule: Rule, homophones: dict[str, str] | None = None) -> _Matcher:
        heard = tuple(_sounding(keyword, homophones or {}) for keyword in rule.sounds_like)
        zh_patterns = (*rule.zh, *heard)
        zh = re.compile("|".join(f"(?:{p})" for p in zh_patterns)) if zh_patterns else None
        # English patterns must stand as words, even inside Chinese text ("已经paid了")
        en = re.compile(rf"(?<![a-z])(?:{'|'.join(f'(?:{p})' for p in rule.en)})(?![a-z])") if rule.en else None
        aside = re.compile("|".join(f"(?:{p})" for p in rule.set_aside)) if rule.set_aside else None
        before = rule.set_aside_before
        aside_before = re.compile(f"(?:{'|'.join(f'(?:{p})' for p in before)})$") if before else None
        return cls(rule, zh, en, aside, aside_before)

    def set_aside_at(self, text: str, found: re.Match[str]) -> bool:
        """Whether the words matched, read on a little (or the words right before them), say they are not
        meant: "退订?我只是问问", "别烦我,我在开会", "what happens if I unsubscribe". A cue is matched where the
        match starts (or ends where it starts); only that occurrence is set aside, another one elsewhere in the
        reply still counts."""
        cue, before = self.set_aside, self.set_aside_before
        if before is not None and before.search(text, max(0, found.start() - _ASIDE_REACH), found.start()):
            return True
        return cue is not None and cue.match(text, found.start(), found.end() + _ASIDE_REACH) is not None

    def matches(self, reply: _Reply, negation: _Negation) -> bool:
        return self.reads(reply, negation) is True

    def reads(self, reply: _Reply, negation: _Negation) -> bool | None:
        """True when the rule matches; None when its words are there but every occurrence is negated."""
        rule, text = self.rule, reply.text
        if rule.date in reply.dates or not rule.whole.isdisjoint(reply.clauses):
            return True
        negated = False
        # a refusal worded with a negation of its own is not undone by one before it (doubt resolves to stopping)
        refusal = rule.intent is Intent.OPT_OUT
        for pattern in (self.zh, self.en if reply.latin else None):
            found = pattern.search(text) if pattern is not None else None
            while found is not None:
                if self.set_aside_at(text, found):
                    negated = True
                elif (
                    not rule.negatable
                    or (refusal and negation.opens(text, found.start()))
                    or not negation.cancels(text, found.start())
                ):
                    return True
                else:
                    negated = True
                found = found.re.search(text, found.start() + 1)  # a later, or overlapping, occurrence may count
        typos = (word for word in reply.words if any(_typo_of(word.group(), target) for target in rule.fuzzy))
        for word in typos:
            if self.set_aside_at(text, word) or (rule.negatable and negation.cancels(text, word.start())):
                negated = True
            else:
                return True
        return None if negated else False

    def last_span(self, reply: _Reply, negation: _Negation) -> tuple[int, int]:
        """Where the occurrences that count start last and end last in the reply ((-1, -1): none; a date or a
        clause that is the whole reply spans all of it)."""
        rule, text = self.rule, reply.text
        spans = [(0, len(text))] if rule.date in reply.dates else []
        for clause in rule.whole.intersection(reply.clauses):
            at = text.rfind(clause)
            spans.append((at, at + len(clause)) if at >= 0 else (0, len(text)))
        for pattern in (self.zh, self.en if reply.latin else None):
            for found in pattern.finditer(text) if pattern is not None else ():
                if self.set_aside_at(text, found):
                    continue
                counts = not rule.negatable or not negation.cancels(text, found.start())
                if counts or (rule.intent is Intent.OPT_OUT and negation.opens(text, found.start())):
                    spans.append(found.span())
        for word in reply.words:
            if any(_typo_of(word.group(), target) for target in rule.fuzzy) and not self.set_aside_at(text, word):
                spans.append(word.span())
        return (max(s for s, _ in spans), max(e for _, e in spans)) if spans else (-1, -1)


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
    _compiled: tuple[tuple[_Matcher, ...], _Negation, re.Pattern[str], tuple[_Matcher, ...]] = PrivateAttr()

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
            _Matcher.of(Rule(id=f"signal.{name}", intent=Intent.COMPLAINT, **signal.model_dump()))
            for name, signal in said.items()
            if signal.zh or signal.en
        )
        self._compiled = (
            tuple(_Matcher.of(rule, self.homophones) for rule in self.rules),
            _Negation.of(self.negation),
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
        found: list[Rule], by_rule: dict[str, _Matcher], reply: _Reply, negation: _Negation
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
        latin = _LATIN.search(normalized) is not None
        reply = _Reply(
            text=normalized,
            clauses=frozenset({normalized, *(normalize(part) for part in _CLAUSE_END.split(raw) if len(part) <= 30)}),
            latin=latin,
            words=tuple(_WORD.finditer(normalized)) if latin else (),
            dates=_date_facts(dates, fillers),
        )
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


def _date_facts(dates: Dates, fillers: re.Pattern[str]) -> frozenset[str]:
    facts = set()
    if any(stated.to_pay for stated in dates.stated):
        facts.add("to_pay")
    if dates.stated and fillers.fullmatch(dates.rest):
        facts.add("only")
    return frozenset(facts)


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

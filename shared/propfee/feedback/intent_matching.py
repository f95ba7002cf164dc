"""Matching the reply classifier's rules: a reply's text normalised and read once (its clauses, English words
and date facts), each rule compiled once to a few regular expressions, with its negation and set-aside cues and
the typos it forgives. The rules themselves are propfee.feedback.intent_rules.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import zhconv
from rapidfuzz.distance import OSA

from propfee.feedback.intent_schema import Intent, Negation, Rule
from propfee.feedback.promise_dates import Dates

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


@dataclass(frozen=True, slots=True)
class NegationCues:
    cue: re.Pattern[str]
    not_cues: tuple[str, ...]
    opening: re.Pattern[str]  # a cue where a match starts: the match is itself a refusal ("别再发了")

    @classmethod
    def of(cls, negation: Negation) -> NegationCues:
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


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply, read once: normalised, its clauses, its English words and what it says about dates."""

    text: str
    clauses: frozenset[str]
    latin: bool
    words: tuple[re.Match[str], ...]
    dates: frozenset[str]  # "to_pay": a date tied to a pay verb; "only": nothing but a date

    @classmethod
    def of(cls, raw: str, normalized: str, dates: Dates, fillers: re.Pattern[str]) -> Reply:
        latin = _LATIN.search(normalized) is not None
        return cls(
            text=normalized,
            clauses=frozenset({normalized, *(normalize(part) for part in _CLAUSE_END.split(raw) if len(part) <= 30)}),
            latin=latin,
            words=tuple(_WORD.finditer(normalized)) if latin else (),
            dates=_date_facts(dates, fillers),
        )


@dataclass(frozen=True, slots=True)
class Matcher:
    """A rule compiled once, with plain attributes (pydantic's private ones are slow to read): one regular
    expression per language; the English one runs only on text with Latin letters."""

    rule: Rule
    zh: re.Pattern[str] | None
    en: re.Pattern[str] | None
    set_aside: re.Pattern[str] | None
    set_aside_before: re.Pattern[str] | None

    @classmethod
    def of(cls, rule: Rule, homophones: dict[str, str] | None = None) -> Matcher:
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

    def matches(self, reply: Reply, negation: NegationCues) -> bool:
        return self.reads(reply, negation) is True

    def reads(self, reply: Reply, negation: NegationCues) -> bool | None:
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

    def last_span(self, reply: Reply, negation: NegationCues) -> tuple[int, int]:
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


def _date_facts(dates: Dates, fillers: re.Pattern[str]) -> frozenset[str]:
    facts = set()
    if any(stated.to_pay for stated in dates.stated):
        facts.add("to_pay")
    if dates.stated and fillers.fullmatch(dates.rest):
        facts.add("only")
    return frozenset(facts)

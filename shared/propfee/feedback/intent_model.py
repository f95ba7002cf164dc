"""The statistical half of the reply classifier: character n-grams and a linear model, in pure Python.

The rules (propfee.feedback.intents) are exact where they must be (opt-out, negations, keywords); this model reads
what they miss: a roof that leaks when it rains, "paid in the app just now", a refusal in Cantonese. It is
trained at build time with scikit-learn (a development dependency) from the training corpora, and its
weights are shipped in the package as intent_model.json; at run time only that file is read, with no numpy
or scikit-learn (the Lambda layer has neither).

Training (propfee.feedback.intent_training, not in the layer) writes that file:
python -m propfee.feedback.intent_training train
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Any

__all__ = ["IntentModel", "Prediction", "features", "load_intent_model"]

MODEL_FILE = "intent_model.json"
FORMAT = 2  # 2: numbers by their shape, English word pairs
NGRAMS = (1, 2, 3)
SCALE = 1000  # weights are stored as integers: thousandths
_LATIN_WORD = re.compile(r"[a-z]+")
DIGIT_SHAPES = True  # "12月10号", "13812345678", "¥1280": the shape of a number, not its digits
WORD_NGRAMS = 2  # English words, and pairs of them ("stop sending", "not paid")
_DIGITS = re.compile(r"\d+")


def _digit_shape(found: re.Match[str]) -> str:
    """A run of digits as its length class: a day or a count, a year or an amount, a phone or an account."""
    n = len(found.group())
    return "0" if n <= 2 else "00" if n <= 4 else "000"


def features(
    normalized: str, rule_ids: Iterable[str], first_intent: str | None, date_facts: Iterable[str], raw: str = ""
) -> set[str]:
    """What the model sees of a reply: its character 1-3-grams (with the message's start and end marked, and
    numbers by their shape), its English words and pairs of words, its emoji (normalising drops them), and what
    the rules found (each rule that matched, the rules' own verdict, the dates). The text is the rules' own
    normalised text: full-width -> half-width, traditional -> simplified, lower case
    (propfee.feedback.intent_matching)."""
    shaped = _DIGITS.sub(_digit_shape, normalized) if DIGIT_SHAPES and len(normalized) > 4 else normalized
    text = f"^{shaped}$"
    found = {text[i : i + n] for n in NGRAMS for i in range(len(text) - n + 1)}
    found.update(f"e:{ch}" for ch in raw if unicodedata.category(ch) == "So")
    words = _LATIN_WORD.findall(normalized)
    found.update(f"w:{word}" for word in words)
    if WORD_NGRAMS >= 2:
        found.update(f"w:{a} {b}" for a, b in pairwise(words))
    found.update(f"r:{rule_id}" for rule_id in rule_ids)
    found.add(f"R:{first_intent or 'none'}")
    found.update(f"d:{fact}" for fact in date_facts)
    if len(normalized) <= 4:
        found.add("short")
    return found


@dataclass(frozen=True, slots=True)
class Prediction:
    """Classes with their probabilities, best first."""

    ranked: tuple[tuple[str, float], ...]

    @property
    def best(self) -> str:
        return self.ranked[0][0]

    @property
    def confidence(self) -> float:
        return self.ranked[0][1]

    def probability(self, label: str) -> float:
        return next((p for c, p in self.ranked if c == label), 0.0)


@dataclass(frozen=True, slots=True)
class _Head:
    """One linear model: per class a bias, per feature a flat list of (class, weight) pairs, all integers in
    thousandths, kept as the JSON gives them (no conversion at cold start)."""

    classes: tuple[str, ...]
    bias: tuple[int, ...]
    weights: dict[str, list[int]]

    @classmethod
    def of(cls, data: dict[str, Any]) -> _Head:
        return cls(tuple(data["classes"]), tuple(data["bias"]), data["weights"])

    def predict(self, seen: set[str]) -> Prediction:
        scores = list(self.bias)
        weights = self.weights
        for feature in seen:
            pairs = weights.get(feature)
            if pairs is not None:
                for i in range(0, len(pairs), 2):
                    scores[pairs[i]] += pairs[i + 1]
        top = max(scores)
        exps = [math.exp((s - top) / SCALE) for s in scores]
        total = sum(exps)
        ranked = sorted(((c, e / total) for c, e in zip(self.classes, exps, strict=True)), key=lambda x: -x[1])
        return Prediction(tuple(ranked))


@dataclass(frozen=True, slots=True)
class IntentModel:
    intent: _Head
    category: _Head  # complaints only

    @classmethod
    def parse(cls, text: str) -> IntentModel:
        data = json.loads(text)
        if data.get("format") != FORMAT:
            raise ValueError(f"intent model format {data.get('format')!r}, expected {FORMAT}: retrain it")
        return cls(_Head.of(data["intent"]), _Head.of(data["category"]))


@cache
def load_intent_model(path: Path | None = None) -> IntentModel:
    """Read once per process (the cold start of a function that classifies)."""
    if path is None:
        return IntentModel.parse(resources.files("propfee.feedback").joinpath(MODEL_FILE).read_text(encoding="utf-8"))
    return IntentModel.parse(path.read_text(encoding="utf-8"))

"""The statistical half of the reply classifier: character n-grams and a linear model, in pure Python.

The rules (propfee.intents) are exact where they must be (opt-out, negations, keywords); this model reads
what they miss: a roof that leaks when it rains, "paid in the app just now", a refusal in Cantonese. It is
trained at build time with scikit-learn (a development dependency) from the training corpora, and its
weights are shipped in the package as intent_model.json; at run time only that file is read, with no numpy
or scikit-learn (the Lambda layer has neither).

Retrain after changing the corpora or the rules (the rules' matches are features too):
    python -m propfee.intent_model train
The same corpora and rules give the same file byte for byte (a test retrains and compares).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["IntentModel", "Prediction", "features", "load_intent_model", "main", "train"]

MODEL_FILE = "intent_model.json"
FORMAT = 1
NGRAMS = (1, 2, 3)
SCALE = 1000  # weights are stored as integers: thousandths
_LATIN_WORD = re.compile(r"[a-z]+")


def features(
    normalized: str, rule_ids: Iterable[str], first_intent: str | None, date_facts: Iterable[str], raw: str = ""
) -> set[str]:
    """What the model sees of a reply: its character 1-3-grams (with the message's start and end marked),
    its English words, its emoji (normalising drops them), and what the rules found (each rule that matched,
    the rules' own verdict, the dates)."""
    text = f"^{normalized}$"
    found = {text[i : i + n] for n in NGRAMS for i in range(len(text) - n + 1)}
    found.update(f"e:{ch}" for ch in raw if unicodedata.category(ch) == "So")
    found.update(f"w:{word}" for word in _LATIN_WORD.findall(normalized))
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
        return IntentModel.parse(resources.files("propfee").joinpath(MODEL_FILE).read_text(encoding="utf-8"))
    return IntentModel.parse(path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------- training
# Build time only: scikit-learn and numpy are imported here and nowhere else.

REPO = Path(__file__).resolve().parents[2]
TRAINING_CORPORA = (REPO / "tests" / "data" / "replies_train.yaml", REPO / "tests" / "data" / "replies_corpus.yaml")
INTENT_C = 4.0
CATEGORY_C = 4.0
MIN_WEIGHT = 0.08  # smaller weights are dropped: they change almost no decision and would triple the file


# the first corpus named its complaint categories freely: the model learns one vocabulary
CATEGORY_NAMES = {
    "lawsuit_threat": "legal",
    "lighting": "power",
    "garbage": "cleaning",
    "staff_attitude": "staff",
    "general_service": "staff",
    "collection_harassment": "staff",
    "privacy": "staff",
    "access_control": "security",
    "theft": "security",
    "guard_duty": "security",
    "thrown_objects": "security",
    "drain": "water",
    "repair": "other",
}


def labelled(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """The messages of the corpora, each with its corpus's `today` and categories in one vocabulary."""
    import yaml

    messages = []
    for path in paths:
        corpus = yaml.safe_load(path.read_text(encoding="utf-8"))
        today = str(corpus["today"])
        for m in corpus["messages"]:
            category = m.get("category")
            messages.append({**m, "today": today, "category": CATEGORY_NAMES.get(category, category)})
    return messages


def seen_by_model(message: dict[str, Any]) -> set[str]:
    from datetime import date

    from propfee.intents import rule_view

    return rule_view(str(message["text"]), date.fromisoformat(str(message["today"])))


def _fit(rows: list[set[str]], labels: list[str], c: float) -> dict[str, Any]:
    import numpy as np
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    vocabulary = sorted(set().union(*rows))
    index = {feature: i for i, feature in enumerate(vocabulary)}
    indptr, indices = [0], []
    for row in rows:
        indices.extend(sorted(index[f] for f in row))
        indptr.append(len(indices))
    matrix = csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(rows), len(vocabulary)))
    classes = sorted(set(labels))
    if len(classes) == 1:
        return {"classes": classes, "bias": [0], "weights": {}}
    # saga with a fixed seed: deterministic, and a second on this corpus where lbfgs takes ten
    model = LogisticRegression(C=c, solver="saga", tol=1e-3, max_iter=1000, random_state=0, class_weight="balanced")
    model.fit(matrix, labels)
    coef = model.coef_ if len(classes) > 2 else np.vstack([-model.coef_[0] / 2, model.coef_[0] / 2])
    intercept = model.intercept_ if len(classes) > 2 else np.array([-model.intercept_[0] / 2, model.intercept_[0] / 2])
    weights: dict[str, list[int]] = {}
    for j, feature in enumerate(vocabulary):
        pairs = []
        for k in range(len(classes)):
            w = float(coef[k, j])
            if abs(w) >= MIN_WEIGHT:
                pairs += [k, round(w * SCALE)]
        if pairs:
            weights[feature] = pairs
    return {"classes": classes, "bias": [round(float(b) * SCALE) for b in intercept], "weights": weights}


def train(messages: list[dict[str, Any]]) -> str:
    """The model file's text for these labelled messages (deterministic: sorted, rounded, lbfgs)."""
    rows = [seen_by_model(m) for m in messages]
    intent = _fit(rows, [str(m["intent"]) for m in messages], INTENT_C)
    complaints = [(row, str(m["category"])) for row, m in zip(rows, messages, strict=True) if m.get("category")]
    category = _fit([r for r, _ in complaints], [c for _, c in complaints], CATEGORY_C)
    data = {"format": FORMAT, "intent": intent, "category": category}
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m propfee.intent_model")
    sub = parser.add_subparsers(dest="command", required=True)
    command = sub.add_parser("train", help="retrain the shipped model from the training corpora")
    command.add_argument("--out", type=Path, default=Path(__file__).with_name(MODEL_FILE))
    command.add_argument("corpora", nargs="*", type=Path, default=list(TRAINING_CORPORA))
    args = parser.parse_args(argv)
    text = train(labelled(args.corpora))
    args.out.write_text(text, encoding="utf-8")
    print(f"{args.out}: {len(text.encode()) / 1024:.0f} KiB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

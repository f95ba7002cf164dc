"""Training the reply classifier's model (propfee.feedback.intent_model) from the corpora, at build time only.

scikit-learn and numpy are imported here and nowhere else; this module is left out of the Lambda layer
(shared/layer_build.py), which ships only the weights file it writes. Retrain after changing the corpora or the
rules (the rules' matches are features too):
    python -m propfee.feedback.intent_training train
The same corpora and rules give the same file byte for byte (a test retrains and compares).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from propfee.feedback.intent_model import FORMAT, MODEL_FILE, SCALE
from propfee.observability import logger

REPO = Path(__file__).resolve().parents[3]
TRAINING_CORPORA = (REPO / "tests" / "data" / "replies_train.yaml", REPO / "tests" / "data" / "replies_corpus.yaml")
# replies_train.yaml is built from these hand-written files (one line a message, the text last): each file was
# written at one sitting, so its messages share phrasings and are held out together in grouped cross-validation
TRAIN_SOURCES = REPO / "tests" / "data" / "train_src"
INTENT_C = 8.0  # chosen by the grouped cross-validation (bench: by source file), as the weights below
CATEGORY_C = 4.0
# what the opt-out rules found (propfee.feedback.intent_model.features): the rule ids and the rules' verdict
OPT_OUT_FINDINGS = ("r:opt_out.", "R:opt_out")
UNRULED_WEIGHT = 0.5  # a copy without the opt-out rules' findings weighs half a message
# every message is learnt a second time as the model sees one that no rule matched: on text written apart the
# rules miss far more often than on these corpora (they were written reading them), and without these copies
# "no rule matched" would mean "unknown" to the model
RULE_FINDINGS = ("r:", "R:")
BLIND_WEIGHT = 0.25
CATEGORY_BLIND_WEIGHT = 0.25
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
    """The messages of the corpora, each with its corpus's `today`, categories in one vocabulary and its
    `source`: the hand-written file it came from (train_src/*.txt), else its corpus's file name."""
    import yaml

    written_in = _source_files()
    messages = []
    for path in paths:
        corpus = yaml.safe_load(path.read_text(encoding="utf-8"))
        today = str(corpus["today"])
        for m in corpus["messages"]:
            category = m.get("category")
            source = written_in.get(str(m["text"]), path.name)
            messages.append({**m, "today": today, "category": CATEGORY_NAMES.get(category, category), "source": source})
    return messages


def _source_files() -> dict[str, str]:
    """Each hand-written message's text and the file it was written in (build.py's format: the text last)."""
    found: dict[str, str] = {}
    for source in sorted(TRAIN_SOURCES.glob("*.txt")):
        for line in source.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#") and line.count(";") >= 6:
                found.setdefault(line.split(";", 6)[6].strip(), source.name)
    return found


def seen_by_model(message: dict[str, Any]) -> set[str]:
    from datetime import date

    from propfee.feedback.intents import rule_view

    return rule_view(str(message["text"]), date.fromisoformat(str(message["today"])))


def _fit(rows: list[set[str]], labels: list[str], c: float, weights: list[float] | None = None) -> dict[str, Any]:
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
    model.fit(matrix, labels, sample_weight=weights)
    coef = model.coef_ if len(classes) > 2 else np.vstack([-model.coef_[0] / 2, model.coef_[0] / 2])
    intercept = model.intercept_ if len(classes) > 2 else np.array([-model.intercept_[0] / 2, model.intercept_[0] / 2])
    kept: dict[str, list[int]] = {}
    for j, feature in enumerate(vocabulary):
        pairs = []
        for k in range(len(classes)):
            w = float(coef[k, j])
            if abs(w) >= MIN_WEIGHT:
                pairs += [k, round(w * SCALE)]
        if pairs:
            kept[feature] = pairs
    return {"classes": classes, "bias": [round(float(b) * SCALE) for b in intercept], "weights": kept}


def without_opt_out_rules(row: set[str]) -> set[str]:
    """A message as the model would see it had no opt-out rule matched."""
    return {feature for feature in row if not feature.startswith(OPT_OUT_FINDINGS)}


def without_rules(row: set[str]) -> set[str]:
    """A message as the model would see it had no rule matched at all."""
    return {feature for feature in row if not feature.startswith(RULE_FINDINGS)} | {"R:none"}


def train(messages: list[dict[str, Any]]) -> str:
    """The model file's text for these labelled messages (deterministic: sorted, rounded, saga with a seed)."""
    rows = [seen_by_model(m) for m in messages]
    labels = [str(m["intent"]) for m in messages]
    # where an opt-out rule matched, the message is also learnt without that finding (weighing less), so that
    # the model learns the words of a refusal, not the rules' names, and reads one that no rule foresaw; and
    # learns too the words of a look-alike the rules took for one ("stop? no, how do I stop autopay")
    copies = [(without_opt_out_rules(row), label) for row, label in zip(rows, labels, strict=True)]
    copies = [(copy, label) for (copy, label), row in zip(copies, rows, strict=True) if copy != row]
    # (RULE_FINDINGS above). Not the shortest ("T", "TD", "ok"): the rules read those exactly, and their copies
    # would teach that any short Latin text no rule knows is a refusal. Nor those no rule matched: seen so already
    blind = [
        (without_rules(row), label)
        for row, label in zip(rows, labels, strict=True)
        if "short" not in row and "R:none" not in row
    ]
    weights = [1.0] * len(rows) + [UNRULED_WEIGHT] * len(copies) + [BLIND_WEIGHT] * len(blind)
    extra = copies + blind
    intent = _fit(rows + [c for c, _ in extra], labels + [label for _, label in extra], INTENT_C, weights)
    complaints = [(row, str(m["category"])) for row, m in zip(rows, messages, strict=True) if m.get("category")]
    # the category is asked of the model when no rule named one: learnt so too
    blind_complaints = [(without_rules(r), c) for r, c in complaints if CATEGORY_BLIND_WEIGHT > 0]
    category = _fit(
        [r for r, _ in complaints + blind_complaints],
        [c for _, c in complaints + blind_complaints],
        CATEGORY_C,
        [1.0] * len(complaints) + [CATEGORY_BLIND_WEIGHT] * len(blind_complaints),
    )
    data = {"format": FORMAT, "intent": intent, "category": category}
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m propfee.feedback.intent_training")
    sub = parser.add_subparsers(dest="command", required=True)
    command = sub.add_parser("train", help="retrain the shipped model from the training corpora")
    command.add_argument("--out", type=Path, default=Path(__file__).with_name(MODEL_FILE))
    command.add_argument("corpora", nargs="*", type=Path, default=list(TRAINING_CORPORA))
    args = parser.parse_args(argv)
    text = train(labelled(args.corpora))
    args.out.write_text(text, encoding="utf-8")
    logger.info("intent model written", extra={"path": str(args.out), "kib": round(len(text.encode()) / 1024)})
    return 0


if __name__ == "__main__":
    sys.exit(main())

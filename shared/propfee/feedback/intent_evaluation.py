"""The reply classifier's accuracy on a labelled corpus, and its misses: for the tests, never a handler."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import yaml

from propfee.feedback.intent_model import IntentModel
from propfee.feedback.intent_rules import IntentRules

__all__ = ["evaluate"]


def evaluate(corpus_path: Path, rules: IntentRules | None = None, model: IntentModel | bool = True) -> dict[str, Any]:
    """Accuracy on a labelled corpus (`today`, `messages: [{text, intent, department, category, promise_date}]`)
    and every message where a field differs."""
    from propfee.feedback.intents import (
        classify,  # not at the top: propfee.feedback.intents imports this module (re-exports it)
    )

    corpus = yaml.safe_load(corpus_path.read_text(encoding="utf-8"))
    today = date.fromisoformat(str(corpus["today"]))
    fields = ("intent", "department", "category", "promise_date")
    right = dict.fromkeys(fields, 0)
    counted = dict.fromkeys(fields, 0)
    misses: list[dict[str, Any]] = []
    for message in corpus["messages"]:
        result = classify(str(message["text"]), today, rules, model)
        got = result.model_dump(mode="json", include=set(fields))
        expected = {field: _label(message.get(field)) for field in fields}
        wrong = []
        for field in fields:
            # category and date are scored where either side has one: most messages have neither
            if field in ("category", "promise_date") and expected[field] is None and got[field] is None:
                continue
            counted[field] += 1
            if got[field] == expected[field]:
                right[field] += 1
            else:
                wrong.append(field)
        if wrong:
            misses.append(
                {
                    "text": message["text"],
                    "wrong": wrong,
                    "expected": expected,
                    "got": got,
                    "matched_rule": result.matched_rule,
                    "note": message.get("note"),
                }
            )
    accuracy = {f"{field}_accuracy": right[field] / counted[field] if counted[field] else 1.0 for field in fields}
    return {"today": today.isoformat(), "messages": len(corpus["messages"]), **accuracy, "misses": misses}


def _label(value: object) -> str | None:
    return None if value is None or value == "" else str(value)

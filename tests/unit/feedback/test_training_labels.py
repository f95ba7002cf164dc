"""The training corpus is labelled by docs/replies-labels.md: the checks the judges' validator makes, on it."""

import datetime as dt
import functools
import importlib.util
from pathlib import Path

import yaml

DATA = Path(__file__).resolve().parents[2] / "data"
# the training sources name these categories of their own; the judges call them `other` (same departments)
OWN_CATEGORIES = {"pests": "other", "greenery": "other"}
OVERRIDE_CATEGORIES = {"legal", "escalation"}  # the training sources' names for a lawsuit / a manager demanded


@functools.cache
def _training() -> dict:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader where built: 6,000 messages
    return yaml.load((DATA / "replies_train.yaml").read_text(encoding="utf-8"), Loader=loader)


def _validator():
    spec = importlib.util.spec_from_file_location("check_judge", DATA / "check_judge.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _problems() -> list[str]:
    check = _validator()
    corpus = _training()
    today = dt.date.fromisoformat(str(corpus["today"]))
    found = []
    for message in corpus["messages"]:
        if message["category"] in OVERRIDE_CATEGORIES:
            continue
        labelled = {**message, "note": None, "category": OWN_CATEGORIES.get(message["category"], message["category"])}
        for problem in check.problems_of(labelled, today):
            # a tenant's complaint stays a complaint, with wrong_number in also (docs/replies-labels.md, section 4)
            if message["intent"] == "complaint" and message["also"][:1] == ["wrong_number"] and "outrank" in problem:
                continue
            found.append(f"{problem}: {message['text'][:40]}")
    return found


def test_the_training_labels_follow_the_conventions():
    assert _problems() == []


def test_animals_droppings_are_pets_and_a_thumbs_up_thanks_nothing():
    by_text = {m["text"]: m for m in _training()["messages"]}
    assert by_text["草坪上到处是狗屎，没人清理"]["category"] == "pets"
    assert by_text["草坪上到处是狗屎，没人清理"]["department"] == "security"
    assert by_text["👍"]["intent"] == "unknown"
    assert by_text["我替房东交过了，收据在我这"]["intent"] == "wrong_number"

"""Writes tests/data/replies_train.yaml from the hand-written messages in this folder (*.txt).

Each line of a .txt file: intent;department;category;promise_date;also;voice;text ("-" for the default:
the intent's department, or the category's for complaints; no category, no date, nothing else said).
Kept as the source because it is quicker to write and review than YAML; the YAML is what is read."""

from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
INTENTS = {"oo": "opt_out", "oi": "opt_in", "h": "help", "pc": "paid_claim", "pp": "payment_plan",
           "bd": "bill_dispute", "c": "complaint", "wn": "wrong_number", "t": "thanks", "u": "unknown"}  # fmt: skip
DEPARTMENTS = {"eng": "engineering", "sec": "security", "env": "environment", "cs": "customer_service",
               "fin": "finance", "leg": "legal", "sm": "site_manager", "null": None}  # fmt: skip
BY_INTENT = {"opt_out": None, "opt_in": None, "thanks": None, "paid_claim": "finance", "payment_plan": "finance",
             "bill_dispute": "finance", "help": "customer_service", "wrong_number": "customer_service",
             "unknown": "customer_service"}  # fmt: skip
BY_CATEGORY = {"leak": "engineering", "lift": "engineering", "power": "engineering", "water": "engineering",
               "heating": "engineering", "gas": "engineering", "facade": "engineering", "security": "security",
               "noise": "security", "parking": "security", "pets": "security", "cleaning": "environment",
               "greenery": "environment", "pests": "environment", "staff": "customer_service",
               "other": "customer_service", "legal": "legal", "escalation": "site_manager"}  # fmt: skip
URGENT = {"gas", "lift", "power", "water", "heating", "security"}
VOICES = {"el": "elderly", "te": "tenant", "la": "landlord_abroad", "an": "angry", "po": "polite", "ty": "typo",
          "py": "pinyin", "em": "emoji", "tr": "traditional", "ca": "cantonese", "en": "english", "mx": "mixed",
          "ts": "terse", "bu": "business"}  # fmt: skip
ALSO = {"rtp": "refuses_to_pay", **INTENTS}

HEADER = """\
# propfee: the TRAINING corpus of owners' replies (tests/data/train_src/*.txt -> build.py -> this file).
# The statistical model (propfee.intent_model) is trained on it and on tests/data/replies_corpus.yaml, so
# neither is a held-out measure any more: bench prints figures on it by cross-validation only, labelled so.
# The judges are tests/data/replies_heldout*.yaml (the newest is the measure), written apart, never trained on.
# Labelling conventions: docs/replies-labels.md (the judges' and replies_corpus.yaml's headers reconciled; it
# decides where they disagree or are silent). Fields: text, intent,
# department, category (complaints), urgent, promise_date, also (secondary intents; refuses_to_pay for a
# refusal joined to a complaint), voice. Today is 2026-12-02 (a Wednesday).
"""


def entries() -> list[dict[str, object]]:
    out = []
    for source in sorted(HERE.glob("*.txt")):
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            try:
                code, department, category, promise, also, voice, text = line.split(";", 6)
                intent = INTENTS[code.strip()]
                cat = None if category.strip() == "-" else category.strip()
                if department.strip() != "-":
                    dept = DEPARTMENTS[department.strip()]
                elif intent == "complaint":
                    dept = BY_CATEGORY.get(cat, "customer_service") if cat else "customer_service"
                else:
                    dept = BY_INTENT[intent]
                if cat is not None and cat not in BY_CATEGORY:
                    raise KeyError(cat)
                out.append(
                    {
                        "text": text.strip(),
                        "intent": intent,
                        "department": dept,
                        "category": cat,
                        "urgent": cat in URGENT,
                        "promise_date": None if promise.strip() == "-" else promise.strip(),
                        "also": [] if also.strip() == "-" else [ALSO[a.strip()] for a in also.split(",")],
                        "voice": VOICES[voice.strip()],
                    }
                )
            except (KeyError, ValueError) as error:
                raise SystemExit(f"{source.name}:{number}: {error!r}: {line}") from error
    return out


def main() -> None:
    messages = entries()
    texts = [m["text"] for m in messages]
    if duplicates := sorted({t for t in texts if texts.count(t) > 1}):
        raise SystemExit(f"duplicates: {duplicates}")
    body = yaml.safe_dump({"today": "2026-12-02", "messages": messages}, allow_unicode=True, sort_keys=False, width=200)
    (HERE.parent / "replies_train.yaml").write_text(HEADER + body, encoding="utf-8")
    print(len(messages), "messages")


if __name__ == "__main__":
    main()

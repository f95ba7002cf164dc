"""Check a judge corpus of owners' replies: it loads, every field has an allowed value, the labels follow the
header's conventions, and no text repeats. Reads only the file named on the command line; it does not run or
import the classifier.

    /work/main/.venv/bin/python tests/data/check_judge.py tests/data/replies_heldout4.yaml
"""

import datetime as dt
import sys
from collections import Counter

import yaml

PRIORITY = [
    "opt_out",
    "wrong_number",
    "bill_dispute",
    "complaint",
    "refuses_to_pay",  # only as a secondary intent, right after the complaint it is joined to
    "paid_claim",
    "payment_plan",
    "help",
    "opt_in",
    "thanks",
    "unknown",
]
INTENTS = set(PRIORITY) - {"refuses_to_pay"}
VOICES = {
    "elderly",
    "tenant",
    "landlord_abroad",
    "angry",
    "polite",
    "typo",
    "pinyin",
    "emoji",
    "traditional",
    "cantonese",
    "english",
    "mixed",
    "terse",
    "business",
}
CATEGORY_DEPARTMENT = {
    **dict.fromkeys(["leak", "lift", "power", "water", "heating", "gas", "facade"], "engineering"),
    **dict.fromkeys(["security", "noise", "pets", "parking"], "security"),
    "cleaning": "environment",
    "staff": "customer_service",
}
OTHER_DEPARTMENTS = {"environment", "engineering", "customer_service"}
OVERRIDES = {"legal", "site_manager"}
INTENT_DEPARTMENT = {
    "opt_out": None,
    "opt_in": None,
    "thanks": None,
    "paid_claim": "finance",
    "payment_plan": "finance",
    "bill_dispute": "finance",
    "help": "customer_service",
    "wrong_number": "customer_service",
    "unknown": "customer_service",
}
FIELDS = ["text", "intent", "department", "category", "urgent", "promise_date", "also", "voice", "note"]
LOOKS_LIKE = "looks like opt-out: "


def problems_of(message: dict, today: dt.date) -> list[str]:
    found = []
    missing = [f for f in FIELDS if f not in message]
    extra = [f for f in message if f not in FIELDS]
    if missing or extra:
        return [f"missing {missing} extra {extra}"]
    intent, category, department = message["intent"], message["category"], message["department"]
    if not isinstance(message["text"], str) or not message["text"].strip():
        found.append("empty text")
    if intent not in INTENTS:
        found.append(f"intent {intent!r}")
    if message["voice"] not in VOICES:
        found.append(f"voice {message['voice']!r}")
    if not isinstance(message["urgent"], bool):
        found.append("urgent is not a boolean")
    if intent == "complaint":
        if category == "other":
            if department not in OTHER_DEPARTMENTS | OVERRIDES:
                found.append(f"other complaint sent to {department}")
        elif category not in CATEGORY_DEPARTMENT:
            found.append(f"category {category!r}")
        elif department not in OVERRIDES and department != CATEGORY_DEPARTMENT[category]:
            found.append(f"{category} complaint sent to {department}")
    else:
        if category is not None:
            found.append("category on a non-complaint")
        if message["urgent"]:
            found.append("urgent non-complaint")
        if department != INTENT_DEPARTMENT.get(intent, "?"):
            found.append(f"{intent} sent to {department}")
    also = message["also"]
    if not isinstance(also, list) or any(a not in PRIORITY for a in also):
        found.append(f"also {also!r}")
    else:
        ranks = [PRIORITY.index(a) for a in also]
        if ranks != sorted(set(ranks)):
            found.append(f"also out of priority order or repeated: {also}")
        if intent in PRIORITY and any(r <= PRIORITY.index(intent) for r in ranks):
            found.append(f"also holds an intent that would outrank {intent}: {also}")
        if "refuses_to_pay" in also and intent != "complaint" and "complaint" not in also:
            found.append("refuses_to_pay without a complaint")
    date = message["promise_date"]
    if date is not None:
        try:
            day = dt.date.fromisoformat(date)
        except (TypeError, ValueError):
            found.append(f"promise_date {date!r} is not YYYY-MM-DD text")
        else:
            if day < today:
                found.append(f"promise_date {date} is before today {today}")
        if intent != "payment_plan" and "payment_plan" not in also:
            found.append("a promise date without payment_plan in intent or also")
    note = message["note"]
    if note is not None and not (isinstance(note, str) and note.startswith(LOOKS_LIKE) and note != LOOKS_LIKE):
        found.append(f"note {note!r}")
    if note is not None and intent == "opt_out":
        found.append("an opt-out marked as a look-alike")
    return found


def main(path: str) -> int:
    with open(path, encoding="utf-8") as handle:
        corpus = yaml.safe_load(handle)
    today = corpus["today"]
    if not isinstance(today, dt.date):
        today = dt.date.fromisoformat(str(today))
    messages = corpus["messages"]
    bad = 0
    for number, message in enumerate(messages, 1):
        for problem in problems_of(message, today):
            bad += 1
            print(f"message {number}: {problem}: {str(message.get('text'))[:60]!r}")
    texts = Counter(" ".join(str(m.get("text", "")).split()).casefold() for m in messages)
    for text, times in texts.items():
        if times > 1:
            bad += 1
            print(f"repeated {times} times: {text[:60]!r}")
    total = len(messages)

    def table(title: str, counts: Counter) -> None:
        print(f"\n{title}")
        for key, n in counts.most_common():
            print(f"  {key:<18} {n:4d}  {100 * n / total:5.1f}%")

    table("intent", Counter(m["intent"] for m in messages))
    table("voice", Counter(m["voice"] for m in messages))
    table("opt_out by voice", Counter(m["voice"] for m in messages if m["intent"] == "opt_out"))
    table("complaint category", Counter(m["category"] for m in messages if m["intent"] == "complaint"))
    table("complaint department", Counter(m["department"] for m in messages if m["intent"] == "complaint"))
    table("secondary intents", Counter(a for m in messages for a in m["also"]))
    multi = sum(1 for m in messages if m["also"])
    print(f"\nmessages: {total}; several intents: {multi} ({100 * multi / total:.1f}%)")
    print(f"look-alikes (note): {sum(1 for m in messages if m['note'])}")
    urgent = sum(1 for m in messages if m["urgent"])
    print(f"urgent: {urgent}; promise dates: {sum(1 for m in messages if m['promise_date'])}")
    print(f"problems: {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

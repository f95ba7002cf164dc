"""An evidence bundle for one unit: everything sent to it, its bills and payments, ready for a lawyer.

Civil Code Art. 188/195: a demand interrupts the three-year limitation period, so each reminder, with its
channel, destination, content hash, provider message id and delivery status, is evidence. The bundle is
a zip whose manifest lists the SHA-256 of every file; the same records give the same bytes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from propfee.domain.cells import safe_cell
from propfee.domain.models import Unit

FIXED_ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # entries carry no wall-clock time, so bytes depend on content only

README = """Evidence bundle exported by propfee for unit {unit_id} at {exported_at}.

unit.json         the unit and its owners as recorded at export time
timeline.jsonl    every record about the unit in time order (bills, payments, reminders, skips, messages)
reminders.csv     each reminder: when, channel, destination, template and version, SHA-256 of the
                  content, balance stated, provider message id, status and its history
bills.csv         bills issued, amounts and what was paid of each (fen)
payments.csv      payments received and how they were allocated (fen)
received.csv      what the owner (or anyone from their number) sent, how it was understood, what was done;
                  a long text is classified on its first 2,000 characters
originals/        each of those messages whole, as it came (SMS payload .json, email .eml), named in
                  received.csv
sent/             each text sent to the unit word for word, one file per reminder (named in reminders.csv):
                  the first line is the email's subject (empty for an SMS or a letter), the rest the text;
                  the file's SHA-256 is the reminder's content_sha256
staff_actions.csv what staff did about the unit in the console (who, when, what, the fields before and
                  after), each action as recorded
letters/          each demand letter as printed and delivered (PDF, named in reminders.csv), with its
                  signed delivery slip kept on paper
manifest.json     the SHA-256 of each file above

Amounts are in fen (1/100 yuan). Times are ISO 8601 with their offset.
"""


def _csv(header: list[str], rows: Iterable[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([safe_cell(value) for value in row] for row in rows)  # owners' words may start with =
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(value)
    return str(value)


def original_name(record: dict[str, Any]) -> str:
    """The bundle's file for a message kept whole: its provider id, made safe as a file name."""
    suffix = ".eml" if record.get("channel") == "email" else ".json"
    return f"originals/{re.sub(r'[^A-Za-z0-9._-]', '_', str(record.get('source_id')))}{suffix}"


def sent_name(record: dict[str, Any]) -> str:
    """The bundle's file for the text of one reminder."""
    name = f"{record.get('step')}.{record.get('occurrence')}"
    return f"sent/{re.sub(r'[^A-Za-z0-9._-]', '_', name)}.txt"


def letter_name(record: dict[str, Any]) -> str:
    """The bundle's file for a letter: its key in the bucket (letters/<day>/<unit>.<step>.<occurrence>.pdf)."""
    return re.sub(r"[^A-Za-z0-9._/-]", "_", str(record.get("provider_message_id")))


def letter_keys(history: list[dict[str, Any]]) -> list[str]:
    """The bucket keys of the letters a unit's records name."""
    return sorted(
        str(r["provider_message_id"])
        for r in history
        if r.get("kind") == "reminder" and r.get("channel") == "letter" and r.get("provider_message_id")
    )


def bundle_files(
    unit: Unit,
    history: list[dict[str, Any]],
    exported_at: datetime,
    originals: dict[str, bytes] | None = None,
    letters: dict[str, bytes] | None = None,
) -> dict[str, bytes]:
    """`originals`: the messages kept whole, by their s3:// address (the records' `original`); `letters`: the
    letters' PDFs, by their key in the bucket (the letter reminders' provider message id)."""
    originals, letters = originals or {}, letters or {}
    records = sorted(history, key=lambda r: (str(r.get("at", "")), str(r.get("sk", ""))))
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_kind.setdefault(str(record.get("kind", "other")), []).append(record)
    reminders = [
        [
            r.get("claimed_at"),
            r.get("step"),
            r.get("occurrence"),
            r.get("channel"),
            r.get("destination"),
            r.get("template"),
            r.get("template_version"),
            r.get("content_sha256"),
            r.get("balance_fen"),
            r.get("provider_message_id"),
            r.get("status"),
            # an event that did not move the status (a late receipt after a failure) says so
            " > ".join(
                f"{e.get('status')}@{e.get('at')}" + (f" ({e['conflict']})" if e.get("conflict") else "")
                for e in r.get("timeline", [])
            ),
            sent_name(r) if r.get("text") is not None else "",
            letter_name(r) if r.get("provider_message_id") in letters else "",
        ]
        for r in by_kind.get("reminder", [])
    ]
    bills = [
        [b.get("period"), b.get("issued_at"), b.get("due"), b.get("amount_fen"), b.get("paid_fen")]
        for b in by_kind.get("bill", [])
    ]
    payments = [
        [
            p.get("paid_at"),
            p.get("reference"),
            p.get("amount_fen"),
            p.get("method"),
            json.dumps(p.get("allocations", {}), sort_keys=True, default=_json_default),
        ]
        for p in by_kind.get("payment", [])
    ]
    received = [
        [
            m.get("received_at"),
            m.get("channel"),
            m.get("sender"),
            m.get("intent"),
            m.get("outcome"),
            m.get("source_id"),
            m.get("body"),
            m.get("body_chars"),
            original_name(m) if m.get("original") in originals else m.get("original"),
        ]
        for m in by_kind.get("inbound", [])
    ]
    staff_actions = [
        [
            a.get("at"),
            a.get("actor_sub"),
            " ".join(a.get("actor_roles") or ()),
            a.get("action"),
            a.get("target_kind"),
            a.get("target_id"),
            json.dumps(a.get("before", {}), ensure_ascii=False, sort_keys=True, default=_json_default),
            json.dumps(a.get("after", {}), ensure_ascii=False, sort_keys=True, default=_json_default),
            a.get("note"),
            a.get("action_id"),
        ]
        for a in by_kind.get("staff_action", [])
    ]
    files = {
        "README.txt": README.format(unit_id=unit.unit_id, exported_at=exported_at.isoformat()).encode("utf-8"),
        "unit.json": json.dumps(unit.model_dump(mode="json"), ensure_ascii=False, indent=2, sort_keys=True).encode(),
        "timeline.jsonl": "".join(
            json.dumps(r, ensure_ascii=False, sort_keys=True, default=_json_default) + "\n" for r in records
        ).encode("utf-8"),
        "reminders.csv": _csv(
            [
                "claimed_at",
                "step",
                "occurrence",
                "channel",
                "destination",
                "template",
                "template_version",
                "content_sha256",
                "balance_fen",
                "provider_message_id",
                "status",
                "history",
                "text_file",
                "letter_file",
            ],
            reminders,
        ),
        "bills.csv": _csv(["period", "issued_at", "due", "amount_fen", "paid_fen"], bills),
        "payments.csv": _csv(["paid_at", "reference", "amount_fen", "method", "allocations"], payments),
        "received.csv": _csv(
            ["received_at", "channel", "sender", "intent", "outcome", "message_id", "text", "chars", "original"],
            received,
        ),
        "staff_actions.csv": _csv(
            ["at", "staff", "roles", "action", "target_kind", "target_id", "before", "after", "note", "action_id"],
            staff_actions,
        ),
    }
    for message in by_kind.get("inbound", []):
        if message.get("original") in originals:
            files[original_name(message)] = originals[str(message["original"])]
    for reminder in by_kind.get("reminder", []):
        if reminder.get("text") is not None:  # as hashed: subject, newline, text (RenderedMessage.content_sha256)
            files[sent_name(reminder)] = f"{reminder.get('subject') or ''}\n{reminder['text']}".encode()
        if reminder.get("provider_message_id") in letters:
            files[letter_name(reminder)] = letters[str(reminder["provider_message_id"])]
    manifest = {
        "unit_id": unit.unit_id,
        "exported_at": exported_at.isoformat(),
        "files": {name: hashlib.sha256(body).hexdigest() for name, body in sorted(files.items())},
    }
    files["manifest.json"] = json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8")
    return files


def zip_bundle(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in sorted(files.items()):
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, body)
    return buffer.getvalue()

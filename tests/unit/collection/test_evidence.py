"""The evidence bundle holds every text sent, word for word and verifiable against its hash, and the letters as
printed."""

import csv
import hashlib
import io
import json
from datetime import UTC, datetime

from propfee.collection.evidence import bundle_files, letter_keys
from tests.support import unit

LETTER_KEY = "letters/2026-11-11/C01-B01-0101.letter_d45.1.pdf"
SMS_TEXT = "【物业服务中心】尊敬的锦绣花园1栋0101室业主，您有物业费250.00元未缴。"
LETTER_TEXT = "物业费催缴函\n王芳业主：\n……"


def reminder(step, channel, text, subject=None, provider_message_id="sms-1", at="2026-10-05T09:30:00+08:00"):
    return {
        "kind": "reminder",
        "at": at,
        "claimed_at": at,
        "step": step,
        "occurrence": 1,
        "channel": channel,
        "destination": "+8613812345678",
        "template": "reminder_friendly",
        "template_version": "abc",
        "content_sha256": hashlib.sha256(f"{subject or ''}\n{text}".encode()).hexdigest(),
        "balance_fen": 25000,
        "provider_message_id": provider_message_id,
        "status": "sent",
        "subject": subject,
        "text": text,
    }


HISTORY = [
    reminder("sms_d1", "sms", SMS_TEXT),
    reminder("notice_d7-email", "email", "尊敬的业主：……", subject="物业费缴费通知", provider_message_id="email-1"),
    reminder("letter_d45", "letter", LETTER_TEXT, provider_message_id=LETTER_KEY, at="2026-11-11T09:30:00+08:00"),
    # recorded before the texts were kept: named, with no file
    {**reminder("sms_d1-r2", "sms", ""), "text": None, "subject": None},
]


def test_the_bundle_holds_each_text_as_sent_and_each_letter_as_printed():
    pdf = b"%PDF-1.4 the letter"
    files = bundle_files(unit(), HISTORY, datetime(2026, 11, 12, tzinfo=UTC), letters={LETTER_KEY: pdf})

    assert files[LETTER_KEY] == pdf
    assert files["sent/sms_d1.1.txt"].decode() == f"\n{SMS_TEXT}"
    assert files["sent/notice_d7-email.1.txt"].decode().startswith("物业费缴费通知\n尊敬的业主")
    assert files["sent/letter_d45.1.txt"].decode() == f"\n{LETTER_TEXT}"
    rows = {r["step"]: r for r in csv.DictReader(io.StringIO(files["reminders.csv"].decode("utf-8-sig")))}
    for step, row in rows.items():
        if row["text_file"]:  # anyone can check the text against the hash recorded when it was sent
            assert hashlib.sha256(files[row["text_file"]]).hexdigest() == row["content_sha256"], step
    assert rows["letter_d45"]["letter_file"] == LETTER_KEY and rows["sms_d1"]["letter_file"] == ""
    assert rows["sms_d1-r2"]["text_file"] == "" and "sent/sms_d1-r2.1.txt" not in files
    manifest = json.loads(files["manifest.json"])["files"]
    assert {LETTER_KEY, "sent/sms_d1.1.txt", "sent/letter_d45.1.txt"} <= set(manifest)
    assert manifest[LETTER_KEY] == hashlib.sha256(pdf).hexdigest()


def test_a_letter_the_bucket_did_not_give_is_still_named_by_its_record():
    files = bundle_files(unit(), HISTORY, datetime(2026, 11, 12, tzinfo=UTC))
    assert LETTER_KEY not in files and "sent/letter_d45.1.txt" in files
    assert letter_keys(HISTORY) == [LETTER_KEY]

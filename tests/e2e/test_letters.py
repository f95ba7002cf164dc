"""A unit 45 days overdue gets a formal demand letter: a PDF in S3 for printing, and its evidence record."""

import csv
import io
from datetime import date

import pytest
from pypdf import PdfReader

from tests.support import at, bill, unit
from tests.support.pdf import pdf_text

pytestmark = pytest.mark.e2e


def test_the_letter_step_writes_a_printable_pdf_and_records_it_as_evidence(sandbox):
    sandbox.table.put_buildings_and_units([], [unit("C01-B07-0701")])
    sandbox.table.issue_bill(bill("C01-B07-0701", "2026-09", amount_fen=31_250, due=date(2026, 9, 25)))
    sandbox.advance(at("2026-11-11 09:45"))

    key = "letters/2026-11-11/C01-B07-0701.letter_d45.1.pdf"
    s3 = sandbox.client("s3")
    stored = s3.get_object(Bucket=sandbox.resources["ReportBucket"], Key=key)
    assert stored["ContentType"] == "application/pdf" and stored["ServerSideEncryption"] == "AES256"
    text = pdf_text(stored["Body"].read())
    assert "物业费催缴函" in text and "312.50" in text and "2026-09" in text

    [evidence] = [
        r for r in sandbox.table.day_activity("C01", date(2026, 11, 11)).reminders if r.unit_id == "C01-B07-0701"
    ]
    assert (evidence.step, evidence.channel.value, evidence.status.value) == ("letter_d45", "letter", "sent")
    assert evidence.provider_message_id == key
    assert len(sandbox.sent_sms()) == 7  # the other units' SMS; no SMS to the letter's unit


def test_after_midnight_the_days_letters_are_merged_into_one_print_batch(sandbox):
    for n, due in ((1, date(2026, 9, 25)), (2, date(2026, 9, 20))):
        unit_id = f"C01-B07-070{n}"
        sandbox.table.put_buildings_and_units([], [unit(unit_id)])
        sandbox.table.issue_bill(bill(unit_id, "2026-09", due=due))
    sandbox.advance(at("2026-11-12 00:30"))  # letters at 09:30 on 11-11, the batch at 00:20 on 11-12

    s3, bucket = sandbox.client("s3"), sandbox.resources["ReportBucket"]
    batch = s3.get_object(Bucket=bucket, Key="letters/2026-11-11/print-batch.pdf")["Body"].read()
    assert len(PdfReader(io.BytesIO(batch)).pages) == 2
    listing = s3.get_object(Bucket=bucket, Key="letters/2026-11-11/print-list.csv")["Body"].read().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(listing)))
    assert [(r["page"], r["unit_id"], r["step"]) for r in rows] == [
        ("1", "C01-B07-0701", "letter_d45"),
        ("2", "C01-B07-0702", "letter_d45"),
    ]

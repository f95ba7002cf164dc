"""Event envelopes read by models: what does not fit is named with its field and reason, never its value."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest

from propfee.collection.evidence import bundle_files
from propfee.events import SendJobRecord, job_body, parse, parse_records, s3_uploads, sns_notifications
from tests.support import ROOT, unit

SEND = json.loads((ROOT / "events" / "send.json").read_text(encoding="utf-8"))["Records"][0]


@pytest.mark.parametrize("event", [None, "Records", {}, {"Records": []}, {"Records": {"0": {}}}])
def test_an_event_without_a_list_of_records_is_refused_whole(event):
    for parse_event in (sns_notifications, s3_uploads):
        [refused] = parse_event(event)
        assert refused.model is None and refused.raw is event
        assert refused.problem.endswith("Records: a non-empty list of records is required")


@pytest.mark.parametrize(("count", "redelivered"), [("1", False), ("2", True), (None, False)])
def test_a_send_record_is_a_redelivery_only_when_sqs_says_it_was_received_before(count, redelivered):
    record = json.loads(json.dumps(SEND))
    if count is None:
        del record["attributes"]
    else:
        record["attributes"]["ApproximateReceiveCount"] = count

    parsed = parse(SendJobRecord, record, "send job")

    assert parsed.model is not None and parsed.model.redelivered is redelivered
    assert parsed.model.job.unit_id == "C01-B03-1502"


def test_the_dlq_keeps_a_refused_jobs_body_or_the_record_when_it_has_none():
    assert job_body(SEND) == SEND["body"]  # redriven to the send queue, it is a job again
    bodiless = {k: v for k, v in SEND.items() if k != "body"}
    assert json.loads(job_body(bodiless)) == bodiless
    assert parse(SendJobRecord, bodiless, "send job").problem == "malformed send job: body: Field required"


def test_the_evidence_bundle_holds_each_message_kept_whole_and_names_it_in_received_csv():
    message = {
        "kind": "inbound",
        "at": "2026-11-11T10:00:00+08:00",
        "sk": "INBOUND#2026-11-11T10:00:00+08:00#in/1",
        "source_id": "in/1",
        "channel": "sms",
        "body": "漏" * 2000,
        "body_chars": 80_000,
        "original": "s3://inbound/incoming/sms/2026-11-11/in%2F1.json",
    }
    whole = json.dumps({"messageBody": "漏" * 80_000}).encode()

    files = bundle_files(unit(), [message], datetime(2026, 11, 12, tzinfo=UTC), {message["original"]: whole})

    assert files["originals/in_1.json"] == whole
    [row] = list(csv.DictReader(io.StringIO(files["received.csv"].decode("utf-8-sig"))))
    assert (row["chars"], row["original"]) == ("80000", "originals/in_1.json")
    assert "originals/in_1.json" in json.loads(files["manifest.json"])["files"]
    # an original that could not be read is still named by its address
    unread = bundle_files(unit(), [message], datetime(2026, 11, 12, tzinfo=UTC))
    [row] = list(csv.DictReader(io.StringIO(unread["received.csv"].decode("utf-8-sig"))))
    assert row["original"] == message["original"]


def test_parse_records_reads_each_record_on_its_own():
    parsed = parse_records({"Records": [SEND, {"body": 1}]}, SendJobRecord, "send job")
    assert [p.model is not None for p in parsed] == [True, False]

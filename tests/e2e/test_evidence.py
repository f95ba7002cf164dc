"""`propfee evidence UNIT`: a zip a lawyer can rely on, taken from the records in the sandbox."""

import csv
import hashlib
import io
import json
import zipfile
from datetime import date

import pytest

from propfee import cli
from tests.support import at, bill, payment, unit

pytestmark = pytest.mark.e2e


def _export(sandbox, tmp_path, capsys, unit_id):
    bucket = ["--bucket", sandbox.resources["ReportBucket"]]
    assert cli.main(["evidence", unit_id, "--out", str(tmp_path), "--table", sandbox.table.name, *bucket]) == 0
    path = capsys.readouterr().out.strip()
    with open(path, "rb") as handle:
        return path, handle.read()


def test_the_bundle_holds_every_reminder_bill_and_payment_with_a_verifiable_manifest(sandbox, tmp_path, capsys):
    sandbox.table.put_buildings_and_units([], [unit("C01-B02-0201")])
    assert sandbox.table.issue_bill(bill("C01-B02-0201", "2026-10"))
    sandbox.advance(at("2026-11-11 09:45"))  # the plan's reminder goes out at 09:30
    sandbox.table.record_payment(payment("C01-B02-0201", 10000, "2026-11-11 15:00", "WX-20261111-0001"))
    sandbox.advance(at("2026-11-11 16:00"))

    _, data = _export(sandbox, tmp_path, capsys, "C01-B02-0201")
    archive = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["unit_id"] == "C01-B02-0201"
    assert set(manifest["files"]) == set(archive.namelist()) - {"manifest.json"}
    for name, digest in manifest["files"].items():
        assert hashlib.sha256(archive.read(name)).hexdigest() == digest

    [reminder] = list(csv.DictReader(io.StringIO(archive.read("reminders.csv").decode("utf-8-sig"))))
    sent = {message_id: phone for message_id, phone, _ in sandbox.sent_sms()}
    # a cell starting with + is a formula to a spreadsheet: the number is kept as text
    assert reminder["destination"] == "'+8613812345678"
    assert sent[reminder["provider_message_id"]] == "+8613812345678"
    assert reminder["status"] == "sent" and reminder["history"].startswith("claimed@")
    assert reminder["content_sha256"] and reminder["balance_fen"] == "25000"
    [billed] = list(csv.DictReader(io.StringIO(archive.read("bills.csv").decode("utf-8-sig"))))
    assert (billed["period"], billed["amount_fen"], billed["paid_fen"]) == ("2026-10", "25000", "10000")
    [paid] = list(csv.DictReader(io.StringIO(archive.read("payments.csv").decode("utf-8-sig"))))
    assert paid["reference"] == "WX-20261111-0001"
    kinds = [json.loads(line)["kind"] for line in archive.read("timeline.jsonl").decode().splitlines()]
    assert kinds == ["bill", "reminder", "payment"]

    # the text as the owner received it, verifiable against the hash recorded when it was sent
    [(_, _, sms_text)] = [m for m in sandbox.sent_sms() if m[0] == reminder["provider_message_id"]]
    assert archive.read(reminder["text_file"]).decode() == f"\n{sms_text}"
    assert hashlib.sha256(archive.read(reminder["text_file"])).hexdigest() == reminder["content_sha256"]

    # the same records give the same bytes
    assert _export(sandbox, tmp_path, capsys, "C01-B02-0201")[1] == data


def test_the_bundle_holds_the_demand_letter_as_printed_and_its_text(sandbox, tmp_path, capsys):
    sandbox.table.put_buildings_and_units([], [unit("C01-B07-0701")])
    sandbox.table.issue_bill(bill("C01-B07-0701", "2026-09", amount_fen=31_250, due=date(2026, 9, 25)))
    sandbox.advance(at("2026-11-11 09:45"))

    _, data = _export(sandbox, tmp_path, capsys, "C01-B07-0701")
    archive = zipfile.ZipFile(io.BytesIO(data))
    key = "letters/2026-11-11/C01-B07-0701.letter_d45.1.pdf"
    stored = sandbox.client("s3").get_object(Bucket=sandbox.resources["ReportBucket"], Key=key)["Body"].read()
    assert archive.read(key) == stored
    [letter] = [r for r in csv.DictReader(io.StringIO(archive.read("reminders.csv").decode("utf-8-sig")))
                if r["channel"] == "letter"]  # fmt: skip
    assert letter["letter_file"] == key
    text = archive.read(letter["text_file"]).decode()
    assert "物业费催缴函" in text and "王芳业主" in text and "312.50" in text and "送达回执" in text
    assert json.loads(archive.read("manifest.json"))["files"][key] == hashlib.sha256(stored).hexdigest()


def test_an_unknown_unit_is_refused(sandbox, tmp_path, capsys):
    assert cli.main(["evidence", "C09-B09-0909", "--out", str(tmp_path), "--table", sandbox.table.name]) == 1
    assert "no unit C09-B09-0909" in capsys.readouterr().err

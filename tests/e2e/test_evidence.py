"""`propfee evidence UNIT`: a zip a lawyer can rely on, taken from the records in the sandbox."""

import csv
import hashlib
import io
import json
import zipfile

import pytest

from propfee import cli
from tests.support import at, bill, payment, unit

pytestmark = pytest.mark.e2e


def _export(sandbox, tmp_path, capsys, unit_id):
    assert cli.main(["evidence", unit_id, "--out", str(tmp_path), "--table", sandbox.table.name]) == 0
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

    # the same records give the same bytes
    assert _export(sandbox, tmp_path, capsys, "C01-B02-0201")[1] == data


def test_an_unknown_unit_is_refused(sandbox, tmp_path, capsys):
    assert cli.main(["evidence", "C09-B09-0909", "--out", str(tmp_path), "--table", sandbox.table.name]) == 1
    assert "no unit C09-B09-0909" in capsys.readouterr().err

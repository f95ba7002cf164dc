"""Billing-system exports uploaded to the imports bucket: applied at once, rejects and a summary beside them."""

import csv
import io
import json
from decimal import Decimal

import pytest

from tests.support import at
from tests.support.sandbox import UNITS, assert_calls_allowed, payments_file

pytestmark = pytest.mark.e2e


def test_an_uploaded_payments_file_stops_that_days_reminders_for_the_units_that_paid(estate):
    s3, bucket = estate.client("s3"), estate.resources["ImportBucket"]
    estate.advance(at("2026-11-11 08:40"))
    s3.put_object(Bucket=bucket, Key="incoming/payments/2026-11-11.csv", Body=payments_file())
    estate.advance(at("2026-11-11 08:45"))

    summary = json.loads(
        s3.get_object(Bucket=bucket, Key="results/incoming/payments/2026-11-11.csv.json")["Body"].read()
    )
    assert (summary["rows_applied"], summary["rows_rejected"], summary["applied_fen"]) == (3, 4, 75000)
    reasons = {r["line"]: r["reason"] for r in summary["rejects"]}
    assert reasons[6] == "duplicate reference, first on line 5"
    assert reasons[7].startswith("building") and reasons[8].startswith("room") and reasons[9].startswith("实收金额")
    rejects = s3.get_object(Bucket=bucket, Key="results/incoming/payments/2026-11-11.csv.rejects.csv")["Body"].read()
    assert [row[0] for row in csv.reader(io.StringIO(rejects.decode("utf-8-sig")))] == ["line", "6", "7", "8", "9"]
    assert [estate.table.get_unit(u).balance_fen for u in UNITS[:4]] == [0, 0, 0, 25000]

    estate.advance(at("2026-11-11 09:45"))  # the morning plan: only the units that still owe
    reminded = {phone for _, phone, _ in estate.sent_sms()}
    assert len(estate.sent_sms()) == 3 and reminded == {"+8613812345678"}
    claims = [u for u in UNITS if estate.table.get_unit(u).steps_done]
    assert claims == UNITS[3:]

    # the same file again (a retry, a second upload) changes nothing
    s3.put_object(Bucket=bucket, Key="incoming/payments/2026-11-11-again.csv", Body=payments_file())
    estate.advance(at("2026-11-11 10:00"))
    again = json.loads(
        s3.get_object(Bucket=bucket, Key="results/incoming/payments/2026-11-11-again.csv.json")["Body"].read()
    )
    assert (again["rows_applied"], again["rows_already_applied"]) == (0, 3)
    assert [estate.table.get_unit(u).balance_fen for u in UNITS[:3]] == [0, 0, 0]
    assert_calls_allowed(estate.function_calls)


def test_a_ledger_file_issues_each_period_once_and_a_broken_file_applies_nothing(estate):
    s3, bucket = estate.client("s3"), estate.resources["ImportBucket"]
    ledger = '房号,楼栋,账期,应收金额,到期日\n0101,1栋,2026年11月,"1,234.50",2026-11-10\n0102,1栋,2026-11,250,\n'
    for name in ("a.csv", "b.csv"):
        s3.put_object(Bucket=bucket, Key=f"incoming/ledger/C01/{name}", Body=ledger.encode("utf-8-sig"))
    s3.put_object(Bucket=bucket, Key="incoming/ledger/C01/broken.xlsx", Body=b"PK\x03\x04 not really a workbook")
    estate.advance(at("2026-11-11 08:00"))

    first, second, broken = (
        json.loads(s3.get_object(Bucket=bucket, Key=f"results/incoming/ledger/C01/{n}.json")["Body"].read())
        for n in ("a.csv", "b.csv", "broken.xlsx")
    )
    assert (first["rows_applied"], first["applied_fen"], second["rows_already_applied"]) == (2, 148450, 2)
    assert broken["ok"] is False and broken["error"]
    assert estate.table.get_unit("C01-B01-0101").open_bills["2026-11"].outstanding_fen == 123450
    assert str(estate.table.get_unit("C01-B01-0102").open_bills["2026-11"].due) == "2026-11-10"


def test_a_refund_reopens_what_was_paid_and_one_larger_than_the_payments_is_refused(estate):
    s3, bucket = estate.client("s3"), estate.resources["ImportBucket"]
    header = "楼栋,房号,实收金额,缴费日期,流水号\n"
    paid = header + "1栋,0105,300.00,2026-11-11 08:00,P1\n"  # 250 for October, 50 of credit
    refunds = header + "1栋,0105,-120.00,2026-11-11 08:30,R1\n1栋,0105,-500.00,2026-11-11 08:31,R2\n"
    s3.put_object(Bucket=bucket, Key="incoming/payments/paid.csv", Body=paid.encode())
    estate.advance(at("2026-11-11 08:10"))
    assert estate.table.get_unit("C01-B01-0105").credit_fen == 5000
    s3.put_object(Bucket=bucket, Key="incoming/payments/refunds.csv", Body=refunds.encode())
    estate.advance(at("2026-11-11 08:40"))

    summary = json.loads(s3.get_object(Bucket=bucket, Key="results/incoming/payments/refunds.csv.json")["Body"].read())
    assert (summary["rows_applied"], summary["applied_fen"], summary["rows_rejected"]) == (1, -12000, 1)
    assert summary["rejects"][0]["reason"].startswith("amount: a refund larger")
    after = estate.table.get_unit("C01-B01-0105")  # 50 from the credit, then 70 of October re-opened
    assert (after.credit_fen, after.open_bills["2026-10"].outstanding_fen) == (0, 7000)
    [total] = [t for t in estate.table.period_totals("C01") if t.period == "2026-10"]
    assert total.paid_fen == 25000 - 7000  # October's totals follow the refund


def test_the_billing_function_issues_each_units_month_once_from_its_fee_schedule(estate):
    schedule = Decimal("235")  # fen per m² and month: 100.00 m² -> 235.00 yuan
    rated = estate.table.get_unit("C01-B01-0101").model_copy(update={"rate_fen_per_m2": schedule})
    estate.table.put_buildings_and_units([], [rated])

    first = estate.invoke("BillingFunction", {"date": "2026-12-01"})  # as the schedule runs it on the 1st
    rerun = estate.invoke("BillingFunction", {"date": "2026-12-01"})

    assert (first["issued"], rerun["already_issued"]) == (len(UNITS), len(UNITS))
    december = [estate.table.get_unit(u).open_bills["2026-12"] for u in UNITS]
    assert [b.outstanding_fen for b in december] == [23500] + [25000] * (len(UNITS) - 1)
    assert {str(b.due) for b in december} == {"2026-12-10"}
    assert_calls_allowed(estate.function_calls)

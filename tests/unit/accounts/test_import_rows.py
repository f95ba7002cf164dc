"""Ledger and payment rows from real-shaped exports: conversions, reasons, duplicates, the check summary, rejects."""

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest

from propfee.accounts.imports.reading import ImportFileError, read_rows
from propfee.accounts.imports.report import (
    REJECTS_IN_SUMMARY,
    CheckSummary,
    check,
    safe_cell,
    write_rejects_csv,
)
from propfee.accounts.imports.rows import LedgerRow, PaymentRow, Rejected, parse_ledger, parse_payments
from tests.support.builders import SHANGHAI

LEDGER = (
    "2026年11月应收明细\n"
    "小区,楼栋,单元,房号,业主姓名,联系电话,建筑面积(㎡),单价,所属期间,应收金额（元）,截止日期\n"
    "锦绣花园,3栋,1单元,1502室,王芳,13812345678/13912345678,89.55,2.35元/㎡,2026年11月,210.44,2026-11-10\n"
    '锦绣花园,3栋,1单元,1503,李雷,无,102.10,2.125,202611,"1,234.50",46336\n'
)
PAYMENTS = (
    "楼栋,房号,实收金额,缴费日期,流水号,支付方式,账期\n"
    "3栋,1502,¥210.44,2026-11-03 10:15:00,WX-0001,微信,2026-11\n"
    "3栋,1503,(50.00),2026/11/4,REF-0002,现金,\n"
    "3栋,1504,１２３４．５０,2026年11月5日 9时30分,WX-0003,支付宝,\n"
)


def ledger(text: str) -> list[LedgerRow | Rejected]:
    return list(parse_ledger(read_rows(io.BytesIO(text.encode("gbk")), "ledger.csv"), SHANGHAI))


def payments(text: str) -> list[PaymentRow | Rejected]:
    return list(parse_payments(read_rows(io.BytesIO(text.encode()), "payments.csv"), SHANGHAI))


def reasons(results: list) -> list[tuple[int, str]]:
    return [(r.line, r.reason) for r in results if isinstance(r, Rejected)]


def test_ledger_rows_are_converted_exactly():
    first, second = ledger(LEDGER)
    assert first == LedgerRow(
        line=3,
        community_id="锦绣花园",
        building="3栋",
        unit="1单元",
        room="1502",
        owner_name="王芳",
        phones=("+8613812345678", "+8613912345678"),
        area_m2=Decimal("89.55"),
        rate_fen_per_m2=Decimal("235"),
        period="2026-11",
        amount_due_fen=21_044,
        due=date(2026, 11, 10),
    )
    assert first.phone == "+8613812345678"
    assert (second.room, second.phones, second.rate_fen_per_m2) == ("1503", (), Decimal("212.5"))
    assert (second.amount_due_fen, second.due) == (123_450, date(2026, 11, 10))


def test_a_row_never_shows_its_owner_in_logs():
    first = ledger(LEDGER)[0]
    assert "王芳" not in repr(first) and "13812345678" not in repr(first)
    rejected = ledger(LEDGER.replace("210.44", "abc"))[0]
    assert "王芳" not in repr(rejected) and "13812345678" not in repr(rejected)


def test_payment_rows_with_a_refund_and_full_width_digits():
    paid, refund, alipay = payments(PAYMENTS)
    assert paid == PaymentRow(
        line=2,
        building="3栋",
        room="1502",
        amount_fen=21_044,
        paid_at=datetime(2026, 11, 3, 10, 15, tzinfo=SHANGHAI),
        reference="WX-0001",
        method="wechat",
        period="2026-11",
    )
    assert (refund.amount_fen, refund.is_refund, refund.method, refund.period) == (-5_000, True, "cash", None)
    assert refund.paid_at == datetime(2026, 11, 4, tzinfo=SHANGHAI)
    assert (alipay.amount_fen, alipay.paid_at.hour, alipay.method) == (123_450, 9, "alipay")


def test_a_reason_names_the_column_as_written_and_every_problem_without_the_values():
    bad = (
        LEDGER.replace("13812345678/13912345678", "1381234567")
        .replace("89.55", "八十")
        .replace("2026年11月", "11/2026")
    )
    [rejected, accepted] = ledger(bad)
    assert isinstance(accepted, LedgerRow)
    assert rejected.line == 3
    assert rejected.reason == (
        "联系电话: not a valid phone number; 建筑面积(㎡): not an area; 所属期间: not a billing month (YYYY-MM)"
    )
    assert "1381234567" not in rejected.reason and "王芳" not in rejected.reason


def test_missing_values_and_impossible_amounts_are_rejected():
    text = (
        "楼栋,房号,实收金额,缴费日期,流水号\n"
        "3栋,,10,2026-11-03,A\n"
        "3栋,1502,0,2026-11-03,B\n"
        "3栋,1502,10.005,2026-11-03,C\n"
        "3栋,1502,10,03/11/2026,D\n"
        "3栋,1502,10,2026-11-03,\n"
        "3栋,1502,10,2026-11-03,2.02611E+15\n"
    )
    assert reasons(payments(text)) == [
        (2, "房号: missing"),
        (3, "实收金额: zero"),
        (4, "实收金额: more than 2 decimal places"),
        (5, "缴费日期: year last: day and month order is ambiguous, write YYYY-MM-DD"),
        (6, "流水号: missing"),
        (7, "流水号: in scientific notation (1.23E+15): digits are lost, format the column as text"),
    ]


def test_a_negative_bill_is_not_a_bill():
    assert reasons(ledger(LEDGER.replace("210.44", "-210.44"))) == [
        (3, "应收金额（元）: negative: a credit note is not a bill")
    ]


def test_duplicate_references_are_rejected_from_the_second_occurrence():
    text = PAYMENTS + "3栋,1505,10,2026-11-06,WX-0001,微信,\n" + "3栋,1506,20,2026-11-06, WX-0001 ,微信,\n"
    results = payments(text)
    assert [r.line for r in results if isinstance(r, PaymentRow)] == [2, 3, 4]
    assert reasons(results) == [
        (5, "duplicate reference, first on line 2"),
        (6, "duplicate reference, first on line 2"),
    ]


def test_a_rejected_row_does_not_claim_its_reference():
    text = "楼栋,房号,实收金额,缴费日期,流水号\n3栋,1502,abc,2026-11-03,R1\n3栋,1502,10,2026-11-03,R1\n"
    assert reasons(payments(text)) == [(2, "实收金额: not an amount")]


def test_exact_duplicate_ledger_rows_are_rejected_even_when_written_differently():
    repeat = "锦绣花园,3栋,1单元,1502,王芳,138 1234 5678/13912345678,89.550,2.35,2026-11,210.440,2026/11/10\n"
    changed = "锦绣花园,3栋,1单元,1502,王芳,13812345678/13912345678,89.55,2.35元/㎡,2026年11月,210.45,2026-11-10\n"
    results = ledger(LEDGER + repeat + changed)
    assert reasons(results) == [(5, "duplicate row, first on line 3")]
    assert len([r for r in results if isinstance(r, LedgerRow)]) == 3


def test_the_building_may_be_written_in_the_room():
    text = (
        "房号,实收金额,缴费日期,流水号\n3栋1单元1502,10,2026-11-03,A\n3-2-1503,10,2026-11-03,B\n1504,10,2026-11-03,C\n"
    )
    first, second, third = payments(text)
    assert (first.building, first.unit, first.room) == ("3栋", "1单元", "1502")
    assert (second.building, second.unit, second.room) == ("3", "2", "1503")
    assert third.reason == "building: missing"


def test_a_file_without_a_required_column_is_refused_not_every_row():
    with pytest.raises(ImportFileError, match=r"missing columns: 流水号 \(reference\)"):
        payments("楼栋,房号,实收金额,缴费日期\n3栋,1502,10,2026-11-03\n")
    with pytest.raises(ImportFileError, match=r"missing columns: 账期 \(period\), 应收 \(amount_due\)"):
        ledger("楼栋,房号,实收金额\n3栋,1502,10\n")


def test_payments_from_an_xlsx_with_date_cells_serials_and_text():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["收款明细"])
    sheet.append(["楼栋", "房号", "实收金额", "缴费日期", "流水号", "账期"])
    sheet.append(["3栋", 1502, 210.44, datetime(2026, 11, 3, 10, 15), "WX-1", datetime(2026, 11, 1)])
    sheet.append(["3栋", 1503, -50, 46329.75, 20261103001, "2026-11"])
    sheet.append(["3栋", 1504, "1,234.50", "2026-11-05", 2.02611031234567e15, 202611])
    sheet.append(["3栋", 1505, 0.1 + 0.2, "46329", "WX-4", 2026.1])
    buffer = io.BytesIO()
    book.save(buffer)
    results = list(parse_payments(read_rows(io.BytesIO(buffer.getvalue()), "p.xlsx"), SHANGHAI))
    first, second = results[:2]
    assert (first.room, first.amount_fen, first.paid_at, first.period) == (
        "1502",
        21_044,
        datetime(2026, 11, 3, 10, 15, tzinfo=SHANGHAI),
        "2026-11",
    )
    assert (second.amount_fen, second.paid_at.hour, second.reference) == (-5_000, 18, "20261103001")
    assert reasons(results) == [
        (5, "流水号: a long number stored as a number: digits are lost, format the column as text"),
        (6, "账期: a month stored as a number (2026.1 or 2026.10?), format the column as text"),
    ]


# ---------------------------------------------------------------------------------------------- summary, rejects


def test_check_summarises_without_applying():
    text = PAYMENTS + "3栋,1505,abc,2026-11-06,WX-9,微信,\n3栋,1506,20,2026-11-06,WX-0001,微信,\n"
    summary = check(io.BytesIO(text.encode()), "payments.csv", "payments", SHANGHAI)
    assert json.loads(summary.to_json()) == {
        "file": "payments.csv",
        "kind": "payments",
        "ok": True,
        "error": None,
        "rows_accepted": 3,
        "rows_rejected": 2,
        "rejects": [
            {"line": 5, "reason": "实收金额: not an amount"},
            {"line": 6, "reason": "duplicate reference, first on line 2"},
        ],
        "rejects_truncated": False,
        "totals_fen": {"due": 0, "paid": 21_044 + 123_450, "refunded": 5_000},
    }


def test_check_of_a_ledger_totals_what_is_due():
    summary = check(io.BytesIO(LEDGER.encode("gbk")), "ledger.csv", "ledger", SHANGHAI)
    assert (summary.accepted, summary.rejected, summary.due_fen) == (2, 0, 21_044 + 123_450)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", "ledger.xlsx: the file is empty"),
        (b"PK\x03\x04garbage", "ledger.xlsx: not a readable XLSX workbook (BadZipFile)"),
    ],
)
def test_check_reports_a_refused_file_as_json(data, error):
    summary = check(io.BytesIO(data), "ledger.xlsx", "ledger", SHANGHAI)
    assert summary.as_dict() | {"error": None} == CheckSummary("ledger.xlsx", "ledger").as_dict() | {"ok": False}
    assert summary.error == error


def test_the_summary_keeps_the_first_thousand_rejects_and_counts_all():
    summary = CheckSummary("payments.csv", "payments")
    [raw] = read_rows(io.BytesIO(b"building,room,amount\n3,1502,x\n"), "payments.csv")
    for line in range(1, 2_501):
        summary.add(Rejected(line, "实收金额: not an amount", raw))
    result = summary.as_dict()
    assert (result["rows_rejected"], len(result["rejects"]), result["rejects_truncated"]) == (2_500, 1_000, True)
    assert result["rejects"][-1]["line"] == REJECTS_IN_SUMMARY


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-1+cmd|' /C calc'!A0", "'-1+cmd|' /C calc'!A0"),
        ("-50.00", "'-50.00"),  # a refund amount too: the safe side, it reads as text
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("50.00", "50.00"),
        ("王芳", "王芳"),
        (" =1", " =1"),
        (None, ""),
        (1234.5, "1234.5"),
        (datetime(2026, 11, 3, 10, 15), "2026-11-03 10:15:00"),
    ],
)
def test_rejects_cells_are_neutralised_against_formula_injection(cell, written):
    assert safe_cell(cell) == written


def test_the_rejects_file_has_line_reason_and_the_original_columns():
    text = "楼栋,房号,实收金额,缴费日期,流水号,=备注\n3栋,1502,-50.00,11/03/2026,=1+2,@x\n3栋,1503,10,2026-11-03,R2,\n"
    rejects = (r for r in payments(text) if isinstance(r, Rejected))
    out = io.StringIO(newline="")
    assert write_rejects_csv(rejects, out) == 1
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [
        ["line", "reason", "楼栋", "房号", "实收金额", "缴费日期", "流水号", "'=备注"],
        [
            "2",
            "缴费日期: year last: day and month order is ambiguous, write YYYY-MM-DD",
            "3栋",
            "1502",
            "'-50.00",
            "11/03/2026",
            "'=1+2",
            "'@x",
        ],
    ]


def test_an_empty_rejects_file_still_has_its_header():
    out = io.StringIO()
    assert write_rejects_csv([], out) == 0
    assert out.getvalue() == "line,reason\r\n"


def test_check_writes_the_rejects_file_as_it_goes():
    text = PAYMENTS + "3栋,1505,abc,2026-11-06,WX-9,微信,\n"
    out = io.StringIO()
    summary = check(io.BytesIO(text.encode()), "payments.csv", "payments", SHANGHAI, rejects_out=out)
    assert summary.rejected == 1
    assert out.getvalue().splitlines()[1].startswith("5,实收金额: not an amount,3栋,1505,abc")

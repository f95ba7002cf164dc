"""Applying ledger and payment files to units, with an in-memory ledger that keeps the table's promises."""

import csv
import io
import re
import threading
import zipfile
from datetime import date, datetime

import openpyxl
import pytest

from propfee.accounts.imports import apply
from propfee.accounts.imports.apply import DUE_DAY, UnitDirectory, apply_file
from propfee.accounts.imports.rows import LedgerRow, PaymentRow
from propfee.accounts.imports.uploads import kind_of, results_key
from propfee.accounts.ledger import Allocation, PaidBill, allocate, refund, with_bill
from propfee.domain.models import Bill, Building, Community, Payment, Unit, room_key
from tests.support import SHANGHAI, at, bill, unit

NOW = at("2026-11-12 09:00")
C01 = Community(community_id="C01", name="锦绣花园")
C02 = Community(community_id="C02", name="翠湖苑")
BUILDINGS = [
    Building(community_id="C01", building_id="C01-B01", name="1栋", floors=18),
    Building(community_id="C01", building_id="C01-B03", name="3栋", floors=18),
    Building(community_id="C02", building_id="C02-B03", name="3栋", floors=11),
]
UNITS = ["C01-B01-0101", "C01-B01-0102", "C01-B03-1502", "C01-B03-1503"]

PAYMENT_HEADER = ["楼栋", "房号", "业主", "手机", "实收金额", "缴费日期", "流水号", "支付方式"]
LEDGER_HEADER = ["楼栋", "房号", "业主", "手机", "账期", "应收金额", "到期日"]
PERSONAL = re.compile(r"王芳|李雷|\d{7,}")  # an owner's name or phone number


class MemoryLedger:
    """What PropfeeTable does for imports, in dicts: a bill once per unit and period, a payment reference once
    company-wide, the unit found by building and room ('0101' is '101'). Thread-safe: units are applied in parallel."""

    def __init__(self, communities: list[Community], buildings: list[Building], units: list[Unit]) -> None:
        self._communities = list(communities)
        self._buildings = list(buildings)
        self.units = {u.unit_id: u for u in units}
        self.rooms = {(u.building_id, room_key(u.room)): u.unit_id for u in units}
        self.bills: dict[tuple[str, str], Bill] = {}
        self.paid: dict[tuple[str, str], int] = {}  # what has been paid of each bill (the bill items' paid_fen)
        self.references: dict[str, str] = {}
        self.payments: list[tuple[Payment, Allocation]] = []
        self.stale_units_given = 0  # the table would have to read the unit again
        self._lock = threading.Lock()

    def communities(self) -> list[Community]:
        return list(self._communities)

    def buildings(self, community_id: str) -> list[Building]:
        return [b for b in self._buildings if b.community_id == community_id]

    def unit_in_room(self, building_id: str, room: str) -> Unit | None:
        with self._lock:
            unit_id = self.rooms.get((building_id, room_key(room)))
            return None if unit_id is None else self.units[unit_id]

    def issue_bill(self, bill: Bill) -> bool:
        with self._lock:
            current = self.units[bill.unit_id]
            if (bill.unit_id, bill.period) in self.bills or bill.period in current.open_bills:
                return False
            after = with_bill(current, bill)
            self.units[bill.unit_id] = after
            self.bills[(bill.unit_id, bill.period)] = bill
            self.paid[(bill.unit_id, bill.period)] = current.credit_fen - after.credit_fen
            return True

    def record_payment(self, payment: Payment, unit: Unit | None = None) -> Allocation | None:
        with self._lock:
            current = self.units[payment.unit_id]
            if unit is not None and unit.unit_id == payment.unit_id and unit != current:
                self.stale_units_given += 1  # the version check fails: the table reads the unit again
            # in the table's order: a refund's reference is looked up first (its money may be gone already), a
            # payment's is claimed with the write
            if payment.is_refund and payment.reference in self.references:
                return None
            if payment.is_refund:
                paid_bills = [
                    PaidBill(period=period, due=b.due, amount_fen=b.amount_fen, paid_fen=self.paid[(unit_id, period)])
                    for (unit_id, period), b in self.bills.items()
                    if unit_id == payment.unit_id
                ]
                allocation = refund(current, paid_bills, payment)
            else:
                allocation = allocate(current, payment)
            if payment.reference in self.references:
                return None
            self.units[payment.unit_id] = allocation.unit_after
            self.references[payment.reference] = payment.unit_id
            for period, amount in allocation.by_period.items():
                self.paid[(payment.unit_id, period)] = self.paid.get((payment.unit_id, period), 0) + amount
            self.payments.append((payment, allocation))
            return allocation

    def state(self) -> tuple[object, ...]:
        with self._lock:
            return dict(self.units), dict(self.bills), dict(self.paid), dict(self.references), list(self.payments)

    def balances(self, *unit_ids: str) -> list[int]:
        return [self.units[u].balance_fen for u in unit_ids]


def estate(*communities: Community, bills: tuple[str, ...] = ("2026-10",)) -> MemoryLedger:
    """C01 (and C02 when asked), every unit billed 250.00 for each of `bills`, due on the 10th."""
    chosen = communities or (C01,)
    ids = {c.community_id for c in chosen}
    units = [u for u in (unit(i) for i in [*UNITS, "C02-B03-1502"]) if u.community_id in ids]
    store = MemoryLedger(list(chosen), [b for b in BUILDINGS if b.community_id in ids], units)
    for u in units:
        for period in bills:
            store.issue_bill(bill(u.unit_id, period))
    return store


def csv_bytes(*rows: list[object], encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def pay(building: str, room: str, amount: str, reference: str, when: str = "2026-11-03 10:00") -> list[str]:
    return [building, room, "王芳", "13812345678", amount, when, reference, "微信"]


def run(store, data: bytes, kind: str = "payments", filename: str = "file.csv", default: str | None = None):
    """The summary and the rejects file's rows."""
    out = io.StringIO(newline="")
    summary = apply_file(io.BytesIO(data), filename, kind, SHANGHAI, store, NOW, out, default_community=default)
    return summary, list(csv.reader(io.StringIO(out.getvalue())))


def counts(summary) -> tuple[int, int, int, int]:
    return summary.applied, summary.duplicates, summary.rejected, summary.applied_fen


# --------------------------------------------------------------------------------------------- applying rows


def test_payments_are_applied_to_the_units_the_rows_name_and_summarised():
    store = estate()
    data = csv_bytes(
        PAYMENT_HEADER,
        pay("1栋", "0101", "250.00元", "WX-1"),
        pay("1栋", "0102", "100", "WX-2", "2026-11-04"),
        pay("3栋", "1502", "abc", "WX-3"),
    )
    summary, _ = run(store, data)
    assert summary.as_dict() == {
        "file": "file.csv",
        "kind": "payments",
        "ok": True,
        "error": None,
        "rows_applied": 2,
        "rows_already_applied": 0,
        "rows_rejected": 1,
        "rejects": [{"line": 4, "reason": "实收金额: not an amount"}],
        "rejects_truncated": False,
        "applied_fen": 35_000,
    }
    assert store.balances(*UNITS) == [0, 15_000, 25_000, 25_000]
    first = store.payments[0][0]
    assert first == Payment(
        reference="WX-1",
        unit_id="C01-B01-0101",
        community_id="C01",
        amount_fen=25_000,
        paid_at=at("2026-11-03 10:00"),
        method="wechat",
    )
    assert first.paid_at.tzinfo == SHANGHAI


def test_a_payment_without_a_method_is_recorded_as_imported():
    store = estate()
    summary, _ = run(
        store, csv_bytes(["楼栋", "房号", "实收金额", "缴费日期", "流水号"], ["1栋", "0101", "1", "2026-11-03", "R"])
    )
    assert summary.applied == 1 and store.payments[0][0].method == "import"


def test_a_ledger_issues_bills_and_a_line_without_a_due_date_falls_due_on_due_day():
    store = estate(bills=())
    data = csv_bytes(
        LEDGER_HEADER,
        ["1栋", "0101", "王芳", "13812345678", "2026年11月", "1,234.50", "2026-11-20"],
        ["1栋", "0102", "李雷", "13912345678", "2026-11", "250", ""],
        ["3栋", "1502", "李雷", "13912345678", "2026-11", "-1", ""],
    )
    summary, _ = run(store, data, "ledger")
    assert counts(summary) == (2, 0, 1, 148_450)
    first, second = store.bills[("C01-B01-0101", "2026-11")], store.bills[("C01-B01-0102", "2026-11")]
    assert (first.amount_fen, first.due, first.issued_at, first.community_id) == (
        123_450,
        date(2026, 11, 20),
        NOW,
        "C01",
    )
    assert second.due == date(2026, 11, DUE_DAY)
    assert store.units["C01-B01-0102"].open_bills["2026-11"].due == date(2026, 11, DUE_DAY)
    assert ("C01-B03-1502", "2026-11") not in store.bills


def test_a_ledger_without_a_due_date_column_falls_due_on_due_day():
    store = estate(bills=())
    summary, _ = run(store, csv_bytes(["楼栋", "房号", "账期", "应收"], ["3栋", "1502", "202612", "99.90"]), "ledger")
    assert counts(summary) == (1, 0, 0, 9_990)
    assert store.bills[("C01-B03-1502", "2026-12")].due == date(2026, 12, DUE_DAY)


def test_an_xlsx_ledger_with_number_and_date_cells():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["2026年11月应收明细"])
    sheet.append(["小区", "楼栋", "房号", "所属期间", "应收金额（元）", "截止日期"])
    sheet.append(["锦绣花园", "3栋", 1502, "2026-11", 210.44, datetime(2026, 11, 15)])
    sheet.append(["C01", "B01", 101, datetime(2026, 11, 1), 250, None])
    sheet.append(["C01", "1栋", 102, "2026-11", "-250", None])
    sheet.append(["C01", "9栋", 101, "2026-11", 250, None])
    buffer = io.BytesIO()
    book.save(buffer)
    store = estate(bills=())
    summary, rejects = run(store, buffer.getvalue(), "ledger", "ledger.xlsx")
    assert counts(summary) == (2, 0, 2, 21_044 + 25_000)
    assert store.bills[("C01-B03-1502", "2026-11")].due == date(2026, 11, 15)
    assert store.bills[("C01-B01-0101", "2026-11")].due == date(2026, 11, DUE_DAY)
    assert [row[0] for row in rejects] == ["line", "5", "6"]
    assert rejects[1][2:] == ["C01", "1栋", "102", "2026-11", "'-250"]  # the sheet's trailing empty cell is not kept
    assert rejects[2][1] == "building: not a building of the community"


# ------------------------------------------------------------------------------------ communities and buildings


def test_the_community_is_found_by_id_or_name():
    store = estate(C01, C02)
    data = csv_bytes(
        ["小区", *PAYMENT_HEADER],
        ["C01", *pay("3栋", "1502", "10", "R1")],
        ["锦绣花园", *pay("3栋", "1503", "20", "R2")],
        ["翠湖苑", *pay("3栋", "1502", "30", "R3")],
        ["星河湾", *pay("3栋", "1502", "40", "R4")],
    )
    summary, _ = run(store, data)
    assert counts(summary) == (3, 0, 1, 6_000)
    assert store.balances("C01-B03-1502", "C01-B03-1503", "C02-B03-1502") == [24_000, 23_000, 22_000]
    assert summary.rejects == [{"line": 5, "reason": "community: not one of the company's communities"}]


def test_a_file_without_a_community_column_applies_to_the_only_community():
    store = estate()
    summary, _ = run(store, csv_bytes(PAYMENT_HEADER, pay("3栋", "1502", "10", "R1")))
    assert counts(summary) == (1, 0, 0, 1_000)


def test_a_several_community_company_needs_the_column_or_the_folders_community():
    data = csv_bytes(PAYMENT_HEADER, pay("3栋", "1502", "10", "R1"), pay("3栋", "1503", "10", "R2"))
    store = estate(C01, C02)
    summary, rejects = run(store, data)
    assert counts(summary) == (0, 0, 2, 0)
    assert {r["reason"] for r in summary.rejects} == {
        "community: the file has no community column and the company has several"
    }
    assert [row[:2] for row in rejects[1:]] == [[str(r["line"]), r["reason"]] for r in summary.rejects]
    assert store.payments == []

    summary, _ = run(store, data, default="C02")
    assert counts(summary) == (1, 0, 1, 1_000)
    assert store.balances("C01-B03-1502", "C02-B03-1502") == [25_000, 24_000]
    assert summary.rejects == [{"line": 3, "reason": "room: no such unit in the building"}]  # C02 has no 1503


def test_a_row_naming_its_community_wins_over_the_folders():
    store = estate(C01, C02)
    summary, _ = run(
        store, csv_bytes(["小区", *PAYMENT_HEADER], ["C01", *pay("3栋", "1502", "10", "R1")]), default="C02"
    )
    assert counts(summary) == (1, 0, 0, 1_000)
    assert store.balances("C01-B03-1502", "C02-B03-1502") == [24_000, 25_000]


def directory(default: str | None = None) -> UnitDirectory:
    return UnitDirectory(
        [C01, C02], {c: [b for b in BUILDINGS if b.community_id == c] for c in ("C01", "C02")}, default
    )


def row(building: str, community: str | None = "C01") -> PaymentRow:
    return PaymentRow(
        line=2, community_id=community, building=building, room="1502", amount_fen=1, paid_at=NOW, reference="R"
    )


@pytest.mark.parametrize("written", ["C01-B03", "B03", "3栋", "3号楼", "3", "03", "3幢", "b03"])
def test_a_building_is_found_by_id_suffix_name_or_number(written):
    assert directory().building_id(row(written)) == ("C01-B03", "")


@pytest.mark.parametrize("written", ["C02-B03", "B03", "3栋", "3号楼", "3"])
def test_the_same_spelling_in_another_community_is_that_communitys_building(written):
    assert directory().building_id(row(written, "翠湖苑")) == ("C02-B03", "")
    assert directory("C02").building_id(row(written, None)) == ("C02-B03", "")


@pytest.mark.parametrize("written", ["9栋", "B09", "13", "C01-B09", "甲栋"])
def test_an_unknown_building_is_refused_naming_the_column(written):
    assert directory().building_id(row(written)) == (None, "building: not a building of the community")


def test_a_ledger_row_is_placed_like_a_payment_row():
    ledger_row = LedgerRow(line=2, building="1号楼", room="0101", period="2026-11", amount_due_fen=1)
    assert directory("C01").building_id(ledger_row) == ("C01-B01", "")
    assert directory().building_id(ledger_row)[0] is None  # two communities, no column, no folder


def test_building_spellings_in_one_file_reach_the_same_unit():
    store = estate()
    spellings = ["C01-B03", "B03", "3栋", "3号楼", "3"]
    data = csv_bytes(PAYMENT_HEADER, *(pay(b, "1502", "10", f"R{n}") for n, b in enumerate(spellings)))
    summary, _ = run(store, data)
    assert counts(summary) == (5, 0, 0, 5_000)
    assert store.balances("C01-B03-1502") == [20_000]
    assert [a.unit_after.balance_fen for _, a in store.payments] == [24_000, 23_000, 22_000, 21_000, 20_000]


def test_rooms_0101_and_101_are_the_same_room():
    store = estate()
    data = csv_bytes(
        PAYMENT_HEADER, pay("1栋", "0101", "10", "R1"), pay("1栋", "101", "20", "R2"), pay("1", "101室", "30", "R3")
    )
    summary, _ = run(store, data)
    assert counts(summary) == (3, 0, 0, 6_000)
    assert {p.unit_id for p, _ in store.payments} == {"C01-B01-0101"}
    assert store.balances("C01-B01-0101") == [19_000]


def test_a_building_number_that_two_buildings_share_is_refused():
    phases = [
        Building(community_id="C01", building_id="C01-P1B03", name="一期3栋", floors=6),
        Building(community_id="C01", building_id="C01-P2B03", name="二期3栋", floors=6),
    ]
    units = [unit("C01-P1B03-0101"), unit("C01-P2B03-0101")]
    store = MemoryLedger([C01], phases, units)
    summary, _ = run(store, csv_bytes(PAYMENT_HEADER, pay("3栋", "0101", "10", "R1")))
    assert summary.applied == 0 and store.payments == []
    assert summary.rejects[0]["reason"].startswith("building")


def test_another_communitys_building_id_is_refused():
    store = estate(C01, C02)
    summary, _ = run(store, csv_bytes(["小区", *PAYMENT_HEADER], ["C01", *pay("C02-B03", "1502", "10", "R1")]))
    assert summary.applied == 0 and store.payments == []


# ------------------------------------------------------------------------------------------------ rejects


def test_unknown_buildings_and_rooms_are_refused_without_personal_data_in_the_reasons():
    store = estate()
    data = csv_bytes(
        PAYMENT_HEADER,
        pay("9栋", "0101", "10", "R1"),
        pay("王芳", "0101", "10", "R2"),  # a shifted column: a name where the building goes
        pay("1栋", "13812345678", "10", "R3"),  # a phone number where the room goes
        pay("1栋", "李雷", "10", "R4"),
        pay("1栋", "0999", "10", "R5"),
    )
    summary, rejects = run(store, data)
    assert counts(summary) == (0, 0, 5, 0)
    reasons = [r["reason"] for r in summary.rejects]
    assert reasons == ["building: not a building of the community"] * 2 + ["room: no such unit in the building"] * 3
    assert [row[1] for row in rejects[1:]] == reasons
    assert not any(PERSONAL.search(reason) for reason in reasons)
    assert rejects[3][2:5] == ["1栋", "13812345678", "王芳"]  # the original cells go back to the sender
    assert store.payments == []


CHUNKED = [
    PAYMENT_HEADER,
    pay("1栋", "0101", "300.00", "P1", "2026-11-01 08:00"),  # 2
    pay("1栋", "0102", "abc", "P2"),  # 3: parse reject
    pay("9栋", "0101", "10", "P3"),  # 4: apply reject (building)
    pay("1栋", "0101", "300.00", "P4", "2026-11-02 08:00"),  # 5
    pay("1栋", "0999", "10", '=HYPERLINK("http://x")'),  # 6: apply reject (room), a formula in the reference
    pay("1栋", "0102", "10", "P1"),  # 7: parse reject, duplicate reference
    pay("1栋", "0102", "-50.00", "P7"),  # 8: a refund
    pay("3栋", "1502", "250", "P8"),  # 9
    ["1栋", "0102", "@SUM(A1)", "+8613812345678", "10", "2026-11-03", "P9", "-cmd"],  # 10
]


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 500])
def test_rows_keep_their_order_and_counts_across_chunks(monkeypatch, chunk_rows):
    monkeypatch.setattr(apply, "CHUNK_ROWS", chunk_rows)
    store = estate(bills=("2026-09", "2026-10"))
    summary, rejects = run(store, csv_bytes(*CHUNKED))
    assert counts(summary) == (4, 0, 5, 30_000 + 30_000 + 25_000 + 1_000)
    assert [r["line"] for r in summary.rejects] == [3, 4, 6, 7, 8]
    assert [row[0] for row in rejects] == ["line", "3", "4", "6", "7", "8"]
    assert rejects[0] == ["line", "reason", *PAYMENT_HEADER]
    assert rejects[3] == [
        "6",
        "room: no such unit in the building",
        *["1栋", "0999", "王芳", "13812345678", "10", "2026-11-03 10:00", '\'=HYPERLINK("http://x")', "微信"],
    ]
    assert rejects[4][1] == "duplicate reference, first on line 2"
    assert rejects[5][6] == "'-50.00"
    # the same unit's payments in file order: the oldest bill first, then the next, the rest as credit
    assert [(p.reference, a.by_period, a.credit_fen) for p, a in store.payments if p.unit_id == "C01-B01-0101"] == [
        ("P1", {"2026-09": 25_000, "2026-10": 5_000}, 0),
        ("P4", {"2026-10": 20_000}, 10_000),
    ]
    after = store.units["C01-B01-0101"]
    assert (after.balance_fen, after.credit_fen) == (0, 10_000)
    assert store.stale_units_given == 0  # each payment was given the unit as the previous one left it


def test_the_rejects_cells_are_neutralised_against_formula_injection():
    store = estate()
    data = csv_bytes(
        ["楼栋", "房号", "实收金额", "缴费日期", "流水号", "=备注"], ["=1+2", "@x", "+10", "2026-11-03", "-R", "\t=1"]
    )
    _, rejects = run(store, data)
    assert rejects == [
        ["line", "reason", "楼栋", "房号", "实收金额", "缴费日期", "流水号", "'=备注"],
        ["2", "building: not a building of the community", "'=1+2", "'@x", "'+10", "2026-11-03", "'-R", "'\t=1"],
    ]


def test_refunds_the_unit_has_not_paid_are_not_applied_and_are_listed_as_rejects():
    store = estate()
    data = csv_bytes(PAYMENT_HEADER, pay("1栋", "0101", "-50.00", "REF-1"), pay("1栋", "0102", "(30.00)", "REF-2"))
    before = store.state()
    summary, rejects = run(store, data)
    assert (summary.applied, summary.duplicates, summary.rejected, summary.applied_fen) == (0, 0, 2, 0)
    assert [r["line"] for r in summary.rejects] == [2, 3]
    assert [row[0] for row in rejects[1:]] == ["2", "3"]
    assert [row[6] for row in rejects[1:]] == ["'-50.00", "(30.00)"]
    assert store.state() == before


def test_the_same_file_with_a_refund_twice_reports_the_refund_already_applied():
    store = estate()
    data = csv_bytes(PAYMENT_HEADER, pay("1栋", "0101", "250", "P1"), pay("1栋", "0101", "-250", "R1", "2026-11-04"))
    run(store, data)
    after_first = store.state()
    summary, rejects = run(store, data, filename="again.csv")
    assert store.state() == after_first
    assert counts(summary) == (0, 2, 0, 0)
    assert rejects == [["line", "reason"]]


# -------------------------------------------------------------------------------------------- idempotence


@pytest.mark.parametrize(
    ("kind", "rows", "applied_fen"),
    [
        (
            "payments",
            [
                PAYMENT_HEADER,
                pay("1栋", "0101", "250", "WX-1"),
                pay("1栋", "0101", "50", "WX-2"),
                pay("9栋", "1", "1", "X"),
            ],
            30_000,
        ),
        (
            "ledger",
            [
                LEDGER_HEADER,
                ["1栋", "0101", "王芳", "", "2026-11", "250", ""],
                ["1栋", "0101", "王芳", "", "2026-12", "250", ""],
                ["3栋", "1502", "王芳", "", "2026-11", "0", ""],
                ["1栋", "0999", "王芳", "", "2026-11", "250", ""],
            ],
            50_000,
        ),
    ],
)
def test_the_same_file_twice_changes_nothing_the_second_time(kind, rows, applied_fen):
    store = estate()
    data = csv_bytes(*rows)
    first, first_rejects = run(store, data, kind)
    assert counts(first) == (len(rows) - 2, 0, 1, applied_fen)
    after_first = store.state()
    second, second_rejects = run(store, data, kind, "again.csv")
    assert counts(second) == (0, len(rows) - 2, 1, 0)
    assert second.as_dict()["rows_already_applied"] == len(rows) - 2
    assert second_rejects == first_rejects
    assert store.state() == after_first


def test_a_reference_already_applied_to_another_unit_is_not_applied_again():
    store = estate()
    run(store, csv_bytes(PAYMENT_HEADER, pay("1栋", "0101", "100", "BANK-7")))
    before = store.state()
    summary, _ = run(store, csv_bytes(PAYMENT_HEADER, pay("1栋", "0102", "100", "BANK-7")), filename="other.csv")
    assert (summary.applied, summary.applied_fen) == (0, 0)
    assert summary.duplicates + summary.rejected == 1
    assert store.state() == before
    assert store.references == {"BANK-7": "C01-B01-0101"}
    assert store.balances("C01-B01-0101", "C01-B01-0102") == [15_000, 25_000]


def test_several_payments_for_one_unit_apply_in_file_order_and_overpayment_becomes_credit():
    store = estate(bills=("2026-08", "2026-09", "2026-10"))
    data = csv_bytes(
        PAYMENT_HEADER,
        pay("3栋", "1502", "100", "A", "2026-11-05"),
        pay("1栋", "0101", "1", "OTHER"),
        pay("3栋", "1502", "300", "B", "2026-11-01"),  # paid earlier but listed later: the file's order counts
        pay("3栋", "1502", "500", "C", "2026-11-02"),
    )
    summary, _ = run(store, data)
    assert counts(summary) == (4, 0, 0, 90_100)
    assert [(p.reference, a.by_period, a.credit_fen) for p, a in store.payments if p.unit_id == "C01-B03-1502"] == [
        ("A", {"2026-08": 10_000}, 0),
        ("B", {"2026-08": 15_000, "2026-09": 15_000}, 0),
        ("C", {"2026-09": 10_000, "2026-10": 25_000}, 15_000),
    ]
    assert (store.units["C01-B03-1502"].balance_fen, store.units["C01-B03-1502"].credit_fen) == (0, 15_000)
    assert store.stale_units_given == 0


def test_credit_from_an_earlier_payments_file_pays_a_new_bill_down():
    store = estate()
    run(store, csv_bytes(PAYMENT_HEADER, pay("1栋", "0101", "300", "P1")))  # 50.00 credit
    summary, _ = run(store, csv_bytes(LEDGER_HEADER, ["1栋", "0101", "", "", "2026-11", "250", ""]), "ledger")
    assert counts(summary) == (1, 0, 0, 25_000)
    after = store.units["C01-B01-0101"]
    assert (after.credit_fen, after.balance_fen) == (0, 20_000)


# ------------------------------------------------------------------------------------------ file-level errors


def damaged_workbook() -> bytes:
    book = openpyxl.Workbook()
    book.active.append(PAYMENT_HEADER)
    for n in range(40):
        book.active.append(pay("1栋", "0101", "1", f"R{n}"))
    buffer = io.BytesIO()
    book.save(buffer)
    original = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    damaged = io.BytesIO()
    with zipfile.ZipFile(damaged, "w") as out:
        for item in original.infolist():
            data = original.read(item)
            if item.filename.startswith("xl/worksheets/"):
                data = data[: len(data) * 2 // 3]  # the sheet's XML stops mid-element
            out.writestr(item, data)
    return damaged.getvalue()


@pytest.mark.parametrize(
    ("data", "filename", "error"),
    [
        (b"", "p.csv", "p.csv: the file is empty"),
        ("\ufeff \n".encode(), "p.csv", "p.csv: the file is empty"),
        (
            csv_bytes(PAYMENT_HEADER[:-2], ["1栋", "0101", "", "", "10", "2026-11-03"]),
            "p.csv",
            "missing columns: 流水号",
        ),
        (b"PK\x03\x04garbage", "p.xlsx", "p.xlsx: not a readable XLSX workbook"),
        (damaged_workbook(), "p.xlsx", "p.xlsx: XLSX damaged after row"),
        (b"\xd0\xcf\x11\xe0legacy", "p.xls", "p.xls: a legacy .xls workbook"),
    ],
)
def test_a_file_level_error_applies_nothing(data, filename, error):
    store = estate()
    before = store.state()
    summary, rejects = run(store, data, filename=filename)
    assert summary.error is not None and summary.error.startswith(error)
    assert counts(summary) == (0, 0, 0, 0)
    assert summary.as_dict()["ok"] is False
    assert rejects == [["line", "reason"]]
    assert store.state() == before


def test_a_file_damaged_after_its_first_chunk_reports_what_it_applied(monkeypatch):
    """Rows are applied chunk by chunk: whatever was applied before the damage is counted, never hidden."""
    monkeypatch.setattr(apply, "CHUNK_ROWS", 5)
    store = estate()
    summary, _ = run(store, damaged_workbook(), filename="p.xlsx")
    assert summary.error.startswith("p.xlsx: XLSX damaged after row")
    assert summary.applied == len(store.payments) and summary.applied_fen == sum(
        p.amount_fen for p, _ in store.payments
    )
    assert summary.applied % 5 == 0


def test_a_ledger_file_without_its_columns_applies_nothing():
    store = estate(bills=())
    summary, _ = run(store, csv_bytes(PAYMENT_HEADER, pay("1栋", "0101", "10", "R1")), "ledger")
    assert summary.error.startswith("missing columns: 账期 (period), 应收 (amount_due)")
    assert store.bills == {} and store.payments == []


def test_an_empty_import_writes_a_rejects_file_with_its_header_only():
    summary, rejects = run(estate(), csv_bytes(PAYMENT_HEADER, ["合计", "", "", "", "0", "", "", ""]))
    assert counts(summary) == (0, 0, 0, 0) and summary.error is None
    assert rejects == [["line", "reason"]]


# ----------------------------------------------------------------------------------------------- the folder


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("incoming/ledger/2026-11.csv", ("ledger", None)),
        ("incoming/ledger/C01/2026-11.xlsx", ("ledger", "C01")),
        ("incoming/payments/2026-11-11.csv", ("payments", None)),
        ("incoming/payments/C02/2026-11-11.csv", ("payments", "C02")),
        ("incoming/payments/C02/2026/11.csv", ("payments", "C02")),  # deeper folders: the first names the community
        ("incoming/payments/锦绣花园/11月.csv", ("payments", "锦绣花园")),
        ("incoming/other/2026-11.csv", (None, None)),
        ("incoming/2026-11.csv", (None, None)),
        ("incoming/paymentsx/2026-11.csv", (None, None)),
        ("incoming/Payments/2026-11.csv", (None, None)),
        ("payments/2026-11.csv", (None, None)),
        ("results/incoming/payments/2026-11.csv.json", (None, None)),
        ("", (None, None)),
    ],
)
def test_the_kind_and_community_come_from_the_folder(key, expected):
    assert kind_of(key) == expected


def test_results_are_written_under_a_key_s3_takes_even_for_an_upload_whose_name_uses_all_1024_bytes():
    short = "incoming/payments/C01/2026-11.csv"
    assert results_key(short, ".rejects.csv") == f"results/{short}.rejects.csv"
    longest = "incoming/payments/C01/" + "锦" * ((1024 - 22) // 3)  # 1,024 bytes less the one a 锦 leaves
    rejects, summary = results_key(longest, ".rejects.csv"), results_key(longest, ".json")
    assert all(len(k.encode()) <= 1024 for k in (rejects, summary))
    assert rejects.endswith(".rejects.csv") and summary.endswith(".json")
    assert rejects[: -len(".rejects.csv")] == summary[: -len(".json")]  # the two results of one file side by side
    assert results_key(longest[:-1] + "园", ".json") != summary  # another file does not take its place

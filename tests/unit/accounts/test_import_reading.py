"""Reading billing-system exports: encodings, title rows, header aliases, XLSX cells, damaged files, streaming."""

import io
import tracemalloc
import zipfile
from datetime import datetime

import openpyxl
import pytest

from propfee.accounts.imports.reading import HEAD_BYTES, ImportFileError, RawRow, header_key, read_rows

TITLED_PAYMENTS = (
    "2026年11月收费明细表\n"
    "锦绣花园,,,,\n"
    "楼栋,房号,实收金额（元）,缴费日期,流水号\n"
    '3栋,1502,"1,234.50",2026-11-03 10:00,P-1\n'
    "3栋,1503,-50.00,2026/11/4,P-2\n"
)


def read(data: bytes, filename: str = "payments.csv") -> list[RawRow]:
    return list(read_rows(io.BytesIO(data), filename))


def table(rows: list[RawRow]) -> list[tuple[int, dict[str, object]]]:
    return [(row.line, dict(row.fields)) for row in rows]


EXPECTED = [
    (
        4,
        {
            "building": "3栋",
            "room": "1502",
            "amount_paid": "1,234.50",
            "paid_at": "2026-11-03 10:00",
            "reference": "P-1",
        },
    ),
    (5, {"building": "3栋", "room": "1503", "amount_paid": "-50.00", "paid_at": "2026/11/4", "reference": "P-2"}),
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_csv_in_every_encoding_billing_systems_write(encoding):
    assert table(read(TITLED_PAYMENTS.encode(encoding))) == EXPECTED


def test_a_gbk_file_without_bom_is_told_from_its_bytes_alone():
    data = TITLED_PAYMENTS.encode("gbk")
    assert not data.startswith(b"\xef\xbb\xbf")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    rows = read(data)
    assert rows[0].layout.headers == ("楼栋", "房号", "实收金额（元）", "缴费日期", "流水号")
    assert rows[0].layout.label("amount_paid") == "实收金额（元）"


def test_a_gbk_character_cut_at_the_end_of_the_first_chunk_is_not_an_error():
    body = "楼栋,房号,实收金额,缴费日期,流水号\n" + "".join(f"3栋,{n},1.00,2026-11-03,P{n}\n" for n in range(5000))
    for title in (f"明细{'x' * pad}" for pad in range(60)):  # some padding puts the chunk's end inside 栋
        data = f"{title}\n{body}".encode("gbk")
        try:
            data[:HEAD_BYTES].decode("gbk")
        except UnicodeDecodeError:
            break
    else:
        pytest.fail("no title cuts a character")
    assert len(read(data)) == 5000


def test_text_that_changes_encoding_after_the_first_chunk_is_refused():
    rows = "".join(f"3栋,{n},1.00,2026-11-03,P{n}\n" for n in range(4000))
    data = ("楼栋,房号,实收金额,缴费日期,流水号\n" + rows).encode("utf-8") + "3栋,99,1.00,2026-11-03,中文\n".encode(
        "gbk"
    )
    assert len(data) > HEAD_BYTES
    with pytest.raises(ImportFileError, match="not valid utf-8 text"):
        read(data)


def test_excel_unicode_text_is_utf16_and_tab_separated():
    data = "房号\t楼栋\t应收金额\n1502\t3栋\t210.44\n".encode("utf-16")
    assert table(read(data)) == [(2, {"room": "1502", "building": "3栋", "amount_due": "210.44"})]


def test_semicolon_separated():
    assert table(read(b"room;building;amount due\n1502;3;210.44\n")) == [
        (2, {"room": "1502", "building": "3", "amount_due": "210.44"})
    ]


COMPANIONS = {"building": "楼栋", "room": "房号", "amount_due": "应收"}


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("房号", "room"),
        ("房间号", "room"),
        ("室号", "room"),
        ("Room", "room"),
        ("ＲＯＯＭ  ＮＯ", "room"),
        ("*房号", "room"),
        ("楼号", "building"),
        ("栋", "building"),
        ("Building", "building"),
        ("单元", "unit"),
        ("业主姓名", "owner_name"),
        ("客户名称", "owner_name"),
        ("Owner", "owner_name"),
        ("联系电话", "phone"),
        ("Mobile", "phone"),
        ("建筑面积(㎡)", "area"),
        ("收费标准", "rate"),
        ("所属期间", "period"),
        ("计费月份", "period"),
        ("应收金额（元）", "amount_due"),
        ("Amount_Due", "amount_due"),
        ("实收金额/元", "amount_paid"),
        ("缴费金额", "amount_paid"),
        ("amount paid", "amount_paid"),
        ("Amount", "amount_paid"),
        ("收款日期", "paid_at"),
        ("Paid At", "paid_at"),
        ("票据号", "reference"),
        ("交易流水", "reference"),
        ("Reference", "reference"),
        ("项目", "community"),
        ("到期日", "due_date"),
        ("Due Date", "due_date"),
        ("缴费方式", "method"),
    ],
)
def test_header_aliases_in_chinese_and_english(header, field):
    others = [name for known, name in COMPANIONS.items() if known != field][:2]
    [row] = read(f"{header},{','.join(others)}\nx,1,2\n".encode())
    assert row.fields[field] == "x"


def test_unknown_columns_are_kept_for_the_rejects_file_but_not_mapped():
    [row] = read("序号,楼栋,房号,备注,应收\n1,3栋,1502,=cmd,10\n".encode())
    assert set(row.fields) == {"building", "room", "amount_due"}
    assert row.cells == ("1", "3栋", "1502", "=cmd", "10")
    assert row.layout.headers == ("序号", "楼栋", "房号", "备注", "应收")


def test_blank_and_total_rows_are_skipped_and_lines_are_physical():
    data = (
        "楼栋,房号,应收,业主\n"
        '3栋,1502,10,"王芳\n(业主)"\n'  # a quoted cell over two lines
        ",,,\n"
        "\n"
        "3栋,1503,20,李雷\n"
        "合  计,,30,\n"
        "Total:,,30,\n"
        ",总计,30,\n"
    ).encode()
    assert [row.line for row in read(data)] == [2, 6]


def test_the_header_is_found_below_title_rows_but_not_too_far():
    titles = "".join(f"标题{n}\n" for n in range(9))
    assert read(f"{titles}楼栋,房号,应收\n3栋,1502,10\n".encode())[0].line == 11
    titles = "".join(f"标题{n}\n" for n in range(10))
    with pytest.raises(ImportFileError, match="no header row"):
        read(f"{titles}楼栋,房号,应收\n3栋,1502,10\n".encode())


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\r\n\r\n  \n", b"\xef\xbb\xbf\n"])
def test_an_empty_file_is_refused(data):
    with pytest.raises(ImportFileError, match="empty"):
        read(data)


def test_a_header_without_data_is_no_error():
    assert read("楼栋,房号,应收\n,,\n合计,,0\n".encode()) == []


def test_a_file_of_empty_cells_has_no_rows():
    with pytest.raises(ImportFileError, match="no rows"):
        read(b",,,\n,,,\n")


def test_a_file_without_a_known_header_lists_what_it_found_but_no_phone_numbers():
    with pytest.raises(ImportFileError) as error:
        read("王芳,13812345678,210.44\n".encode())
    message = str(error.value)
    assert "no header row" in message and "'210.44'" in message and "…" in message
    assert "13812345678" not in message


def test_two_columns_with_the_same_meaning_are_refused():
    with pytest.raises(ImportFileError, match="'手机' and '联系电话' both mean phone"):
        read("楼栋,房号,手机,联系电话\n3,1502,1,2\n".encode())


def test_a_legacy_xls_is_refused_with_advice():
    with pytest.raises(ImportFileError, match=r"legacy \.xls"):
        read(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "ledger.xls")


class OneWay(io.RawIOBase):
    """A stream that cannot seek, like an S3 object body."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer):  # type: ignore[override]
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def seekable(self) -> bool:
        return False


def test_a_stream_that_cannot_seek_is_read_as_it_comes():
    csv_rows = list(read_rows(io.BufferedReader(OneWay(TITLED_PAYMENTS.encode("gbk"))), "p.csv"))
    assert table(csv_rows) == EXPECTED
    xlsx_rows = list(read_rows(io.BufferedReader(OneWay(payments_workbook())), "p.xlsx"))
    assert [row.line for row in xlsx_rows] == [4, 5, 7]


# ---------------------------------------------------------------------------------------------------------- XLSX


def workbook_bytes(*sheets: list[list[object]], date_format: str | None = None) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for index, rows in enumerate(sheets):
        sheet = book.create_sheet(f"Sheet{index + 1}")
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def payments_workbook() -> bytes:
    return workbook_bytes(
        [
            ["2026年11月收费明细表"],
            [],
            ["楼栋", "房号", "实收金额", "缴费日期", "流水号"],
            ["3栋", 1502, 1234.5, datetime(2026, 11, 3, 10, 0), "P-1"],  # a date cell
            ["3栋", 1503, "-50.00", 46329, 20261103001],  # a serial number, a numeric reference
            [None, None, None, None, None],
            ["3栋", 1504, 12, "2026-11-05", "P-3"],  # text cells
            ["合计", None, 1196.5, None, None],
        ]
    )


def test_xlsx_rows_keep_their_cell_types_and_row_numbers():
    rows = read(payments_workbook(), "payments.xlsx")
    assert table(rows) == [
        (
            4,
            {
                "building": "3栋",
                "room": 1502,
                "amount_paid": 1234.5,
                "paid_at": datetime(2026, 11, 3, 10, 0),
                "reference": "P-1",
            },
        ),
        (5, {"building": "3栋", "room": 1503, "amount_paid": "-50.00", "paid_at": 46329, "reference": 20261103001}),
        (7, {"building": "3栋", "room": 1504, "amount_paid": 12, "paid_at": "2026-11-05", "reference": "P-3"}),
    ]


def test_xlsx_is_told_by_content_not_by_name():
    assert len(read(payments_workbook(), "export.csv")) == 3


def test_the_sheet_with_the_header_is_used():
    data = workbook_bytes([["说明"], ["本表由系统导出"]], [["房号", "楼栋", "应收"], [1502, "3栋", 10]])
    assert table(read(data, "ledger.xlsx")) == [(2, {"room": 1502, "building": "3栋", "amount_due": 10})]


def test_an_xlsx_without_a_header_lists_what_it_found():
    with pytest.raises(ImportFileError, match=r"no header row.*'说明'"):
        read(workbook_bytes([["说明"], ["x", "y"]]), "ledger.xlsx")


def test_an_xlsx_without_rows():
    with pytest.raises(ImportFileError, match="no rows"):
        read(workbook_bytes([]), "ledger.xlsx")


def test_a_truncated_xlsx_is_refused():
    data = payments_workbook()
    with pytest.raises(ImportFileError, match="not a readable XLSX workbook"):
        read(data[: len(data) // 2], "payments.xlsx")


def test_an_xlsx_with_a_damaged_sheet_is_refused():
    original = zipfile.ZipFile(io.BytesIO(payments_workbook()))
    damaged = io.BytesIO()
    with zipfile.ZipFile(damaged, "w") as out:
        for item in original.infolist():
            data = original.read(item)
            if item.filename.startswith("xl/worksheets/"):
                data = data[: len(data) * 2 // 3]  # the sheet's XML stops mid-element
            out.writestr(item, data)
    with pytest.raises(ImportFileError, match="XLSX damaged after row"):
        read(damaged.getvalue(), "payments.xlsx")


def test_a_zip_that_is_not_a_workbook_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(ImportFileError, match="not a readable XLSX workbook"):
        read(buffer.getvalue(), "payments.xlsx")


def test_header_keys_fold_width_case_spaces_and_units():
    assert header_key("应收金额（元）") == header_key("应收金额 (元)") == header_key("应收金额/元") == "应收金额"
    assert header_key(" Amount_Due ") == header_key("ＡＭＯＵＮＴ ＤＵＥ") == "amountdue"
    assert header_key("单元") == "单元"  # a trailing 元 is a unit only after a slash or in brackets
    assert header_key(None) == ""


# ------------------------------------------------------------------------------------------------------ streaming

ROWS = 100_000


def test_a_100k_row_csv_is_streamed_in_bounded_memory(tmp_path):
    path = tmp_path / "payments.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        out.write("楼栋,单元,房号,业主,手机,实收金额,缴费日期,流水号,支付方式\r\n")
        for n in range(ROWS):
            out.write(
                f'{n % 30 + 1}栋,1,{n % 2000},王芳,138{n:08d},"1,{n % 1000:03d}.50",2026-11-03 10:00,P{n},微信\r\n'
            )
    assert path.stat().st_size > 7_000_000
    tracemalloc.start()
    try:
        with path.open("rb") as source:
            count = last = 0
            for row in read_rows(source, path.name):
                count, last = count + 1, row.line
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (count, last) == (ROWS, ROWS + 1)
    assert peak < 10_000_000, f"peak {peak / 1e6:.1f} MB: the file is being held, not streamed"


def test_an_xlsx_is_read_in_read_only_mode(tmp_path):
    """A loaded workbook keeps every cell (about 500 bytes each); read-only mode holds one row."""
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["楼栋", "房号", "实收金额", "缴费日期", "流水号", "业主", "手机", "备注"])
    for n in range(2000):
        sheet.append(["3栋", n, 12.5, datetime(2026, 11, 3, 10), f"P{n}", "王芳", f"138{n:08d}", "x" * 20])
    path = tmp_path / "payments.xlsx"
    book.save(path)
    tracemalloc.start()
    try:
        with path.open("rb") as source:
            count = sum(1 for _ in read_rows(source, path.name))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 2000
    assert peak < 4_000_000, f"peak {peak / 1e6:.1f} MB"

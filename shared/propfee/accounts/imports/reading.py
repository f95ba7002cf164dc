"""Streams the rows of a ledger or payment file, CSV or XLSX, as canonical fields with their line numbers.

Only the first chunk is held to sniff the format, the encoding, the delimiter and the header row; the rest is read
record by record, so memory stays flat however long the file is. File-level problems (empty, unreadable, no header)
raise ImportFileError when read_rows is called; row-level problems are for rows.py to report.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import shutil
import tempfile
import unicodedata
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import BinaryIO

import openpyxl

from propfee.accounts.imports.fields import clean

HEAD_BYTES = 64 * 1024
HEADER_SEARCH_ROWS = 10  # title rows such as "2026年11月收费明细表" sit above the header
DELIMITERS = (",", "\t", ";")  # Excel's "Unicode text" export is tab separated
SPOOL_BYTES = 8 * 1024 * 1024  # a non-seekable XLSX stream is spooled: in memory up to this, then to /tmp
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the legacy binary .xls

ALIASES: dict[str, tuple[str, ...]] = {
    "community": ("小区", "小区名称", "项目", "项目名称", "管理处", "community", "community id", "estate", "project"),
    "building": ("楼栋", "楼号", "栋", "栋号", "楼栋号", "楼宇", "幢", "building", "building no", "block"),
    "unit": ("单元", "单元号", "unit"),
    "room": ("房号", "房间号", "室号", "房屋编号", "房屋", "门牌号", "room", "room no", "room number", "apartment"),
    "owner_name": (
        "业主",
        "业主姓名",
        "业主名称",
        "客户名称",
        "客户姓名",
        "户主",
        "姓名",
        "owner",
        "owner name",
        "name",
    ),
    "phone": ("手机", "手机号", "手机号码", "联系电话", "电话", "联系方式", "phone", "mobile", "telephone", "tel"),
    "area": ("面积", "建筑面积", "计费面积", "收费面积", "area", "floor area"),
    "rate": ("单价", "收费标准", "收费单价", "rate", "unit price", "price"),
    "period": ("账期", "所属期间", "计费月份", "所属月份", "费用期间", "账单月份", "period", "billing period", "month"),
    "amount_due": ("应收", "应收金额", "应缴金额", "应缴", "amount due", "due amount", "billed"),
    "amount_paid": ("实收", "实收金额", "缴费金额", "收款金额", "实缴金额", "amount paid", "paid amount", "amount"),
    "paid_at": (
        "缴费日期",
        "收款日期",
        "缴费时间",
        "收款时间",
        "支付时间",
        "paid at",
        "payment date",
        "paid on",
        "date",
    ),
    "reference": ("流水号", "票据号", "收据号", "交易流水", "交易流水号", "单据号", "reference", "ref", "receipt no"),
    "due_date": ("截止日期", "到期日", "缴费截止日期", "最后缴费日", "due date", "due by"),
    "method": ("支付方式", "缴费方式", "付款方式", "收款方式", "method", "payment method"),
}
TOTAL_MARKERS = frozenset({"合计", "总计", "小计", "本页合计", "total", "totals", "grandtotal", "subtotal"})


class ImportFileError(Exception):
    """The file as a whole cannot be imported (empty, unreadable, no header); no row was read."""


def header_key(text: object) -> str:
    """'应收金额（元）', ' Amount_Due ', '*房号' -> one spelling for comparison."""
    key = unicodedata.normalize("NFKC", str(text or "")).casefold()
    key = re.sub(r"/\s*(?:元|yuan|rmb|cny|m2|平米)\s*$", "", key)  # '实收金额/元'
    key = re.sub(r"\(.*?\)|\[.*?\]|【.*?】", "", key)  # units in brackets: '面积(㎡)'
    return re.sub(r"[\s_\-*:./#·\ufeff]", "", key)


_CANONICAL = {header_key(alias): name for name, aliases in ALIASES.items() for alias in (name, *aliases)}


@dataclass(frozen=True, slots=True)
class Layout:
    """The header row of one file: its cells as written and where each canonical field is."""

    headers: tuple[str, ...]
    columns: Mapping[str, int]

    def label(self, name: str) -> str:
        """The column's name as the file writes it, for messages ('应收金额'); the canonical name if absent."""
        return self.headers[self.columns[name]] if name in self.columns else name


@dataclass(frozen=True, slots=True)
class RawRow:
    """One data row: its line (CSV physical line, XLSX row number), canonical fields and every original cell."""

    line: int
    fields: Mapping[str, object] = field(repr=False)  # cells hold personal data: kept out of logs of the row
    cells: tuple[object, ...] = field(repr=False)
    layout: Layout = field(repr=False)


def read_rows(source: BinaryIO, filename: str) -> Iterator[RawRow]:
    """The data rows of a CSV (UTF-8 with or without BOM, UTF-16, GBK/GB18030) or XLSX file, told apart by content."""
    head = source.read(HEAD_BYTES)
    if not head.strip().removeprefix(codecs.BOM_UTF8).strip():
        raise ImportFileError(f"{filename}: the file is empty")
    if head.startswith(OLE_MAGIC):
        raise ImportFileError(f"{filename}: a legacy .xls workbook; save it as .xlsx or CSV")
    if head.startswith(ZIP_MAGIC):
        return _xlsx_rows(_seekable(source, head), filename)
    return _csv_rows(head, source, filename)


# ----------------------------------------------------------------------------------------------------------- CSV


def _csv_rows(head: bytes, rest: BinaryIO, filename: str) -> Iterator[RawRow]:
    at_end = len(head) < HEAD_BYTES
    encoding, text = _sniff_encoding(head, at_end, filename)
    lines = text.splitlines(keepends=True)
    if not at_end:
        lines = lines[:-1]  # the chunk may end inside a line
    delimiter, found = max(
        ((d, _find_header(islice(csv.reader(lines, delimiter=d), HEADER_SEARCH_ROWS), filename)) for d in DELIMITERS),
        key=lambda candidate: len(candidate[1][1].columns) if candidate[1] else 0,
    )
    if found is None:
        raise ImportFileError(_no_header_message(filename, islice(csv.reader(lines), HEADER_SEARCH_ROWS)))
    header_index, layout = found
    stream = io.TextIOWrapper(io.BufferedReader(_Prefixed(head, rest)), encoding=encoding, newline="")
    return _csv_records(stream, delimiter, header_index, layout, filename)


def _csv_records(
    stream: io.TextIOWrapper, delimiter: str, header_index: int, layout: Layout, filename: str
) -> Iterator[RawRow]:
    reader = csv.reader(stream, delimiter=delimiter)
    line = 1  # the physical line where the next record starts (a quoted cell may span lines)
    try:
        for index, record in enumerate(reader):
            row = _data_row(line, record, layout) if index > header_index else None
            if row is not None:
                yield row
            line = reader.line_num + 1
    except UnicodeDecodeError as error:
        raise ImportFileError(f"{filename}: not valid {stream.encoding} text after line {line - 1}") from error
    except csv.Error as error:
        raise ImportFileError(f"{filename}: line {line}: {error}") from error
    finally:
        stream.detach()  # the caller owns the source


def _sniff_encoding(head: bytes, at_end: bool, filename: str) -> tuple[str, str]:
    """The encoding from the first chunk only: a BOM, else UTF-8 if it decodes, else GB18030 (a superset of GBK)."""
    if head.startswith(codecs.BOM_UTF8):
        candidates: Sequence[str] = ("utf-8-sig",)
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ("utf-16",)
    else:
        candidates = ("utf-8", "gb18030")
    for encoding in candidates:
        try:
            # incremental: a multi-byte character cut at the chunk's end is not an error
            return encoding, codecs.getincrementaldecoder(encoding)().decode(head, final=at_end).lstrip("\ufeff")
        except UnicodeDecodeError:
            continue
    raise ImportFileError(f"{filename}: not UTF-8 or GBK/GB18030 text")


class _Prefixed(io.RawIOBase):
    """The already-read first chunk followed by the rest of the source: works for non-seekable streams (S3 bodies)."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


# ---------------------------------------------------------------------------------------------------------- XLSX


def _seekable(source: BinaryIO, head: bytes) -> BinaryIO:
    """openpyxl needs to seek (the zip directory is at the end)."""
    try:
        source.seek(-len(head), io.SEEK_CUR)
        return source
    except (AttributeError, OSError, ValueError):
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - returned, closed with the rows
        spool.write(head)
        shutil.copyfileobj(source, spool)
        spool.seek(0)
        return spool  # type: ignore[return-value]


def _xlsx_rows(source: BinaryIO, filename: str) -> Iterator[RawRow]:
    try:
        with warnings.catch_warnings():  # about styles and extensions that reading values does not need
            warnings.simplefilter("ignore", UserWarning)
            workbook = openpyxl.load_workbook(source, read_only=True, data_only=True)  # data_only: formula results
    except Exception as error:  # corrupt input can fail anywhere inside zipfile and the XML parser
        raise ImportFileError(f"{filename}: not a readable XLSX workbook ({type(error).__name__})") from error
    first_rows = []
    try:
        for sheet in workbook.worksheets:
            sheet.reset_dimensions()  # some writers store a wrong size; read every cell that is there
            rows = _guarded(sheet.iter_rows(values_only=True), filename)
            head = list(islice(rows, HEADER_SEARCH_ROWS))
            found = _find_header(head, filename)
            if found is not None:
                return _xlsx_records(workbook, head, rows, *found)
            first_rows.extend(head)
    except BaseException:
        workbook.close()
        raise
    workbook.close()
    raise ImportFileError(_no_header_message(filename, first_rows))


def _xlsx_records(
    workbook: openpyxl.Workbook,
    head: list[tuple[object, ...]],
    rest: Iterator[tuple[object, ...]],
    index: int,
    layout: Layout,
) -> Iterator[RawRow]:
    try:
        # openpyxl yields an empty tuple for every missing row, so the count is the sheet's row number
        for number, cells in enumerate(chain(head, rest), start=1):
            row = _data_row(number, cells, layout) if number > index + 1 else None
            if row is not None:
                yield row
    finally:
        workbook.close()


def _guarded(rows: Iterator[tuple[object, ...]], filename: str) -> Iterator[tuple[object, ...]]:
    """A truncated or damaged sheet fails while it is read, not when the workbook opens."""
    number = 0
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except Exception as error:  # zlib, zipfile and XML errors alike
            raise ImportFileError(f"{filename}: XLSX damaged after row {number} ({type(error).__name__})") from error
        number += 1
        yield row


# ------------------------------------------------------------------------------------------------ header and rows


def _find_header(rows: Iterable[Sequence[object]], filename: str) -> tuple[int, Layout] | None:
    """The row among the first few that names the most known columns (at least two), and its layout."""
    best: tuple[int, Layout] | None = None
    for index, cells in enumerate(rows):
        fields = [_CANONICAL.get(header_key(cell)) for cell in cells]
        known = {name for name in fields if name}
        if len(known) >= 2 and (best is None or len(known) > len(best[1].columns)):
            best = (index, _layout(cells, fields, filename))
    return best


def _layout(cells: Sequence[object], fields: Sequence[str | None], filename: str) -> Layout:
    headers = tuple("" if cell is None else str(cell).strip() for cell in cells)  # as written, for messages
    columns: dict[str, int] = {}
    for position, name in enumerate(fields):
        if name is None:
            continue
        if name in columns:
            first = headers[columns[name]]
            raise ImportFileError(
                f"{filename}: columns {first!r} and {headers[position]!r} both mean {name}; remove one"
            )
        columns[name] = position
    return Layout(headers, columns)


def _no_header_message(filename: str, rows: Iterable[Sequence[object]]) -> str:
    first = next((cells for cells in rows if any(clean(cell) for cell in cells)), None)
    if first is None:
        return f"{filename}: the file has no rows"
    # a headerless file starts with data: hide what looks like a phone or ID number
    shown = ["…" if len(re.sub(r"\D", "", clean(cell))) >= 7 else clean(cell)[:30] for cell in first[:20]]
    return (
        f"{filename}: no header row with known column names in the first {HEADER_SEARCH_ROWS} rows; "
        f"found {shown}; expected e.g. 楼栋, 房号, 应收金额, 实收金额, 缴费日期, 流水号"
    )


def _data_row(line: int, cells: Sequence[object], layout: Layout) -> RawRow | None:
    """The row, or None for a blank row or a totals row (合计, Total)."""
    first = next((text for text in map(clean, cells) if text), None)
    if first is None or re.sub(r"[\s:]", "", first).casefold() in TOTAL_MARKERS:
        return None
    fields = {name: cells[i] if i < len(cells) else None for name, i in layout.columns.items()}
    return RawRow(line, fields, tuple(cells), layout)

"""The report's tables as one XLSX workbook, the same bytes for the same inputs."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from propfee.domain.cells import FORMULA_START
from propfee.domain.models import Language
from propfee.reports.formats.tables import Cell, ColumnKind, ReportTable
from propfee.reports.formats.values import _display_width, _shown
from propfee.reports.formats.words import _WORDS, translated, vocabulary

_NUMBER_FORMATS: dict[ColumnKind, str] = {
    "int": "0",
    "yuan": "0.00",
    "percent": "0.00%",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm:ss",
}
_SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill(fill_type="solid", start_color="FFE8EEF4", end_color="FFE8EEF4")


def _sheet_titles(titles: Sequence[str]) -> list[str]:
    """Excel's rules: at most 31 characters, none of []:*?/\\, not empty, unique (case-insensitively)."""
    taken: set[str] = set()
    result = []
    for number, title in enumerate(titles, start=1):
        base = _SHEET_TITLE_FORBIDDEN.sub("_", title).strip().strip("'")[:31] or f"Sheet{number}"
        candidate, copy = base, 1
        while candidate.casefold() in taken:
            copy += 1
            suffix = f" ({copy})"
            candidate = base[: 31 - len(suffix)] + suffix
        taken.add(candidate.casefold())
        result.append(candidate)
    return result


def _xlsx_text(value: str) -> str:
    # control characters other than tab, CR and LF are not allowed in the XML of a workbook
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)


def _moment(value: str, kind: ColumnKind) -> date | datetime | None:
    """A date or a local time as the workbook's own value (Excel has no time zones: the company's wall clock,
    which the tables already give), or None when the text is not one."""
    try:
        if kind == "date":
            return date.fromisoformat(value)
        return datetime.fromisoformat(value).replace(tzinfo=None)
    except ValueError:
        return None


def _put(sheet: Any, row: int, column: int, value: Cell, kind: ColumnKind) -> None:
    cell = sheet.cell(row=row, column=column)
    if value is None:
        return
    moment = _moment(value, kind) if isinstance(value, str) and kind in ("date", "datetime") else None
    if moment is not None:
        cell.value = moment
        cell.number_format = _NUMBER_FORMATS[kind]
        return
    if isinstance(value, str):
        cell.value = _xlsx_text(value)
        # always a string: openpyxl would make "=..." a formula and "#N/A" an error value
        cell.data_type = "s"
        if value[:1] in FORMULA_START:
            cell.quotePrefix = True  # Excel keeps it text even when someone edits the cell
        return
    cell.value = value
    if kind in _NUMBER_FORMATS:
        cell.number_format = _NUMBER_FORMATS[kind]


def _utc_naive(moment: datetime) -> datetime:
    # openpyxl writes document times as UTC and drops (does not convert) a time zone
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _in_words(table: ReportTable, codes: Mapping[str, str], language: Language) -> list[tuple[Cell, ...]]:
    return [
        tuple(
            translated(value, codes, language) if column.kind == "code" and isinstance(value, str) else value
            for column, value in zip(table.columns, row, strict=True)
        )
        for row in table.rows
    ]


def workbook(
    tables: Sequence[ReportTable],
    language: Language = "zh-CN",
    *,
    generated_at: datetime,
    codes: Mapping[str, str] | None = None,
) -> bytes:
    """One sheet per table: a bold frozen header row, numbers as numbers (yuan 0.00, rates as percentages),
    dates and times as dates and times (the company's local time), codes in words (`codes`, by default
    formats.words'), text always as text. The same inputs give the same bytes: the document times are
    generated_at, and so are the times of the entries in the zip (openpyxl would use the wall clock)."""
    codes = codes if codes is not None else vocabulary(language)
    book = Workbook()
    book.remove(book.active)
    for table, title in zip(tables, _sheet_titles([t.title(language) for t in tables]), strict=True):
        sheet = book.create_sheet(title)
        rows = _in_words(table, codes, language)
        widths = []
        for number, column in enumerate(table.columns, start=1):
            header = sheet.cell(row=1, column=number)
            _put(sheet, 1, number, column.header(language), "text")
            header.font = _HEADER_FONT
            header.fill = _HEADER_FILL
            widest = max([_display_width(_shown(row[number - 1], column.kind)) for row in rows], default=0)
            widths.append(max(_display_width(column.header(language)), widest))
        for row_number, row in enumerate(rows, start=2):
            for number, (column, value) in enumerate(zip(table.columns, row, strict=True), start=1):
                _put(sheet, row_number, number, value, column.kind)
        for number, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(number)].width = min(max(width + 2, 8), 60)
        sheet.freeze_panes = "A2"
        if table.columns:
            sheet.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{len(table.rows) + 1}"
    if not tables:
        book.create_sheet("-")  # a workbook needs a sheet
    moment = _utc_naive(generated_at)
    book.properties.creator = "propfee"
    book.properties.title = _WORDS[language]["title"]
    book.properties.language = language
    book.properties.created = moment
    book.properties.modified = moment
    buffer = io.BytesIO()
    # openpyxl's own save() stamps the modified time with the clock; its writer leaves the properties alone
    ExcelWriter(book, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED)).save()
    return _with_fixed_times(buffer.getvalue(), generated_at)


def _with_fixed_times(archive: bytes, moment: datetime) -> bytes:
    """The same zip with every entry dated `moment` (its wall-clock time) instead of when it was written."""
    stamp = max(moment.timetuple()[:6], (1980, 1, 1, 0, 0, 0))  # the zip format starts in 1980
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=stamp)  # type: ignore[arg-type]
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            target.writestr(entry, source.read(info))
    return out.getvalue()

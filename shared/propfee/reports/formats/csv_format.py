"""The report's tables as CSV files."""

from __future__ import annotations

import csv
import io

from propfee.domain.cells import safe_cell
from propfee.reports.formats.tables import Cell, Column, ReportTable


def _csv_value(column: Column, value: Cell) -> Cell:
    if value is None or isinstance(value, str):
        return value
    if column.kind == "yuan":
        return f"{value:.2f}"  # no thousands separator in a spreadsheet cell
    if column.kind == "percent":
        return f"{value * 100:.2f}%"
    return value


def csv_bytes(table: ReportTable) -> bytes:
    """The table as CSV: keys as the header, UTF-8 with a BOM so that Excel reads the Chinese text, CRLF rows."""
    buffer = io.StringIO()
    # CRLF rows, so that a stray CR or LF inside a value is quoted and stays inside its cell
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([column.key for column in table.columns])
    writer.writerows(
        [safe_cell(_csv_value(column, value)) for column, value in zip(table.columns, row, strict=True)]
        for row in table.rows
    )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")

"""The daily report's tables rendered for people: CSV, an XLSX workbook, a self-contained HTML page with SVG charts.

Generic over tables: a figure added to the report is one more `ReportTable`, and every format shows it. Every
format is deterministic (the same inputs give the same bytes) and keeps owner-provided text inert: CSV and
XLSX never let it run as a formula, HTML and SVG escape it.
"""

from propfee.reports.formats.charts import _COLOURS as _COLOURS  # the browser test checks the drawn colours
from propfee.reports.formats.charts import rate_chart, reminder_chart, trend_chart
from propfee.reports.formats.csv_format import csv_bytes
from propfee.reports.formats.html_format import _environment as _environment  # notice_board renders with it too
from propfee.reports.formats.html_format import html_page
from propfee.reports.formats.tables import CONTENT_TYPES, Cell, Column, ColumnKind, ReportTable
from propfee.reports.formats.xlsx_format import workbook

__all__ = [
    "CONTENT_TYPES",
    "Cell",
    "Column",
    "ColumnKind",
    "ReportTable",
    "csv_bytes",
    "html_page",
    "rate_chart",
    "reminder_chart",
    "trend_chart",
    "workbook",
]

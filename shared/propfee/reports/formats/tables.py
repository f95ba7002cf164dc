"""What every format renders: tables of typed columns, and the content type of each file the report writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from propfee.domain.models import Language

CONTENT_TYPES = {
    ".json": "application/json",
    ".csv": "text/csv; charset=utf-8",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".html": "text/html; charset=utf-8",
}

Cell = str | int | float | None
# text: as is; code: a code the page and the workbook show in words (formats.words), the CSV as is; int: a
# count; yuan: an amount in yuan (a float from integer fen); percent: a fraction (0.6 = 60%); date: an ISO date;
# datetime: an ISO time with its offset, already in the company's time zone
ColumnKind = Literal["text", "code", "int", "yuan", "percent", "date", "datetime"]


@dataclass(frozen=True)
class Column:
    key: str  # the CSV header, stable for the programs that read the CSV
    zh: str
    en: str
    kind: ColumnKind = "text"

    def header(self, language: Language) -> str:
        return self.zh if language == "zh-CN" else self.en


@dataclass(frozen=True)
class ReportTable:
    """One table of the report, built once and rendered in every format."""

    stem: str  # the file stem: communities -> communities.csv
    title_zh: str
    title_en: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    # the rows the page shows when it shows fewer (the last days of a long trend): the workbook has them all
    page_rows: tuple[tuple[Cell, ...], ...] | None = None

    def __post_init__(self) -> None:
        width = len(self.columns)
        for number, row in enumerate(self.rows, start=1):
            if len(row) != width:
                raise ValueError(f"{self.stem}: row {number} has {len(row)} cells for {width} columns")

    def title(self, language: Language) -> str:
        return self.title_zh if language == "zh-CN" else self.title_en

"""The report as a self-contained HTML page: headline figures, the charts and every table."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from propfee.domain.models import Language
from propfee.domain.money import yuan
from propfee.reports.formats.charts import rate_chart, reminder_chart, trend_chart
from propfee.reports.formats.tables import Cell, Column, ReportTable
from propfee.reports.formats.values import _percent, _printable, _shown
from propfee.reports.formats.words import _WORDS, translated, vocabulary

# a long table shows its first rows; the rest open on a tap (<details>), so the page stays short on a phone
PAGE_ROWS = 10
_NUMERIC = ("int", "yuan", "percent")


def _csp_hash(css: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(str(css).encode("utf-8")).digest()).decode("ascii")


def _finalize(value: object) -> object:
    # plain text loses control characters (escaped afterwards); markup built here (charts, the style sheet) stays
    return _printable(value) if isinstance(value, str) and not isinstance(value, Markup) else value


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("propfee", "templates"),
        autoescape=True,  # every owner-provided string is escaped
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
    )
    env.filters["csp_hash"] = _csp_hash
    return env


def _money(fen: int | None, words: Mapping[str, str]) -> str:
    return words["unknown"] if fen is None else f"¥{yuan(fen)}"


def _balance(totals: Mapping[str, Any], words: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """opening + new bills - collected (+ adjustments) = closing, each labelled, with its sign."""
    b = totals["balance"]
    rows = [
        (words["opening"], "", _money(b["opening_fen"], words)),
        (words["new_bills"], "+", _money(b["new_bills_fen"], words)),
        (words["collected_net"], "−", _money(b["collected_fen"], words)),
    ]
    if b["adjustments_fen"]:  # shown only when the totals moved by something else too
        sign = "+" if b["adjustments_fen"] > 0 else "−"
        rows.append((words["adjustments"], sign, _money(abs(b["adjustments_fen"]), words)))
    rows.append((words["closing"], "=", _money(b["closing_fen"], words)))
    return rows


def _cell(column: Column, value: Cell, words: Mapping[str, str], language: Language) -> str:
    if column.kind == "code" and isinstance(value, str):
        return translated(value, words, language)
    return _shown(value, column.kind, grouped=True)


def _rows(table: ReportTable, rows: Sequence[tuple[Cell, ...]], words: Mapping[str, str], language: Language):
    return [
        [
            (_cell(column, value, words, language), column.kind in _NUMERIC)
            for column, value in zip(table.columns, row, strict=True)
        ]
        for row in rows
    ]


def html_page(
    summary: Mapping[str, Any],
    tables: Sequence[ReportTable],
    language: Language = "zh-CN",
    codes: Mapping[str, str] | None = None,
) -> bytes:
    """A page that works offline and runs nothing, and reads on a phone: headline figures, the day's balance,
    three SVG charts that fit the width, every table with its codes in words (`codes`: the vocabulary, by
    default formats.words') and its times in the company's time zone."""
    words = _WORDS[language]
    codes = codes if codes is not None else vocabulary(language)
    totals = summary["totals"]
    generated = datetime.fromisoformat(str(summary["generated_at"])).astimezone(
        ZoneInfo(str(summary.get("timezone") or "Asia/Shanghai"))
    )
    headlines = [
        (
            words["collections_today"],
            f"¥{yuan(totals['collections']['amount_fen'])}",
            f"{totals['collections']['count']} {words['payments']}",
        ),
        (words["current_rate"], _percent(totals["current_period"]["collection_rate"], words), summary["date"][:7]),
        (words["back_rate"], _percent(totals["back_arrears"]["collection_rate"], words), ""),
        (words["outstanding"], f"¥{yuan(totals['outstanding_fen'])}", words["outstanding_note"]),
    ]
    shown_tables = []
    for table in tables:
        rows = table.page_rows if table.page_rows is not None else table.rows
        shown_tables.append(
            {
                "stem": table.stem,
                "title": table.title(language),
                "headers": [(column.header(language), column.kind in _NUMERIC) for column in table.columns],
                "rows": _rows(table, rows[:PAGE_ROWS], codes, language),
                "more": _rows(table, rows[PAGE_ROWS:], codes, language),
                "count": len(table.rows),
                "partial": words["partial"].format(shown=len(rows), count=len(table.rows))
                if len(rows) != len(table.rows)
                else "",
            }
        )
    page = (
        _environment()
        .get_template("report.html.j2")
        .render(
            language=language,
            words=words,
            date=summary["date"],
            generated=f"{generated:%Y-%m-%d %H:%M}",
            headlines=headlines,
            balance=_balance(totals, words),
            charts=[
                (words["rate_chart"], rate_chart(summary, language)),
                (words["reminder_chart"], reminder_chart(summary, language)),
                (words["trend_chart"], trend_chart(summary, language)),
            ],
            tables=shown_tables,
        )
    )
    return page.encode("utf-8")

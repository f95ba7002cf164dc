"""The report as a self-contained HTML page: headline figures, the charts and every table."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from propfee.domain.models import Language
from propfee.domain.money import yuan
from propfee.reports.formats.charts import rate_chart, reminder_chart, trend_chart
from propfee.reports.formats.tables import ReportTable
from propfee.reports.formats.values import _percent, _printable, _shown
from propfee.reports.formats.words import _WORDS


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


def html_page(summary: Mapping[str, Any], tables: Sequence[ReportTable], language: Language = "zh-CN") -> bytes:
    """A page that works offline and runs nothing: headline figures, three SVG charts, every table."""
    words = _WORDS[language]
    totals = summary["totals"]
    generated = datetime.fromisoformat(str(summary["generated_at"]))
    headlines = [
        (
            words["collections_today"],
            f"¥{yuan(totals['collections']['amount_fen'])}",
            f"{totals['collections']['count']} {words['payments']}",
        ),
        (words["current_rate"], _percent(totals["current_period"]["collection_rate"], words), summary["date"][:7]),
        (words["back_rate"], _percent(totals["back_arrears"]["collection_rate"], words), ""),
        (words["outstanding"], f"¥{yuan(totals['outstanding_fen'])}", ""),
    ]
    shown_tables = [
        {
            "stem": table.stem,
            "title": table.title(language),
            "headers": [(column.header(language), column.kind) for column in table.columns],
            "rows": [
                [
                    (_shown(value, column.kind, grouped=True), column.kind)
                    for column, value in zip(table.columns, row, strict=True)
                ]
                for row in table.rows
            ],
        }
        for table in tables
    ]
    page = (
        _environment()
        .get_template("report.html.j2")
        .render(
            language=language,
            words=words,
            date=summary["date"],
            generated=f"{generated:%Y-%m-%d %H:%M %Z}".strip(),
            headlines=headlines,
            charts=[
                (words["rate_chart"], rate_chart(summary, language)),
                (words["reminder_chart"], reminder_chart(summary, language)),
                (words["trend_chart"], trend_chart(summary, language)),
            ],
            tables=shown_tables,
        )
    )
    return page.encode("utf-8")

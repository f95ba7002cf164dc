"""The daily report's tables rendered for people: CSV, an XLSX workbook, a self-contained HTML page with SVG charts.

Generic over tables: a figure added to the report is one more `ReportTable`, and every format shows it. Every
format is deterministic (the same inputs give the same bytes) and keeps owner-provided text inert: CSV and
XLSX never let it run as a formula, HTML and SVG escape it.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import re
import unicodedata
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, Literal

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from propfee.models import Language
from propfee.money import yuan

CONTENT_TYPES = {
    ".json": "application/json",
    ".csv": "text/csv; charset=utf-8",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".html": "text/html; charset=utf-8",
}

Cell = str | int | float | None
# text: as is; int: a count; yuan: an amount in yuan (a float from integer fen); percent: a fraction (0.6 = 60%)
ColumnKind = Literal["text", "int", "yuan", "percent"]


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

    def __post_init__(self) -> None:
        width = len(self.columns)
        for number, row in enumerate(self.rows, start=1):
            if len(row) != width:
                raise ValueError(f"{self.stem}: row {number} has {len(row)} cells for {width} columns")

    def title(self, language: Language) -> str:
        return self.title_zh if language == "zh-CN" else self.title_en


# -------------------------------------------------------------------------------------------------- CSV

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def safe_cell(value: object) -> object:
    """Neutralise spreadsheet formulas in text (CSV injection); plain numbers such as -12.50 stay numbers."""
    if isinstance(value, str) and value[:1] in FORMULA_START and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


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


# ------------------------------------------------------------------------------------------------- XLSX

_NUMBER_FORMATS: dict[ColumnKind, str] = {"int": "0", "yuan": "0.00", "percent": "0.00%"}
_SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill(fill_type="solid", start_color="FFE8EEF4", end_color="FFE8EEF4")


def _display_width(text: str) -> int:
    """Columns a text takes in a spreadsheet or a monospaced label: CJK characters count two."""
    return sum(2 if unicodedata.east_asian_width(char) in ("W", "F") else 1 for char in text)


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


def _put(sheet: Any, row: int, column: int, value: Cell, kind: ColumnKind) -> None:
    cell = sheet.cell(row=row, column=column)
    if value is None:
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


def _shown(value: Cell, kind: ColumnKind, grouped: bool = False) -> str:
    """A value as people read it: what a spreadsheet shows (to size a column), or with `grouped` thousands the
    page's cells."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if kind == "yuan":
        return f"{value:,.2f}" if grouped else f"{value:.2f}"
    if kind == "percent":
        return f"{value * 100:.2f}%"
    return str(value)


def _utc_naive(moment: datetime) -> datetime:
    # openpyxl writes document times as UTC and drops (does not convert) a time zone
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def workbook(tables: Sequence[ReportTable], language: Language = "zh-CN", *, generated_at: datetime) -> bytes:
    """One sheet per table: a bold frozen header row, numbers as numbers (yuan 0.00, rates as percentages),
    text always as text. The same inputs give the same bytes: the document times are generated_at, and so are
    the times of the entries in the zip (openpyxl would use the wall clock)."""
    book = Workbook()
    book.remove(book.active)
    for table, title in zip(tables, _sheet_titles([t.title(language) for t in tables]), strict=True):
        sheet = book.create_sheet(title)
        widths = []
        for number, column in enumerate(table.columns, start=1):
            header = sheet.cell(row=1, column=number)
            _put(sheet, 1, number, column.header(language), "text")
            header.font = _HEADER_FONT
            header.fill = _HEADER_FILL
            widest = max([_display_width(_shown(row[number - 1], column.kind)) for row in table.rows], default=0)
            widths.append(max(_display_width(column.header(language)), widest))
        for row_number, row in enumerate(table.rows, start=2):
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


# ------------------------------------------------------------------------------------------------- HTML

_WORDS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "title": "物业费日报",
        "generated": "生成时间",
        "collections_today": "今日收款",
        "payments": "笔",
        "current_rate": "本期收缴率",
        "back_rate": "往期欠费收缴率",
        "outstanding": "欠费总额",
        "no_bills": "无账单",
        "rate_chart": "本期收缴率（按小区）",
        "reminder_chart": "今日催缴（按渠道和状态）",
        "trend_chart": "近30天收缴率（全公司）",
        "no_trend": "暂无历史数据",
        "no_reminders": "今日无催缴",
        "sent": "已发送",
        "failed": "发送失败",
        "skipped": "已跳过",
        "all_channels": "全部渠道",
        "rows": "行",
        "empty": "无记录",
        "sms": "短信",
        "email": "邮件",
        "letter": "催缴函",
        "call": "电话",
        "visit": "上门",
        "legal_review": "法务审核",
    },
    "en": {
        "title": "Property fee daily report",
        "generated": "Generated",
        "collections_today": "Collected today",
        "payments": "payments",
        "current_rate": "Collection rate, current period",
        "back_rate": "Collection rate, back arrears",
        "outstanding": "Outstanding",
        "no_bills": "no bills",
        "rate_chart": "Collection rate of the current period by community",
        "reminder_chart": "Reminders today by channel and status",
        "trend_chart": "Collection rates over 30 days (company)",
        "no_trend": "no history yet",
        "no_reminders": "No reminders today",
        "sent": "sent",
        "failed": "failed",
        "skipped": "skipped",
        "all_channels": "all channels",
        "rows": "rows",
        "empty": "nothing recorded",
        "sms": "SMS",
        "email": "Email",
        "letter": "Letter",
        "call": "Call",
        "visit": "Visit",
        "legal_review": "Legal review",
    },
}
_CHANNEL_ORDER = ("sms", "email", "letter", "call", "visit", "legal_review")
_COLOURS = {
    "bar": "#1f6fb2",
    "back": "#ef6c00",
    "sent": "#2e7d32",
    "failed": "#c62828",
    "skipped": "#8a8f98",
    "grid": "#d5dbe1",
}
_FONT = "system-ui, -apple-system, 'Segoe UI', 'PingFang SC', 'Microsoft YaHei', sans-serif"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _printable(value: object) -> str:
    return _CONTROL.sub("\ufffd", str(value))


def _n(number: float) -> str:
    """A coordinate, the same text for the same number on every machine."""
    return f"{number:.1f}".removesuffix(".0")


def _clip(text: str, width: int) -> str:
    """At most `width` display columns, with an ellipsis when cut."""
    if _display_width(text) <= width:
        return text
    kept = ""
    for char in text:
        if _display_width(kept + char) > width - 1:
            break
        kept += char
    return kept + "…"


def _attrs(**attributes: object) -> str:
    return " ".join(
        f'{name.rstrip("_").replace("_", "-")}="{escape(_printable(value))}"' for name, value in attributes.items()
    )


def _tag(name: str, content: str = "", **attributes: object) -> str:
    """An SVG element; `content` is markup already escaped, attribute values are escaped here."""
    opening = f"<{name} {_attrs(**attributes)}" if attributes else f"<{name}"
    return f"{opening}>{content}</{name}>" if content else f"{opening}/>"


def _text(label: object, **attributes: object) -> str:
    return _tag("text", str(escape(_printable(label))), **attributes)


def _title(label: object, **attributes: object) -> str:
    return _tag("title", str(escape(_printable(label))), **attributes)


def _svg(chart_id: str, title: str, width: float, height: float, parts: list[str]) -> Markup:
    head = _tag(
        "svg",
        _title(title, id=f"{chart_id}-title") + "".join(parts),
        xmlns="http://www.w3.org/2000/svg",
        id=chart_id,
        width=_n(width),
        height=_n(height),
        viewBox=f"0 0 {_n(width)} {_n(height)}",
        role="img",
        aria_labelledby=f"{chart_id}-title",
        font_family=_FONT,
        font_size="12",
    )
    # every label and attribute above went through escape(): the finished SVG is safe to embed as is
    return Markup(head)  # noqa: S704  # nosec B704


def _percent(fraction: float | None, words: Mapping[str, str]) -> str:
    return words["no_bills"] if fraction is None else f"{fraction * 100:.1f}%"


def rate_chart(summary: Mapping[str, Any], language: Language = "zh-CN") -> Markup:
    """Horizontal bars: each community's collection rate of the current period, 0-100%."""
    words = _WORDS[language]
    communities = list(summary["communities"])
    label_width, left, plot, row_height, top = 26, 190.0, 380.0, 24.0, 28.0
    width = left + plot + 70
    height = top + row_height * max(len(communities), 1) + 26
    bottom = height - 22
    parts = []
    for tick in (0, 25, 50, 75, 100):
        x = left + plot * tick / 100
        parts.append(_tag("line", x1=_n(x), y1=_n(top - 6), x2=_n(x), y2=_n(bottom), stroke=_COLOURS["grid"]))
        parts.append(_text(f"{tick}%", x=_n(x), y=_n(bottom + 15), text_anchor="middle", fill="#555"))
    for index, community in enumerate(communities):
        name = str(community["name"])
        fraction = community["current_period"]["collection_rate"]
        y = top + row_height * index
        shown = _percent(fraction, words)
        bar = (
            _tag(
                "rect",
                x=_n(left),
                y=_n(y + 4),
                width=_n(plot * min(max(fraction, 0.0), 1.0)),
                height=_n(row_height - 8),
                fill=_COLOURS["bar"],
            )
            if fraction is not None
            else ""
        )
        end = left + (plot * min(max(fraction, 0.0), 1.0) if fraction is not None else 0)
        parts.append(
            _tag(
                "g",
                _title(f"{name}: {shown}")
                + _text(_clip(name, label_width), x=_n(left - 8), y=_n(y + row_height / 2 + 4), text_anchor="end")
                + bar
                + _text(shown, x=_n(end + 6), y=_n(y + row_height / 2 + 4), fill="#222"),
                class_="bar",
            )
        )
    if not communities:
        parts.append(_text(words["no_bills"], x=_n(left + plot / 2), y=_n(top + 16), text_anchor="middle"))
    return _svg("chart-rate", words["rate_chart"], width, height, parts)


def _axis_top(value: int, ticks: int = 4) -> int:
    """The top of a count axis with `ticks` whole-number steps of 1, 2, 2.5 or 5 times a power of ten."""
    needed = max(-(-value // ticks), 1)
    scale = 1
    while True:
        for step in (scale, 2 * scale, 5 * scale // 2, 5 * scale):
            if step >= needed:
                return step * ticks
        scale *= 10


def reminder_chart(summary: Mapping[str, Any], language: Language = "zh-CN") -> Markup:
    """Grouped bars: messages sent and failed by channel, and the reminders skipped (which have no channel)."""
    words = _WORDS[language]
    reminders = summary["totals"]["reminders"]
    sent, failed = dict(reminders["sent"]), dict(reminders["failed"])
    channels = sorted(
        set(sent) | set(failed),
        key=lambda c: (_CHANNEL_ORDER.index(c) if c in _CHANNEL_ORDER else len(_CHANNEL_ORDER), c),
    )
    groups: list[tuple[str, list[tuple[str, int]]]] = [
        (words.get(c, c), [("sent", sent.get(c, 0)), ("failed", failed.get(c, 0))]) for c in channels
    ]
    groups.append((words["all_channels"], [("skipped", sum(reminders["skipped"].values()))]))
    top_value = _axis_top(max((count for _, bars in groups for _, count in bars), default=0))
    left, top, bar_width, gap, plot_height = 48.0, 34.0, 30.0, 28.0, 180.0
    group_widths = [bar_width * len(bars) for _, bars in groups]
    width = max(left + sum(group_widths) + gap * (len(groups) + 1) + 10, 360.0)
    bottom = top + plot_height
    height = bottom + 40
    parts = []
    for step in range(5):
        value = top_value * step / 4
        y = bottom - plot_height * step / 4
        parts.append(_tag("line", x1=_n(left), y1=_n(y), x2=_n(width - 10), y2=_n(y), stroke=_COLOURS["grid"]))
        parts.append(_text(f"{value:g}", x=_n(left - 6), y=_n(y + 4), text_anchor="end", fill="#555"))
    for index, status in enumerate(("sent", "failed", "skipped")):
        x = left + 110 * index
        parts.append(_tag("rect", x=_n(x), y="8", width="12", height="12", fill=_COLOURS[status]))
        parts.append(_text(words[status], x=_n(x + 16), y="18"))
    x = left + gap
    for (label, bars), group_width in zip(groups, group_widths, strict=True):
        drawn = []
        for offset, (status, count) in enumerate(bars):
            bar_height = plot_height * count / top_value
            bar_x = x + bar_width * offset
            drawn.append(
                _tag(
                    "g",
                    _title(f"{label} {words[status]}: {count}")
                    + _tag(
                        "rect",
                        x=_n(bar_x + 2),
                        y=_n(bottom - bar_height),
                        width=_n(bar_width - 4),
                        height=_n(bar_height),
                        fill=_COLOURS[status],
                    )
                    + _text(count, x=_n(bar_x + bar_width / 2), y=_n(bottom - bar_height - 4), text_anchor="middle"),
                )
            )
        drawn.append(_text(_clip(label, 14), x=_n(x + group_width / 2), y=_n(bottom + 18), text_anchor="middle"))
        parts.append(_tag("g", "".join(drawn), class_="group"))
        x += group_width + gap
    if not any(count for _, bars in groups for _, count in bars):
        parts.append(_text(words["no_reminders"], x=_n(width / 2), y=_n(top + plot_height / 2), text_anchor="middle"))
    return _svg("chart-reminders", words["reminder_chart"], width, height, parts)


def trend_chart(summary: Mapping[str, Any], language: Language = "zh-CN") -> Markup:
    """Two lines over the days of the trend: the current period's collection rate and the back arrears'."""
    words = _WORDS[language]
    rows = list(summary["totals"].get("trend", ()))
    left, top, plot_width, plot_height = 48.0, 34.0, 540.0, 170.0
    width, bottom = left + plot_width + 20, top + plot_height
    height = bottom + 40
    parts = []
    for tick in (0, 25, 50, 75, 100):
        y = bottom - plot_height * tick / 100
        parts.append(_tag("line", x1=_n(left), y1=_n(y), x2=_n(left + plot_width), y2=_n(y), stroke=_COLOURS["grid"]))
        parts.append(_text(f"{tick}%", x=_n(left - 6), y=_n(y + 4), text_anchor="end", fill="#555"))
    lines = (("collection_rate", words["current_rate"], "bar"), ("back_arrears_rate", words["back_rate"], "back"))
    for index, (_, label, colour) in enumerate(lines):
        x = left + 230 * index
        parts.append(_tag("rect", x=_n(x), y="8", width="12", height="12", fill=_COLOURS[colour]))
        parts.append(_text(label, x=_n(x + 16), y="18"))
    step = plot_width / max(len(rows) - 1, 1)
    for key, label, colour in lines:
        points = [
            (left + step * i, bottom - plot_height * min(max(row[key], 0.0), 1.0), row)
            for i, row in enumerate(rows)
            if row[key] is not None
        ]
        if len(points) > 1:
            path = " ".join(f"{_n(x)},{_n(y)}" for x, y, _ in points)
            parts.append(_tag("polyline", points=path, fill="none", stroke=_COLOURS[colour], stroke_width="2"))
        for x, y, row in points:
            tip = f"{row['date']} {label}: {_percent(row[key], words)}"
            parts.append(_tag("circle", _title(tip), cx=_n(x), cy=_n(y), r="3", fill=_COLOURS[colour]))
    for i, row in enumerate(rows):
        if i in (0, len(rows) - 1) or i % 7 == 0:  # a few dates along the axis, always the first and last
            parts.append(_text(row["date"][5:], x=_n(left + step * i), y=_n(bottom + 18), text_anchor="middle"))
    if not rows:
        parts.append(_text(words["no_trend"], x=_n(left + plot_width / 2), y=_n(top + 60), text_anchor="middle"))
    return _svg("chart-trend", words["trend_chart"], width, height, parts)


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

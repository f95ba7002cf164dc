"""The report's workbook and HTML page: the expected sheets and figures, inert owner text, reproducible bytes."""

import base64
import csv
import hashlib
import io
import re
import time
import zipfile
from datetime import UTC
from html.parser import HTMLParser
from typing import ClassVar

import pytest
from openpyxl import load_workbook

from propfee.domain.activity import DayActivity
from propfee.reports.formats import (
    CONTENT_TYPES,
    Column,
    ReportTable,
    csv_bytes,
    html_page,
    rate_chart,
    reminder_chart,
    trend_chart,
    workbook,
)
from propfee.reports.formats.html_format import PAGE_ROWS
from propfee.reports.publishing import report_files
from propfee.reports.summary import CommunityDay, build_summary
from propfee.reports.summary_tables import report_tables
from tests.support.report_day import DAY, FORMULA_START, GENERATED_AT, LINK, SCRIPT, entries, hostile_entries


@pytest.fixture
def summary():
    return build_summary(DAY, GENERATED_AT, entries())


@pytest.fixture
def tables(summary):
    return report_tables(summary, entries())


def _book(content: bytes):
    return load_workbook(io.BytesIO(content))


def _values(sheet) -> list[list[object]]:
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


# ---------------------------------------------------------------- the workbook


ZH_SHEETS = [
    "小区汇总",
    "今日收款",
    "今日催缴",
    "欠费账龄",
    "重点欠费户",
    "今日业主回复",
    "工单（按部门）",
    "遗留问题",
    "死信队列",
    "近30天趋势",
    "催缴效果",
    "催缴人员",
    "催缴员记录",
    "工单处理记录",
    "阶段性指标",
    "支付对账",
    "对账差异",
    "线上缴费与导入",
    "催缴到缴费的时长",
    "账单链接打开率",
    "未完成支付订单",
]
EN_SHEETS = [
    "Communities",
    "Collections",
    "Reminders",
    "Arrears aging",
    "Top debtors",
    "Owners' replies",
    "Tickets by department",
    "Leftover issues",
    "Dead-letter queues",
    "30-day trend",
    "Reminder effectiveness",
    "Collectors",
    "Recorded outcomes",
    "Ticket actions by staff",
    "Phased targets",
    "Payment reconciliation",
    "Reconciliation findings",
    "Online and imported payments",
    "Hours from reminder to payment",
    "Bill links opened",
    "Orders started, not paid",
]


@pytest.mark.parametrize(
    ("language", "sheets", "headers"),
    [
        (
            "zh-CN",
            ZH_SHEETS,
            ["小区编号", "小区", "今日收款笔数", "今日收款（元）"],
        ),
        (
            "en",
            EN_SHEETS,
            ["Community ID", "Community", "Payments today"],
        ),
    ],
)
def test_the_workbook_has_a_sheet_per_table_with_headers_in_the_language(tables, language, sheets, headers):
    book = _book(workbook(tables, language, generated_at=GENERATED_AT))

    assert book.sheetnames == sheets
    communities = book[sheets[0]]
    assert _values(communities)[0][: len(headers)] == headers
    for sheet, table in zip(book.worksheets, tables, strict=True):
        assert [cell.value for cell in sheet[1]] == [column.header(language) for column in table.columns]
        assert all(cell.font.b for cell in sheet[1])
        assert sheet.freeze_panes == "A2"
        assert sheet.max_row == len(table.rows) + 1
        assert all(sheet.column_dimensions[letter].width >= 8 for letter in "ABCDE")


def test_the_files_have_the_workbook_and_page_in_chinese_and_english():
    files = report_files(DAY, GENERATED_AT, entries())

    assert _book(files["report.xlsx"]).sheetnames == ZH_SHEETS
    assert _book(files["report.en.xlsx"]).sheetnames == EN_SHEETS
    assert '<html lang="zh-CN">' in files["report.html"].decode()
    assert '<html lang="en">' in files["report.en.html"].decode()


def test_workbook_figures_are_numbers_equal_to_the_summary(summary, tables):
    sheet = _book(workbook(tables, generated_at=GENERATED_AT))["小区汇总"]
    _, *rows = list(sheet.iter_rows())
    keys = [column.key for column in tables[0].columns]

    for row, figures in zip(rows, summary["communities"], strict=True):
        cells = dict(zip(keys, row, strict=True))
        assert cells["community"].value == figures["name"]
        assert cells["payments_today"].value == figures["collections"]["count"]
        assert cells["collected_today_yuan"].value == figures["collections"]["amount_fen"] / 100
        assert cells["billed_yuan"].value == figures["current_period"]["billed_fen"] / 100
        assert cells["collection_rate"].value == figures["current_period"]["collection_rate"]
        assert cells["outstanding_yuan"].value == figures["outstanding_fen"] / 100
        for key in ("payments_today", "collected_today_yuan", "billed_yuan", "collection_rate", "outstanding_yuan"):
            assert cells[key].data_type == "n", key
        assert cells["collected_today_yuan"].number_format == "0.00"
        assert cells["collection_rate"].number_format == "0.00%"
    sunshine = dict(zip(keys, rows[0], strict=True))
    assert (sunshine["collected_today_yuan"].value, sunshine["collection_rate"].value) == (600, 0.6)


def test_workbook_payments_keep_amounts_in_yuan_and_fen(tables):
    sheet = _book(workbook(tables, generated_at=GENERATED_AT))["今日收款"]

    assert [(row[3], row[4]) for row in _values(sheet)[1:]] == [(300, 30_000), (200, 20_000), (100, 10_000)]
    assert sheet["D2"].number_format == "0.00"


def test_a_missing_value_is_an_empty_cell(tables):
    sheet = _book(workbook(tables, generated_at=GENERATED_AT))["今日催缴"]

    skipped = [row for row in _values(sheet)[1:] if row[5] == "已跳过"]  # the status in words
    assert skipped and all(row[4] is None and row[6] is None for row in skipped)


def test_sheet_titles_are_short_unique_and_allowed():
    column = (Column("a", "甲", "A"),)
    long = "Collections by community and building, month to date"
    tables = [
        ReportTable("one", long, long, column, ()),
        ReportTable("two", long, long, column, ()),
        ReportTable("three", "a/b: [c]?*", "a/b: [c]?*", column, ()),
    ]

    titles = _book(workbook(tables, "en", generated_at=GENERATED_AT)).sheetnames

    assert all(len(title) <= 31 for title in titles)
    assert len({title.casefold() for title in titles}) == 3
    assert titles[0] == long[:31]
    assert not [title for title in titles if re.search(r"[\[\]:*?/\\]", title)]


def test_a_row_must_fit_its_columns():
    with pytest.raises(ValueError, match="row 1 has 2 cells for 1 columns"):
        ReportTable("t", "表", "Table", (Column("a", "甲", "A"),), (("x", "y"),))


def test_control_characters_do_not_break_the_workbook_or_the_page():
    name = "阳光\x07花园\x00"
    days = entries(community_name=name)

    files = report_files(DAY, GENERATED_AT, days)

    assert _book(files["report.xlsx"])["小区汇总"]["B2"].value == "阳光\ufffd花园\ufffd"
    assert "阳光\ufffd花园\ufffd" in files["report.html"].decode()
    assert b"\x07" not in files["report.html"]


@pytest.mark.parametrize("value", ["#N/A", "#REF!", "TRUE", "1234.56"])
def test_text_that_looks_like_a_value_stays_text(value):
    files = report_files(DAY, GENERATED_AT, entries(community_name=value))

    cell = _book(files["report.xlsx"])["小区汇总"]["B2"]
    assert (cell.value, cell.data_type) == (value, "s")


# ---------------------------------------------------------------- hostile owner text


def _cells(content: bytes) -> list[str]:
    rows = csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""))
    return [cell for row in rows for cell in row]


def test_hostile_text_is_inert_in_the_csv_files():
    files = report_files(DAY, GENERATED_AT, hostile_entries())

    cells = [cell for name, content in files.items() if name.endswith(".csv") for cell in _cells(content)]
    assert "'" + LINK in cells
    assert "'=1+2" in cells
    assert "'@SUM(1)" in cells
    assert SCRIPT in cells  # harmless in a spreadsheet: not a formula
    assert not [cell for cell in cells if cell[:1] in FORMULA_START]


def test_hostile_labels_intents_and_categories_are_inert_in_the_new_tables():
    files = report_files(DAY, GENERATED_AT, hostile_entries())

    label = f"{LINK}-{SCRIPT}"
    assert "'" + label in _cells(files["top_debtors.csv"])
    assert "'=1+2" in _cells(files["replies.csv"]) and SCRIPT in _cells(files["replies.csv"])
    assert "'=1+2" in _cells(files["leftover_issues.csv"])  # the category
    page = files["report.html"].decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script" not in page.lower()
    book = _book(files["report.xlsx"])
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    assert next(c for c in cells if c.value == label).data_type == "s"
    # the owner's message and contact are never in the report, however they are written
    for name, content in files.items():
        if not name.endswith(".xlsx"):
            assert SCRIPT + LINK not in content.decode() and "+8613700000000" not in content.decode(), name


@pytest.mark.parametrize("name", ["report.xlsx", "report.en.xlsx"])
def test_hostile_text_is_text_in_the_workbook_never_a_formula(name):
    content = report_files(DAY, GENERATED_AT, hostile_entries())[name]
    book = _book(content)

    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    by_value = {cell.value: cell for cell in cells if isinstance(cell.value, str)}
    for value in (LINK, "=1+2", "@SUM(1)", SCRIPT):
        assert by_value[value].data_type == "s", value  # the owner's text as is, no apostrophe added
    assert by_value[LINK].quotePrefix and by_value["=1+2"].quotePrefix and by_value["@SUM(1)"].quotePrefix
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sheets = [archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
    assert sheets and not [xml for xml in sheets if "<f>" in xml or "<f " in xml]


@pytest.mark.parametrize("name", ["report.html", "report.en.html"])
def test_hostile_text_is_escaped_in_the_page(name):
    page = report_files(DAY, GENERATED_AT, hostile_entries())[name].decode()

    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "=HYPERLINK(&#34;http://x&#34;,&#34;y&#34;)" in page
    assert _csp(page)


def test_chart_labels_are_escaped():
    summary = build_summary(DAY, GENERATED_AT, hostile_entries())

    chart = str(rate_chart(summary))

    assert "<script" not in chart
    assert "<title>&lt;script&gt;alert(1)&lt;/script&gt;: 60.0%</title>" in chart
    assert "&lt;script&gt;alert(1)&lt;/script&gt;</text>" in chart
    assert "=HYPERLINK(&#34;http://x&#34;,&#34;y&#34;)" in chart


# ---------------------------------------------------------------- the page


class _StrictParser(HTMLParser):
    """Records the tags and fails on any element closed out of order or left open."""

    VOID: ClassVar[set[str]] = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr", "source"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.problems: list[str] = []
        self.text: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
        else:
            self.open.pop()

    def handle_data(self, data):
        if self.open:
            self.text.setdefault(self.open[-1], []).append(data)


def _parsed(page: str) -> _StrictParser:
    parser = _StrictParser()
    parser.feed(page)
    parser.close()
    assert parser.problems == [] and parser.open == []
    return parser


def _csp(page: str) -> str:
    policies = [
        attrs["content"] for tag, attrs in _parsed(page).tags if attrs.get("http-equiv") == "Content-Security-Policy"
    ]
    assert len(policies) == 1
    return policies[0] or ""


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_page_is_well_formed_self_contained_and_runs_nothing(summary, tables, language):
    page = html_page(summary, tables, language).decode("utf-8")
    parsed = _parsed(page)

    names = [tag for tag, _ in parsed.tags]
    assert names.count("svg") == 3  # one per chart
    assert names.count("section") == len(tables)
    # each table, the rest of each long one behind a <details>, and the day's balance
    assert names.count("table") == len(tables) + names.count("details") + 1
    assert "script" not in names
    assert ("meta", {"charset": "utf-8"}) in parsed.tags
    policy = dict(part.strip().split(" ", 1) for part in _csp(page).split(";"))
    assert policy["default-src"] == policy["script-src"] == policy["object-src"] == "'none'"
    css = "".join(parsed.text["style"])
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    assert policy["style-src"] == f"'sha256-{digest}'"
    # nothing fetched: no external style sheet, script, font or image; no attribute that loads anything
    assert not [attrs for _, attrs in parsed.tags if {"src", "href", "srcset", "style"} & set(attrs)]
    assert "url(" not in css and "@import" not in css
    assert not [tag for tag, attrs in parsed.tags if any(name.startswith("on") for name in attrs)]


def test_the_page_shows_the_headline_figures(summary, tables):
    page = html_page(summary, tables).decode()

    assert "¥600.00" in page and "3 笔" in page  # collections today
    assert "40.0%" in page  # current period: 600 of 1,500 yuan
    assert "93.3%" in page  # back arrears
    assert "¥1,000.00" in page  # outstanding
    english = html_page(summary, tables, "en").decode()
    assert "Collected today" in english and "3 payments" in english


def test_the_page_shows_every_row_of_every_table(summary, tables):
    parsed = _parsed(html_page(summary, tables).decode())

    rows = [tag for tag, _ in parsed.tags].count("tr")
    # a header row each (two for a long table: the first rows, then the rest behind a <details>), an "empty"
    # row for a table without rows (no dead-letter depths in this summary), and the balance's rows
    long = [table for table in tables if len(table.rows) > PAGE_ROWS]
    assert long and [tag for tag, _ in parsed.tags].count("details") == len(long)
    balance = 4  # opening, new bills, collected, closing
    assert rows == sum(max(len(table.rows), 1) + 1 for table in tables) + len(long) + balance


def test_an_empty_day_still_gives_every_chart_and_every_table():
    quiet = [CommunityDay(entries()[0].community, DayActivity(), [])]
    summary = build_summary(DAY, GENERATED_AT, quiet)

    page = html_page(summary, report_tables(summary, quiet)).decode()

    assert [tag for tag, _ in _parsed(page).tags].count("svg") == 3
    assert "今日无催缴" in page and "无记录" in page and "无账单" in page and "暂无历史数据" in page


def test_the_rate_chart_draws_bars_to_scale_and_never_past_the_axis():
    summary = build_summary(DAY, GENERATED_AT, entries())
    summary["communities"][1]["current_period"]["collection_rate"] = 1.25  # prepaid beyond the bill

    chart = str(rate_chart(summary, "en"))

    widths = [float(w) for w in re.findall(r'<rect x="180" y="[\d.]+" width="([\d.]+)"', chart)]
    assert widths == [pytest.approx(240 * 0.6), 240]
    assert ">125.0%</text>" in chart


def test_the_trend_chart_plots_each_reported_day_to_scale_and_skips_days_without_bills():
    summary = build_summary(DAY, GENERATED_AT, entries())
    rows = [
        {"date": "2025-03-03", "collection_rate": 0.5, "back_arrears_rate": None},
        {"date": "2025-03-04", "collection_rate": 0.75, "back_arrears_rate": 0.1},
        {"date": "2025-03-05", "collection_rate": 1.2, "back_arrears_rate": 0.2},  # prepaid: drawn at 100%
    ]
    summary["totals"]["trend"] = rows

    chart = str(trend_chart(summary, "en"))

    titles = re.findall(r"<title[^>]*>([^<]*)</title>", chart)
    assert titles[0] == "Collection rates over 30 days (company)"
    assert "2025-03-04 Collection rate, current period: 75.0%" in titles
    assert "2025-03-05 Collection rate, current period: 120.0%" in titles
    assert sum("back arrears" in t for t in titles) == 2  # the day with nothing billed has no point
    current = re.search(r'<polyline points="([^"]+)" fill="none" stroke="#1f6fb2"', chart)
    ys = [float(point.split(",")[1]) for point in current.group(1).split()]
    bottom, height = 34 + 170, 170
    assert ys == [pytest.approx(bottom - height * 0.5), pytest.approx(bottom - height * 0.75), bottom - height]


def test_the_reminder_chart_counts_by_channel_and_status(summary):
    chart = str(reminder_chart(summary, "en"))

    titles = re.findall(r"<title[^>]*>([^<]*)</title>", chart)
    assert titles[0] == "Reminders today by channel and status"
    assert set(titles[1:]) == {
        "SMS sent: 2",
        "SMS failed: 1",
        "Email sent: 1",
        "Email failed: 1",
        "all channels skipped: 4",
    }


# ---------------------------------------------------------------- reproducible bytes


def test_content_types_cover_every_file():
    for name in report_files(DAY, GENERATED_AT, entries()):
        assert name[name.rindex(".") :] in CONTENT_TYPES
    assert CONTENT_TYPES[".xlsx"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert CONTENT_TYPES[".html"] == "text/html; charset=utf-8"


def test_every_file_is_identical_when_a_date_is_rerun_later(monkeypatch):
    # the zip format dates its entries by the clock (time.time): two builds an hour apart must still agree
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - 3600)
    earlier = report_files(DAY, GENERATED_AT, hostile_entries())
    monkeypatch.setattr(time, "time", lambda: real() + 3600)
    later = report_files(DAY, GENERATED_AT, hostile_entries())

    assert set(earlier) == set(later)
    for name in earlier:
        assert earlier[name] == later[name], name


def test_the_workbook_is_dated_when_the_report_was_generated(tables):
    with zipfile.ZipFile(io.BytesIO(workbook(tables, generated_at=GENERATED_AT))) as archive:
        assert {info.date_time for info in archive.infolist()} == {(2025, 3, 5, 21, 30, 0)}
        core = archive.read("docProps/core.xml").decode()
    book = _book(workbook(tables, generated_at=GENERATED_AT))
    assert book.properties.created == book.properties.modified == GENERATED_AT.astimezone(UTC).replace(tzinfo=None)
    assert "2025-03-05T13:30:00Z" in core


def test_the_csv_is_the_table_rendered():
    table = ReportTable(
        "t",
        "表",
        "Table",
        (Column("name", "名称", "Name"), Column("yuan", "元", "Yuan", "yuan"), Column("rate", "率", "Rate", "percent")),
        (("=1", -12.5, 0.12345), (None, 0.0, None)),
    )

    assert csv_bytes(table) == "\ufeffname,yuan,rate\r\n'=1,-12.50,12.35%\r\n,0.00,\r\n".encode()

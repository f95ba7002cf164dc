"""The daily report as a manager reads it on a phone: every code in words, local times, the day's balance
that adds up, charts that fit the width, the long trend on the page shortened and whole in the workbook."""

import io
import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook

import propfee
from propfee.accounts.imports.fields import METHODS
from propfee.collection.ladder import SkipReason
from propfee.collection.policy import Blocked
from propfee.domain.activity import DayActivity
from propfee.domain.models import Channel, HoldKind, Payment, ReminderStatus, TaskOutcome, TicketStatus
from propfee.feedback.intents import Department, Intent
from propfee.feedback.responses import DepartmentContact
from propfee.reports.formats import rate_chart, reminder_chart, trend_chart
from propfee.reports.formats.words import code_words, translated
from propfee.reports.publishing import report_files
from propfee.reports.sections import AGING_BUCKETS
from propfee.reports.summary import CommunityDay, CompanyDay, build_summary
from tests.support.report_day import DAY, GENERATED_AT, company, entries, hostile_entries, with_a_month_of_history

ROOT = Path(__file__).resolve().parents[3]
# a code a record stores (wechat_pay, over_365, collection_rate): lower-case ASCII words joined by "_"
CODE = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b")


def _queues() -> list[str]:
    """The dead-letter queues the stack gives the daily report (PROPFEE_DLQ_URLS in the SAM template)."""
    template = (ROOT / "infra" / "template.yaml").read_text(encoding="utf-8")
    block = template[template.index("PROPFEE_DLQ_URLS") :].split("Role:", 1)[0]
    return re.findall(r'"([a-z_]+)": "\$\{', block)


def _categories() -> list[str]:
    rules = yaml.safe_load((Path(propfee.__file__).parent / "feedback" / "intents.yaml").read_text(encoding="utf-8"))
    return list(rules["categories"])


CODES = [
    *(m.value for m in Intent),
    *(d.value for d in Department),
    *(s.value for s in ReminderStatus),
    *(c.value for c in Channel),
    *(h.value for h in HoldKind),
    *(o.value for o in TaskOutcome),
    *(s.value for s in TicketStatus),
    *(r.value for r in SkipReason),
    *(b.value for b in Blocked),
    *(key for key, _, _ in AGING_BUCKETS),
    *set(METHODS.values()),
    "wechat_pay",
    "not_classified",
    "skipped",
    *_queues(),
    *_categories(),
]


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_every_code_the_records_hold_has_a_word_in_each_language(language):
    words = code_words(language)

    assert len(_queues()) >= 10 and len(_categories()) >= 20  # the lists were read
    missing = sorted({code for code in CODES if code not in words})
    assert missing == []
    if language == "zh-CN":  # Chinese words, not the English code again
        assert [code for code in CODES if re.fullmatch(r"[\x00-\x7f]+", words[code])] == []


@pytest.mark.parametrize(
    ("code", "zh", "en"),
    [
        ("wechat_pay", "微信支付", "WeChat Pay"),
        ("over_365", "365天以上", "over 365 days"),
        ("finance", "财务部", "finance"),
        ("collection_rate", "收缴率", "collection rate"),
        ("sms_d30", "短信（逾期第30天）", "SMS (day 30)"),
        ("overdue dispute", "已超时、争议", "overdue, dispute"),
        ("=1+2", "=1+2", "=1+2"),  # an owner's or a billing system's own text stays as written
    ],
)
def test_a_code_in_words(code, zh, en):
    assert translated(code, code_words("zh-CN"), "zh-CN") == zh
    assert translated(code, code_words("en"), "en") == en


class _Cells(HTMLParser):
    """The text of every table header and cell of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.cells: list[str] = []
        self._in: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("th", "td", "caption", "summary"):
            self._in.append(tag)
            self.cells.append("")

    def handle_endtag(self, tag):
        if self._in and tag == self._in[-1]:
            self._in.pop()

    def handle_data(self, data):
        if self._in:
            self.cells[-1] += data


def _cells(page: bytes) -> list[str]:
    parser = _Cells()
    parser.feed(page.decode("utf-8"))
    return [cell.strip() for cell in parser.cells]


@pytest.fixture(scope="module")
def month_files():
    return report_files(DAY, GENERATED_AT, with_a_month_of_history(hostile_entries()), company())


@pytest.mark.parametrize("name", ["report.html", "report.en.html"])
def test_no_table_cell_or_header_of_the_page_shows_a_code(month_files, name):
    cells = _cells(month_files[name])
    words = code_words("zh-CN" if name == "report.html" else "en")

    assert len(cells) > 500
    assert [cell for cell in cells if CODE.search(cell)] == []
    if name == "report.html":  # nor a code that is one English word ("sent", "leak", "cash")
        plain = {code for code in words if re.fullmatch(r"[a-z]+", code)}
        assert [cell for cell in cells if cell in plain] == []
    assert words["frequency_cap"] in cells and words["finance"] in cells and words["over_365"] in cells


@pytest.mark.parametrize("name", ["report.xlsx", "report.en.xlsx"])
def test_no_cell_of_the_workbook_shows_a_code(month_files, name):
    book = load_workbook(io.BytesIO(month_files[name]))

    texts = [c.value for sheet in book.worksheets for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    assert [text for text in texts if CODE.search(text)] == []


def test_departments_are_called_what_the_rules_file_calls_them():
    own = CompanyDay(departments={"finance": DepartmentContact(name="财务结算中心", name_en="billing office")})

    files = report_files(DAY, GENERATED_AT, entries(), own)

    assert "财务结算中心" in _cells(files["report.html"]) and "财务部" not in _cells(files["report.html"])
    assert "billing office" in _cells(files["report.en.html"])
    assert "finance" in files["tickets.csv"].decode()  # the CSV keeps the codes programs read


# ---------------------------------------------------------------- local times


def _paid_in_utc() -> list[CommunityDay]:
    """A payment recorded in UTC: 01:05 UTC is 09:05 in Shanghai."""
    days = entries()
    at = datetime(2025, 3, 5, 1, 5, 30, tzinfo=UTC)
    pay = Payment(reference="C01-PAY-0009", unit_id="C01-B01-0009", community_id="C01", amount_fen=500, paid_at=at)
    days[0] = CommunityDay(days[0].community, DayActivity(payments=(pay,)), days[0].periods)
    return days


def test_times_are_local_in_the_page_the_csv_and_the_workbook():
    generated_utc = GENERATED_AT.astimezone(UTC)  # the scheduler's time is UTC

    files = report_files(DAY, generated_utc, _paid_in_utc(), company())

    assert "2025-03-05 09:05" in _cells(files["report.html"])
    assert "生成时间 2025-03-05 21:30" in files["report.html"].decode()
    assert "2025-03-05T09:05:30+08:00" in files["collections.csv"].decode()
    for name, content in files.items():
        if name.endswith((".html", ".csv")):
            assert "+00:00" not in content.decode() and "UTC" not in content.decode(), name
    sheet = load_workbook(io.BytesIO(files["report.xlsx"]))["今日收款"]
    assert sheet["C2"].value == datetime(2025, 3, 5, 9, 5, 30)
    assert sheet["C2"].is_date and sheet["C2"].number_format == "yyyy-mm-dd hh:mm:ss"


def test_the_workbook_keeps_dates_as_dates_and_numbers_as_numbers(month_files):
    book = load_workbook(io.BytesIO(month_files["report.xlsx"]))

    trend = book["近30天趋势"]
    assert trend["C2"].value == datetime(2025, 2, 4) and trend["C2"].number_format == "yyyy-mm-dd"
    assert trend["D2"].data_type == "n"
    debtors = book["重点欠费户"]
    assert debtors["G2"].is_date and debtors["G2"].value.date() == date(2024, 11, 5)
    issues = book["遗留问题"]
    assert all(isinstance(issues.cell(row=r, column=6).value, datetime) for r in range(2, issues.max_row + 1))


# ---------------------------------------------------------------- the trend, long tables, charts


def test_the_page_shows_the_last_14_days_of_the_trend_and_the_workbook_all_30(month_files):
    book = load_workbook(io.BytesIO(month_files["report.xlsx"]))

    assert book["近30天趋势"].max_row == 1 + 30 * 3  # two communities and the company
    page = month_files["report.html"].decode()
    trend = page[page.index('<section id="trend">') :].split("</section>", 1)[0]
    assert "显示 42 / 90 行，全部见 XLSX 文件" in trend
    assert trend.count("<td>2025-02-20</td>") == 3 and "<td>2025-02-19</td>" not in trend


def test_a_long_table_shows_its_first_rows_and_folds_the_rest(month_files):
    page = month_files["report.html"].decode()

    aging = page[page.index('<section id="arrears_aging">') :].split("</section>", 1)[0]
    shown, folded = aging.split("<details>")
    assert shown.count("<tr>") == 1 + 10 and folded.count("<tr>") == 1 + 5
    assert "<summary>其余 5 行</summary>" in folded


@pytest.mark.parametrize("chart", [rate_chart, reminder_chart, trend_chart])
def test_charts_scale_to_the_width(chart):
    svg = str(chart(build_summary(DAY, GENERATED_AT, entries())))
    head = svg[: svg.index(">")]

    assert 'width="100%"' in head and "height=" not in head and 'viewBox="0 0 ' in head


# ---------------------------------------------------------------- the day's balance


def test_the_balance_adds_up_from_the_previous_day():
    summary = build_summary(DAY, GENERATED_AT, with_a_month_of_history(hostile_entries()), company())

    for figures in (*summary["communities"], summary["totals"]):
        b = figures["balance"]
        assert b["opening_fen"] + b["new_bills_fen"] - b["collected_fen"] + b["adjustments_fen"] == b["closing_fen"]
        assert b["closing_fen"] == figures["outstanding_fen"]
        assert b["collected_fen"] == figures["collections"]["amount_fen"]
    sunshine, garden = summary["communities"]
    # 阳光花园: its payments are in its totals; 锦绣家园's two payments are not (nothing to adjust them against)
    assert sunshine["balance"] == {
        "opening_fen": 110_000,
        "new_bills_fen": 0,
        "collected_fen": 60_000,
        "adjustments_fen": 0,
        "closing_fen": 50_000,
    }
    assert garden["balance"]["adjustments_fen"] == 3_000


def test_new_bills_of_the_day_are_in_the_balance():
    days = with_a_month_of_history(entries())
    # the day the month's bills were issued: the day before, 2025-03 was not billed yet
    day = date(2025, 3, 1)
    history = [tuple(s for s in e.history if s.day <= day) for e in days]
    on_the_first = [
        CommunityDay(e.community, DayActivity(), e.periods, history=h) for e, h in zip(days, history, strict=True)
    ]

    summary = build_summary(day, GENERATED_AT, on_the_first)

    assert summary["communities"][0]["balance"]["new_bills_fen"] == 100_000
    assert summary["totals"]["balance"]["new_bills_fen"] == 150_000


def test_without_the_previous_day_the_opening_is_unknown_and_the_page_says_so():
    summary = build_summary(DAY, GENERATED_AT, entries())

    assert summary["totals"]["balance"]["opening_fen"] is None
    assert summary["totals"]["balance"]["closing_fen"] == summary["totals"]["outstanding_fen"]
    page = report_files(DAY, GENERATED_AT, entries())["report.html"].decode()
    assert "未知（无前日日报）" in page

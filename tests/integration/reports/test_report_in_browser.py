"""The daily report's HTML page in a real browser: Debian's Chromium, headless, driven by Playwright.

The page loads from a file:// URL as a manager opens it after downloading it. It must render with no console
error and no Content Security Policy violation, fetch nothing, draw both charts where they can be seen, and
show owners' hostile text as text: no dialog, no element of theirs. `make test` installs Debian's chromium when it
is missing; where it cannot, these tests skip with the reason (the Makefile's `chromium` target says why)."""

import io
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from PIL import Image
from playwright.sync_api import Browser, Page, sync_playwright

from propfee.reports.formats import _COLOURS
from propfee.reports.publishing import report_files
from propfee.reports.staff_day import staff_labels
from tests.support.report_day import (
    DAY,
    GENERATED_AT,
    LINK,
    SCRIPT,
    company,
    hostile_entries,
    with_a_month_of_history,
)
from tests.unit.reports.test_staff_day import COLLECTORS, RECORDS, the_days_actions

# Debian's launcher script; Playwright's own browser builds are never downloaded
CHROMIUM = shutil.which("chromium")

# each check runs in the page through DevTools, which the page's policy does not apply to
_CSP_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
});
"""
# how many of a chart's shapes take room on the screen (a vertical grid line has no width, a 0% bar none either)
_DRAWN = """(svg) => {
  const drawn = (selector, seen) =>
    [...svg.querySelectorAll(selector)].filter((shape) => seen(shape.getBoundingClientRect())).length;
  return {
    lines: drawn("line", (box) => box.width > 0 || box.height > 0),
    rects: drawn("rect", (box) => box.width > 0 && box.height > 0),
    labels: drawn("text", (box) => box.width > 0 && box.height > 0),
    texts: svg.querySelectorAll("text").length,
  };
}"""
# whether the middle of each drawn bar shows that bar, not something laid over it
_BARS_ON_TOP = """(svg) => [...svg.querySelectorAll("g.bar rect")]
  .map((bar) => bar.getBoundingClientRect())
  .filter((box) => box.width > 0)
  .map((box) => document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2).tagName)"""
_FOREIGN_ELEMENTS = "document.querySelectorAll('script, iframe, object, embed, img, link, base, form').length"


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip(
            "NO BROWSER: chromium is not on PATH, so the report is not checked in a browser; install it (Debian:"
            " apt-get install chromium, which `make test` tries) and run these tests again"
        )
    with sync_playwright() as playwright:
        # sRGB, so that a screenshot's pixels are the colours the page asks for
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--force-color-profile=srgb"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    for name, content in report_files(DAY, GENERATED_AT, hostile_entries()).items():
        if name.endswith(".html"):
            (folder / name).write_bytes(content)
    return folder


class Opened:
    """A page loaded in a fresh context, with everything it said, asked for and showed on the way."""

    def __init__(self, browser: Browser, path: Path, width: int = 1280):
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.page: Page = self.context.new_page()
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: m.type in ("error", "warning") and self.problems.append(m.text))
        self.page.on("pageerror", lambda error: self.problems.append(str(error)))
        self.page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.add_init_script(_CSP_VIOLATIONS)
        self.url = path.as_uri()
        self.page.goto(self.url, wait_until="load")

    def violations(self) -> list[str]:
        return self.page.evaluate("window.__violations")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def opened(browser, report_dir, request):
    page = Opened(browser, report_dir / request.param)
    yield page
    page.close()


PAGES = pytest.mark.parametrize("opened", ["report.html", "report.en.html"], indirect=True)


@PAGES
def test_the_page_renders_with_no_error_and_no_policy_violation_and_fetches_nothing(opened):
    assert opened.problems == []
    assert opened.violations() == []
    assert opened.requests == [opened.url]
    assert opened.page.title().startswith(("物业费日报", "Property fee daily report"))


def _colours(png: bytes) -> set[tuple[int, int, int]]:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return {colour for _, colour in image.getcolors(maxcolors=image.width * image.height)}


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return (int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16))


@PAGES
def test_both_charts_are_drawn_visible_and_in_their_colours(opened):
    page = opened.page
    # the rate chart: one bar at 60%, one at 0%; the reminder chart: a legend square per status, and bars
    for chart, colours, rects in (("chart-rate", ["bar"], 1), ("chart-reminders", ["sent", "failed", "skipped"], 8)):
        svg = page.locator(f"svg#{chart}")
        svg.scroll_into_view_if_needed()
        box = svg.bounding_box()
        drawn = svg.evaluate(_DRAWN)

        assert svg.is_visible(), chart
        assert box is not None and box["width"] > 300 and box["height"] > 90, (chart, box)
        assert drawn["lines"] == 5 and drawn["rects"] == rects, (chart, drawn)  # grid lines, bars
        assert drawn["labels"] == drawn["texts"] > 5, (chart, drawn)  # every label drawn in a font
        # what a person sees: the chart's pixels hold the colour of each kind of bar
        seen = _colours(svg.screenshot())
        assert {_rgb(_COLOURS[name]) for name in colours} <= seen, chart
    assert page.locator("svg#chart-rate").evaluate(_BARS_ON_TOP) == ["rect"]  # nothing covers the bar


@PAGES
def test_hostile_owner_text_is_shown_as_text_and_runs_nothing(opened):
    page = opened.page
    text = page.inner_text("body")

    assert SCRIPT in text and LINK in text  # as written, visible to the manager
    assert page.locator("td", has_text=SCRIPT).count() >= 1
    assert page.evaluate(_FOREIGN_ELEMENTS) == 0  # no element the owner's text could have made
    assert opened.dialogs == []  # no alert(1)
    assert opened.problems == [] and opened.violations() == []


def test_the_checks_see_a_policy_violation_when_there_is_one(browser, report_dir, tmp_path):
    # the same page with an inline style the policy does not allow: the checks above must notice
    page = (report_dir / "report.html").read_text(encoding="utf-8")
    broken = tmp_path / "broken.html"
    broken.write_text(page.replace("<main>", '<main style="color:red">', 1), encoding="utf-8")

    opened = Opened(browser, broken)
    try:
        assert any("Content Security Policy" in problem for problem in opened.problems)
        assert opened.violations() == ["style-src-attr blocked inline"]
    finally:
        opened.close()


def test_a_notice_board_page_renders_with_no_error_and_no_policy_violation(browser, tmp_path):
    from propfee.reports.notice_board import building_figures, community_figures, notice, notice_html
    from tests.support.notice_board import IDENTITY, PERIOD, buildings, community, scenario

    figures = building_figures(PERIOD, buildings(), scenario().entries())
    text = notice(community(SCRIPT), figures[0], community_figures(community(), figures), PERIOD, DAY, "zh-CN",
                  IDENTITY)  # fmt: skip
    path = tmp_path / "notice.html"
    path.write_bytes(notice_html(text))

    opened = Opened(browser, path)
    try:
        assert opened.problems == [] and opened.violations() == [] and opened.requests == [opened.url]
        assert SCRIPT in opened.page.inner_text("body") and opened.page.evaluate(_FOREIGN_ELEMENTS) == 0
        assert opened.page.locator("table tr").count() == len(text.rows)
    finally:
        opened.close()


# ---------------------------------------------------------------- on a manager's phone, and on a desk

# a code a record stores (wechat_pay, over_365, collection_rate): lower-case ASCII words joined by "_"
CODE = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b")
_WIDTHS = """() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
  charts: [...document.querySelectorAll("svg")].map((svg) => svg.getBoundingClientRect().right)})"""


@pytest.fixture(scope="module")
def month_dir(tmp_path_factory) -> Path:
    """The report of a day after a month of reports: a trend table of 90 rows, the day's balance known, and the
    day's staff actions (collectors' outcomes, ticket actions: the widest tables)."""
    folder = tmp_path_factory.mktemp("month")
    staffed = replace(company(), collectors=COLLECTORS, staff_actions=tuple(the_days_actions()),
                      staff=staff_labels(RECORDS))  # fmt: skip
    files = report_files(DAY, GENERATED_AT, with_a_month_of_history(hostile_entries()), staffed)
    for name, content in files.items():
        if name.endswith(".html"):
            (folder / name).write_bytes(content)
    return folder


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("name", ["report.html", "report.en.html"])
def test_the_report_fits_the_screen_reads_in_words_and_passes_axe(browser, month_dir, tmp_path, name, width):
    opened = Opened(browser, month_dir / name, width=width)
    try:
        page = opened.page
        page.screenshot(path=tmp_path / f"{name}-{width}.png", full_page=True)
        widths = page.evaluate(_WIDTHS)

        # no sideways scrolling of the page: charts scale down, wide tables scroll inside their own box
        assert widths["scroll"] <= widths["inner"], widths
        assert all(right <= width for right in widths["charts"]), widths
        # every code in words, in what shows first and in the rows behind each <details>
        assert CODE.findall(page.inner_text("body")) == []
        assert page.locator("details").count() >= 3
        page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
        assert CODE.findall(page.inner_text("body")) == []
        assert page.evaluate(_WIDTHS)["scroll"] <= width
        # the trend shows its last 14 days here, all 30 in the workbook
        assert page.locator("#trend tbody tr").count() == 14 * 3
        assert page.locator("#collector_actions tbody tr").count() == 3
        assert page.locator("#ticket_actions tbody tr").count() == 2
        violations = Axe().run(page).response["violations"]
        assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations] == []
        assert opened.problems == [] and opened.violations() == []
    finally:
        opened.close()


@pytest.mark.parametrize("name", ["report.html", "report.en.html"])
def test_the_headline_balance_adds_up_as_shown(browser, month_dir, name):
    opened = Opened(browser, month_dir / name, width=390)
    try:
        rows = opened.page.locator("table.balance tr").all_inner_texts()
        amounts = [
            (row.split("\t")[0].strip(), float(row.split("¥")[1].replace(",", ""))) for row in rows if "¥" in row
        ]
        total = 0.0
        for sign, amount in amounts[:-1]:
            total += -amount if sign == "\u2212" else amount
        assert amounts[-1][0] == "=" and len(amounts) >= 4
        assert total == pytest.approx(amounts[-1][1])
    finally:
        opened.close()

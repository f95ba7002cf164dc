"""The notice board (宣传栏公告): right totals per building, nothing that names a household, lawful wording,
the same bytes for the same inputs."""

import re
import time
from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from propfee.collection import cjk_pdf
from propfee.collection.messages import lint
from propfee.reports.notice_board import (
    MIN_GROUP,
    BuildingFigures,
    building_figures,
    community_figures,
    notice_board_files,
    period_of,
)
from tests import support
from tests.support.builders import PROPERTY
from tests.support.notice_board import (
    DAY,
    GENERATED_AT,
    HOTLINE,
    IDENTITY,
    LINK,
    NAMES,
    PAY,
    PERIOD,
    PHONE,
    SCRIPT,
    Ledger,
    buildings,
    community,
    scenario,
)
from tests.support.pdf import pdf_text


def files(name: str = "锦绣花园", b01: str = "1栋", b02: str = "2栋", book: Ledger | None = None) -> dict[str, bytes]:
    entries = (book or scenario()).entries()
    return notice_board_files(DAY, community(name), buildings(b01, b02), entries, GENERATED_AT, identity=IDENTITY)


class _Tags(HTMLParser):
    """The tags of a page, and the text a reader sees (not the style sheet)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        if self.lasttag != "style":
            self.text.append(data)


def parsed(page: bytes) -> _Tags:
    tags = _Tags()
    tags.feed(page.decode("utf-8"))
    return tags


def shown(page: bytes) -> dict[str, str]:
    """The figures table of a page: label -> value."""
    cells = re.findall(r'<tr><th scope="row">([^<]*)</th><td>([^<]*)</td></tr>', page.decode("utf-8"))
    return dict(cells)


# ---------------------------------------------------------------- the figures


def test_each_buildings_figures_are_recounted_from_its_bills_and_payments():
    figures = {f.building_id: f for f in building_figures(PERIOD, buildings(), scenario().entries())}

    b01, b02 = figures["C01-B01"], figures["C01-B02"]
    assert (b01.units, b01.billed_units, b01.paid_units, b01.owing_units) == (5, 4, 1, 3)
    assert (b01.billed_fen, b01.paid_fen, b01.outstanding_fen) == (100_000, 25_000 + 10_000 + 20_000 + 5_000, 40_000)
    assert b01.collection_rate == 0.6
    assert (b01.back_owing_units, b01.back_outstanding_fen) == (0, 0)
    assert (b02.units, b02.billed_units, b02.paid_units, b02.billed_fen, b02.paid_fen) == (3, 3, 2, 75_000, 50_000)
    assert (b02.back_owing_units, b02.back_outstanding_fen) == (1, 25_000)
    whole = community_figures(community(), [b01, b02])
    assert (whole.billed_fen, whole.paid_fen, whole.collection_rate) == (175_000, 110_000, 0.6286)


def test_a_unit_of_a_building_not_listed_still_counts():
    book = scenario()
    figures = building_figures(PERIOD, buildings()[:1], book.entries())

    assert [(f.building_id, f.name, f.units) for f in figures] == [("C01-B01", "1栋", 5), ("C01-B02", "B02", 3)]


@st.composite
def ledgers(draw) -> Ledger:
    """Households in two buildings billed for February and March, paying (named months, refunds) at random."""
    count = draw(st.integers(min_value=1, max_value=8))
    units = [support.unit(f"C01-B0{draw(st.integers(1, 2))}-{n:04d}") for n in range(count)]
    book = Ledger(units)
    for unit in units:
        for period in draw(st.sets(st.sampled_from(["2025-02", PERIOD]))):
            book.bill(unit.unit_id, period, draw(st.integers(min_value=1, max_value=90_000)))
        for amount in draw(st.lists(st.integers(min_value=1, max_value=120_000), max_size=3)):
            book.pay(unit.unit_id, amount, draw(st.sampled_from([None, "2025-02", PERIOD])))
        paid = sum(b.paid_fen for b in book.bills[unit.unit_id].values()) + book.units[unit.unit_id].credit_fen
        if paid and draw(st.booleans()):
            book.pay(unit.unit_id, -draw(st.integers(min_value=1, max_value=paid)))
    return book


@PROPERTY
@given(book=ledgers())
def test_the_totals_agree_with_the_raw_bills_payments_and_the_units_open_bills(book):
    entries = book.entries()
    figures = building_figures(PERIOD, buildings(), entries)

    bills = [b for _, unit_bills in entries for b in unit_bills]
    assert sum(f.billed_fen for f in figures) == sum(b.amount_fen for b in bills if b.period == PERIOD)
    billed_back = sum(b.amount_fen for b in bills if b.period < PERIOD)
    paid = sum(f.paid_fen for f in figures) + billed_back - sum(f.back_outstanding_fen for f in figures)
    # what came in (refunds taken off), less what waits as credit, is what the bills show paid
    credit = sum(unit.credit_fen for unit in book.units.values())
    assert paid == book.received - credit
    # a household is fully paid for March exactly when the ledger keeps no open March bill for it
    assert sum(f.paid_units for f in figures) == sum(
        1
        for unit, unit_bills in entries
        if any(b.period == PERIOD for b in unit_bills) and PERIOD not in unit.open_bills
    )
    assert sum(f.back_owing_units for f in figures) == sum(
        1 for unit, _ in entries if any(period < PERIOD for period in unit.open_bills)
    )


def test_a_period_is_a_month_or_the_month_of_a_day():
    assert period_of(DAY) == PERIOD
    assert period_of("2024-12") == "2024-12"
    with pytest.raises(ValueError, match="YYYY-MM"):
        period_of("2024-13")


# ---------------------------------------------------------------- what is posted


def test_there_is_a_page_and_a_pdf_per_building_and_language():
    assert sorted(files()) == [
        f"notice-board/{building}.{language}.{kind}"
        for building in ("C01-B01", "C01-B02")
        for language in ("en", "zh-CN")
        for kind in ("html", "pdf")
    ]


def test_the_page_posts_the_buildings_totals_and_the_communitys_rate():
    page = files()["notice-board/C01-B01.zh-CN.html"]

    assert shown(page) == {
        "本楼户数": "5",
        "本期应缴户数": "4",
        "本期已缴清户数": "1",
        "本期应收金额": "1,000.00元",
        "本期已收金额": "600.00元",
        "本期未缴金额": "400.00元",
        "本期收缴率": "60.0%",
        "往期未缴户数": "0",
        "往期未缴金额": "0.00元",
        "全小区本期收缴率": "62.9%",
    }
    text = "".join(parsed(page).text)
    assert "截至2025年3月20日，1栋2025年3月物业费缴纳情况如下" in text
    assert "不予公布" not in text  # nothing withheld: three households owe


def test_the_pdf_posts_the_same_figures_as_the_page():
    pages = files()
    for building in ("C01-B01", "C01-B02"):
        for language in ("zh-CN", "en"):
            text = pdf_text(pages[f"notice-board/{building}.{language}.pdf"])
            for label, value in shown(pages[f"notice-board/{building}.{language}.html"]).items():
                assert re.search(re.escape(label) + r"\s+" + re.escape(value), text), (building, language, label)


def test_a_building_where_one_household_owes_posts_no_count_or_amount_that_points_at_it():
    pages = files()
    figures = shown(pages["notice-board/C01-B02.zh-CN.html"])

    # one of three owes for March and one for February: only the rate of March, which names no household
    assert figures == {"本楼户数": "3", "本期应缴户数": "3", "本期收缴率": "66.7%", "全小区本期收缴率": "62.9%"}
    assert "为保护业主个人信息，涉及户数较少的数字不予公布。" in pages["notice-board/C01-B02.zh-CN.html"].decode()
    english = shown(pages["notice-board/C01-B02.en.html"])
    assert "Households fully paid" not in english and "Not yet paid this period" not in english
    assert "very few households are not shown" in pages["notice-board/C01-B02.en.html"].decode()


def _figures(billed_units: int, paid_units: int, back_owing_units: int = 0) -> BuildingFigures:
    return BuildingFigures("C01-B09", "9栋", billed_units, billed_units, paid_units, 1, 1, back_owing_units, 1)


@pytest.mark.parametrize(
    ("billed", "paid", "back", "breakdown", "rate", "back_shown"),
    [
        (40, 40, 0, True, True, True),  # everyone paid: nothing to hide
        (40, 38, 0, False, True, True),  # two owe: the rate only
        (40, 40 - MIN_GROUP, 0, True, True, True),
        (40, 40, 1, True, True, False),  # one household owes for earlier months
        (40, 40, MIN_GROUP, True, True, True),
        (2, 1, 0, False, False, True),  # a building of two: even the rate would name the other household
        (2, 2, 0, True, True, True),
        (0, 0, 0, True, True, True),  # nothing billed
    ],
)
def test_figures_about_fewer_than_three_households_are_withheld(billed, paid, back, breakdown, rate, back_shown):
    figures = _figures(billed, paid, back)

    assert (figures.shows_breakdown, figures.shows_rate, figures.shows_back_arrears) == (breakdown, rate, back_shown)


def test_no_unit_room_name_or_phone_reaches_a_notice():
    book = scenario()
    secrets = {PHONE, PHONE.removeprefix("+86"), "owner@example.net", *NAMES}
    for unit in book.units.values():
        secrets |= {unit.unit_id, unit.room, unit.label}

    for name, content in files(book=book).items():
        text = pdf_text(content) if name.endswith(".pdf") else content.decode("utf-8")
        assert not [secret for secret in secrets if secret in text], name


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_wording_thanks_tells_how_to_pay_and_threatens_no_one(language):
    pages = files()
    page = "".join(parsed(pages[f"notice-board/C01-B01.{language}.html"]).text)
    pdf = pdf_text(pages[f"notice-board/C01-B01.{language}.pdf"])

    for text in (page, pdf):
        assert lint(text) == []
        assert HOTLINE in text
        assert ("感谢" if language == "zh-CN" else "Thank you") in text
    assert PAY[language] in page
    assert (IDENTITY.name if language == "zh-CN" else IDENTITY.name_en) in page  # the company signs it


# ---------------------------------------------------------------- hostile names


def test_hostile_community_and_building_names_are_text_on_the_page():
    pages = files(name=SCRIPT, b01=LINK, b02="2栋</td><td>")

    for name, content in pages.items():
        if name.endswith(".html"):
            page = content.decode("utf-8")
            tags = parsed(content)
            assert "<script" not in page.lower() and "script" not in [tag for tag, _ in tags.tags]
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
            assert "default-src 'none'; script-src 'none'" in page
            assert not [attrs for _, attrs in tags.tags if {"src", "href", "srcset", "style"} & set(attrs)]
    assert "=HYPERLINK(&#34;http://x&#34;,&#34;y&#34;)" in pages["notice-board/C01-B01.zh-CN.html"].decode()
    assert "2栋&lt;/td&gt;&lt;td&gt;" in pages["notice-board/C01-B02.zh-CN.html"].decode()
    assert SCRIPT in pdf_text(pages["notice-board/C01-B01.zh-CN.pdf"])  # drawn as text in the PDF


# ---------------------------------------------------------------- the same bytes


def test_the_same_inputs_give_the_same_bytes_even_an_hour_later_with_a_new_font_subset(monkeypatch):
    first = files()
    # a new process subsets the font again: fontTools would stamp the subset with the clock's time
    real = time.time
    cjk_pdf._subset.cache_clear()
    monkeypatch.setattr(time, "time", lambda: real() + 3600)
    again = files()

    assert first == again

"""The notice board (宣传栏公告): a printable notice per building and billing period, as HTML and PDF.

For managers who still post notices in the lobby. A notice shows totals only: how many households a building
has, how many have paid for the period, the amounts and the collection rate; never a name, a unit or room
number or a phone number (PIPL: one owner's debt is never disclosed to others). The wording thanks those who
paid and tells the others how to pay and whom to call; it threatens nothing and shames no one.

Pure: the caller reads the buildings, the units and each unit's bills (see `notice_board_files`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from propfee.accounts.ledger import PaidBill
from propfee.collection.cjk_pdf import cjk_document, find_font
from propfee.domain.identity import CompanyIdentity
from propfee.domain.models import Building, Community, Language, Unit
from propfee.domain.money import rate, yuan
from propfee.reports.formats import _environment as _html_environment  # the report page's: autoescape, csp_hash

# k-anonymity: a figure about fewer households than this could point at one of them. In a building where one
# unit has not paid, "1 household owes ¥2,517.60" tells the neighbours who (the one with the big flat, the one
# in a dispute). So a count of owing households, and every amount it could be worked out from (billed minus
# paid is the debt), is shown only when none or at least this many owe; a building with fewer billed
# households than this shows no rate either (in a building of two, a rate of 50% names the other one).
MIN_GROUP = 3

LANGUAGES: tuple[Language, ...] = ("zh-CN", "en")
_PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_UNSAFE_IN_KEY = re.compile(r"[^A-Za-z0-9_-]")
# not calendar.month_name: that follows the machine's locale
_MONTHS_EN = (
    *("January", "February", "March", "April", "May", "June"),
    *("July", "August", "September", "October", "November", "December"),
)


@dataclass(frozen=True)
class BuildingFigures:
    """One building's (or, summed, the community's) figures for a billing period; money in integer fen."""

    building_id: str
    name: str
    units: int  # households of the building, billed this period or not
    billed_units: int  # households with a bill for the period
    paid_units: int  # of those, households that paid the period's bill in full
    billed_fen: int
    paid_fen: int
    back_owing_units: int  # households still owing for earlier periods (清欠)
    back_outstanding_fen: int

    @property
    def owing_units(self) -> int:
        return self.billed_units - self.paid_units

    @property
    def outstanding_fen(self) -> int:
        return self.billed_fen - self.paid_fen

    @property
    def collection_rate(self) -> float | None:
        return rate(self.paid_fen, self.billed_fen)

    @property
    def shows_breakdown(self) -> bool:
        """Whether the counts and amounts of the period may be posted (see MIN_GROUP)."""
        return self.owing_units == 0 or self.owing_units >= MIN_GROUP

    @property
    def shows_rate(self) -> bool:
        return self.owing_units == 0 or self.billed_units >= MIN_GROUP

    @property
    def shows_back_arrears(self) -> bool:
        return self.back_owing_units == 0 or self.back_owing_units >= MIN_GROUP


def period_of(day_or_period: date | str) -> str:
    """'2025-03' for a day in March 2025, or a period as given."""
    if isinstance(day_or_period, date):
        return f"{day_or_period.year:04d}-{day_or_period.month:02d}"
    if not _PERIOD.fullmatch(day_or_period):
        raise ValueError(f"not a billing period (YYYY-MM): {day_or_period!r}")
    return day_or_period


def _owed(bill: PaidBill) -> int:
    return max(bill.amount_fen - bill.paid_fen, 0)


def _figures(building_id: str, name: str, period: str, units: Sequence[Sequence[PaidBill]]) -> BuildingFigures:
    """`units`: the bills of each household of the building."""
    current = [[b for b in bills if b.period == period] for bills in units]
    back_owed = [sum(_owed(b) for b in bills if b.period < period) for bills in units]
    return BuildingFigures(
        building_id=building_id,
        name=name,
        units=len(units),
        billed_units=sum(1 for bills in current if bills),
        paid_units=sum(1 for bills in current if bills and not any(_owed(b) for b in bills)),
        billed_fen=sum(b.amount_fen for bills in current for b in bills),
        paid_fen=sum(b.paid_fen for bills in current for b in bills),
        back_owing_units=sum(1 for owed in back_owed if owed),
        back_outstanding_fen=sum(back_owed),
    )


def building_figures(
    period: str, buildings: Iterable[Building], units: Iterable[tuple[Unit, Sequence[PaidBill]]]
) -> list[BuildingFigures]:
    """Each building's figures for the period, by building id. A unit whose building is not listed still counts,
    under its building id: a notice that leaves households out would overstate the rate."""
    names = {b.building_id: b.name for b in buildings}
    by_building: dict[str, list[Sequence[PaidBill]]] = {building_id: [] for building_id in names}
    for unit, bills in units:
        by_building.setdefault(unit.building_id, []).append(bills)
    return [
        _figures(building_id, names.get(building_id, building_id.split("-")[-1]), period, by_building[building_id])
        for building_id in sorted(by_building)
    ]


def community_figures(community: Community, buildings: Sequence[BuildingFigures]) -> BuildingFigures:
    """The buildings' figures added up."""
    return BuildingFigures(
        building_id="",
        name=community.name,
        units=sum(b.units for b in buildings),
        billed_units=sum(b.billed_units for b in buildings),
        paid_units=sum(b.paid_units for b in buildings),
        billed_fen=sum(b.billed_fen for b in buildings),
        paid_fen=sum(b.paid_fen for b in buildings),
        back_owing_units=sum(b.back_owing_units for b in buildings),
        back_outstanding_fen=sum(b.back_outstanding_fen for b in buildings),
    )


# ------------------------------------------------------------------------------------------- the wording
# One text per language for both the page and the PDF. Checked by the compliance lint in the tests.

_WORDS: dict[Language, dict[str, str]] = {
    "zh-CN": {
        "title": "物业费缴纳情况通告",
        "greeting": "尊敬的各位业主：",
        "intro": "截至{as_of}，{building}{period}物业费缴纳情况如下：",
        "units": "本楼户数",
        "billed_units": "本期应缴户数",
        "paid_units": "本期已缴清户数",
        "billed": "本期应收金额",
        "paid": "本期已收金额",
        "outstanding": "本期未缴金额",
        "rate": "本期收缴率",
        "back_units": "往期未缴户数",
        "back_outstanding": "往期未缴金额",
        "community_rate": "全小区本期收缴率",
        "no_bills": "本期无账单",
        "amount": "{amount}元",
        "withheld": "为保护业主个人信息，涉及户数较少的数字不予公布。",
        "thanks": "衷心感谢按时缴费的业主对物业服务工作的理解和支持！",
        "pay": "尚未缴纳的业主，请通过{pay}缴纳。如对账单有疑问，或有需要我们改进的服务问题，"
        "请致电{hotline}，我们将及时核实处理。",
        "privacy": "本通告仅含统计数字，不含任何业主的姓名、房号或联系方式。",
        "sign": "{company} {community}物业服务中心",
    },
    "en": {
        "title": "Property fee collection notice",
        "greeting": "Dear residents,",
        "intro": "Property fees of {building} for {period}, as of {as_of}:",
        "units": "Households in the building",
        "billed_units": "Households billed this period",
        "paid_units": "Households fully paid",
        "billed": "Billed this period",
        "paid": "Paid this period",
        "outstanding": "Not yet paid this period",
        "rate": "Collection rate this period",
        "back_units": "Households owing for earlier periods",
        "back_outstanding": "Owed for earlier periods",
        "community_rate": "Collection rate of the whole community",
        "no_bills": "no bills this period",
        "amount": "CNY {amount}",
        "withheld": "To protect owners' personal information, figures about very few households are not shown.",
        "thanks": "Thank you to everyone who has paid for supporting our property services.",
        "pay": "If you have not paid yet, please pay via {pay}. If you have a question about your bill, or a "
        "service problem you would like us to fix, please call {hotline} and we will look into it promptly.",
        "privacy": "This notice shows totals only: no owner's name, unit number or contact details.",
        "sign": "{company}, {community} property service office",
    },
}


def _period_label(period: str, language: Language) -> str:
    year, month = (int(part) for part in period.split("-"))
    return f"{year}年{month}月" if language == "zh-CN" else f"{_MONTHS_EN[month - 1]} {year}"


def _date_label(day: date, language: Language) -> str:
    return (
        f"{day.year}年{day.month}月{day.day}日"
        if language == "zh-CN"
        else f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"
    )


def _percent(fraction: float | None, words: Mapping[str, str]) -> str:
    return words["no_bills"] if fraction is None else f"{fraction * 100:.1f}%"


def shown_figures(
    building: BuildingFigures, community: BuildingFigures, language: Language
) -> tuple[list[tuple[str, str]], bool]:
    """The (label, value) rows a notice posts, and whether some were withheld to protect few households."""
    words = _WORDS[language]

    def money(fen: int) -> str:
        return words["amount"].format(amount=yuan(fen))

    rows = [(words["units"], str(building.units)), (words["billed_units"], str(building.billed_units))]
    if building.shows_breakdown:
        rows += [
            (words["paid_units"], str(building.paid_units)),
            (words["billed"], money(building.billed_fen)),
            (words["paid"], money(building.paid_fen)),
            (words["outstanding"], money(building.outstanding_fen)),
        ]
    if building.shows_rate:
        rows.append((words["rate"], _percent(building.collection_rate, words)))
    if building.shows_back_arrears:
        rows += [
            (words["back_units"], str(building.back_owing_units)),
            (words["back_outstanding"], money(building.back_outstanding_fen)),
        ]
    if community.shows_rate:
        rows.append((words["community_rate"], _percent(community.collection_rate, words)))
    withheld = not (
        building.shows_breakdown and building.shows_rate and building.shows_back_arrears and community.shows_rate
    )
    return rows, withheld


@dataclass(frozen=True)
class Notice:
    """Everything one notice says, in one language: the page and the PDF are two layouts of it."""

    language: Language
    title: str
    heading: str  # the community and the building
    greeting: str
    intro: str
    rows: list[tuple[str, str]]
    withheld: str  # the note on withheld figures, or ""
    thanks: str
    pay: str
    sign: str
    dated: str
    privacy: str

    @property
    def text(self) -> str:
        """Every word of the notice (what the PDF font must be able to draw)."""
        cells = [part for row in self.rows for part in row]
        fields = (self.title, self.heading, self.greeting, self.intro, self.withheld, self.thanks, self.pay)
        return "\n".join([*fields, *cells, self.sign, self.dated, self.privacy])


def notice(
    community: Community,
    building: BuildingFigures,
    whole: BuildingFigures,
    period: str,
    as_of: date,
    language: Language,
    identity: CompanyIdentity,
) -> Notice:
    words = _WORDS[language]
    rows, withheld = shown_figures(building, whole, language)
    return Notice(
        language=language,
        title=words["title"],
        heading=f"{community.name} {building.name}",
        greeting=words["greeting"],
        intro=words["intro"].format(
            as_of=_date_label(as_of, language), building=building.name, period=_period_label(period, language)
        ),
        rows=rows,
        withheld=words["withheld"] if withheld else "",
        thanks=words["thanks"],
        pay=words["pay"].format(pay=identity.pay_instructions[language], hotline=identity.hotline),
        sign=words["sign"].format(
            company=identity.name if language == "zh-CN" else identity.name_en, community=community.name
        ),
        dated=_date_label(as_of, language),
        privacy=words["privacy"],
    )


# ------------------------------------------------------------------------------------------- the layouts


def notice_html(text: Notice) -> bytes:
    """A self-contained A4 page that runs nothing (the report page's policy: no script, nothing fetched)."""
    page = _html_environment().get_template("notice_board.html.j2").render(notice=text)
    return page.encode("utf-8")


def notice_pdf(text: Notice, font: Path, dated: datetime) -> bytes:
    """One A4 page: title, the figures as a two-column table, the thanks and how to pay. Dated `dated`."""
    pdf = cjk_document(text.title, font, dated, text.text, margin=20)
    pdf.add_page()
    pdf.set_font("letter", size=22)
    pdf.cell(0, 14, text.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("letter", size=14)
    pdf.multi_cell(0, 8, text.heading, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("letter", size=12.5)
    for paragraph in (text.greeting, text.intro):
        pdf.multi_cell(0, 8, paragraph, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    label_width = pdf.epw * 0.62
    for label, value in text.rows:
        pdf.cell(label_width, 10, label, border=1)
        pdf.cell(0, 10, value, border=1, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    if text.withheld:
        pdf.set_font("letter", size=10.5)
        pdf.multi_cell(0, 6.5, text.withheld, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("letter", size=12.5)
    pdf.ln(3)
    for paragraph in (text.thanks, text.pay):
        pdf.multi_cell(0, 8, paragraph, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    pdf.ln(8)
    for line in (text.sign, text.dated):
        pdf.multi_cell(0, 8, line, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("letter", size=9.5)
    pdf.multi_cell(0, 6, text.privacy, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _key(building_id: str) -> str:
    return _UNSAFE_IN_KEY.sub("_", building_id) or "_"


def notice_board_files(
    day_or_period: date | str,
    community: Community,
    buildings: Iterable[Building],
    units: Iterable[tuple[Unit, Sequence[PaidBill]]],
    generated_at: datetime,
    *,
    identity: CompanyIdentity,
    font: Path | None = None,
) -> dict[str, bytes]:
    """notice-board/<building_id>.<zh-CN|en>.<html|pdf> for each building of the community.

    `units`: every unit of the community with its bills as the ledger holds them (each with what has been paid
    of it, refunds taken off). `day_or_period`: the report day (its month is the period, the notice is dated
    that day) or a period 'YYYY-MM' (dated when generated). `identity`: the community's (its hotline, how to pay,
    the company's name signs the notice).
    The same inputs give the same bytes: the PDFs are dated `generated_at`, not by the clock."""
    period = period_of(day_or_period)
    as_of = (
        day_or_period
        if isinstance(day_or_period, date)
        else generated_at.astimezone(ZoneInfo(community.timezone)).date()
    )
    figures = building_figures(period, buildings, units)
    whole = community_figures(community, figures)
    font_file = find_font(font)
    files: dict[str, bytes] = {}
    for building in figures:
        for language in LANGUAGES:
            text = notice(community, building, whole, period, as_of, language, identity)
            stem = f"notice-board/{_key(building.building_id)}.{language}"
            files[f"{stem}.html"] = notice_html(text)
            files[f"{stem}.pdf"] = notice_pdf(text, font_file, generated_at)
    return files

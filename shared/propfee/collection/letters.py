"""Formal demand letters (催缴函) as PDF, for printing and delivery to the unit, and kept as evidence.

The words come from the Jinja2 letter templates (lint-checked like every message), one block per part of the
letter; the figures (owners, address, periods and amounts, dates) from the records. The PDF embeds the CJK font of
propfee.collection.cjk_pdf and breaks lines only between units it may break: never inside a date or an amount.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Protocol

from fpdf import FPDF

from propfee.collection.addressing import owner_names, salutation, unit_address
from propfee.collection.cjk_pdf import cjk_document
from propfee.collection.letter_qr import draw_qr
from propfee.collection.messages import RenderedMessage, identity_context, template_environment, template_version
from propfee.domain.identity import CompanyIdentity
from propfee.domain.models import SendJob, Unit
from propfee.domain.money import yuan

# ------------------------------------------------------------------------------------------- the letter
LETTER_TEMPLATE = "demand_letter"
DEADLINE_DAYS = 15  # the reasonable period of Civil Code Art. 944, from the date of the letter
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")  # fmt: skip


class LetterSealMissing(RuntimeError):
    pass


def long_date(day: date, language: str) -> str:
    """A date as a letter writes it: 2026年11月26日, 26 November 2026."""
    if language == "zh-CN":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def period_name(period: str, language: str) -> str:
    """A billing period (2026-06) as a letter names it: 2026年6月, June 2026."""
    year, month = (int(part) for part in period.split("-"))
    return f"{year}年{month}月" if language == "zh-CN" else f"{_MONTHS[month - 1]} {year}"


@dataclass(frozen=True)
class LetterLine:
    period: str  # YYYY-MM
    due: date
    amount_fen: int


@dataclass(frozen=True)
class DemandLetter:
    """Everything a demand letter states, as the records have it; its text and its PDF come from these."""

    number: str  # the letter's number, on the letter and on its delivery slip
    language: str
    identity: CompanyIdentity
    owner: str  # the owners' names (the unit when the records have none)
    community: str
    address: str  # community, building and room, as owners write them (propfee.collection.addressing)
    lines: tuple[LetterLine, ...]
    dated: date
    overdue_since: date
    template: str = LETTER_TEMPLATE
    salutation: str = ""  # as the texts greet the person written to (尊敬的王先生/女士); the letter names all owners
    bill_url: str = ""  # the unit's bill page, printed as a QR code (empty: none configured)

    @property
    def total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)

    @property
    def deadline(self) -> date:
        return self.dated + timedelta(days=DEADLINE_DAYS)

    @property
    def template_file(self) -> str:
        return f"{self.template}.{self.language}.letter.j2"

    def context(self) -> dict[str, object]:
        return {
            **identity_context(self.identity, self.language),  # company_name, company_address, hotline, ...
            "number": self.number,
            "owner": self.owner,
            "salutation": self.salutation,
            "community": self.community,
            "unit_address": self.address,
            "today": long_date(self.dated, self.language),
            "deadline": long_date(self.deadline, self.language),
            "overdue_since": long_date(self.overdue_since, self.language),
            "total": yuan(self.total_fen),
            "lines": [
                {
                    "period": period_name(line.period, self.language),
                    "due": long_date(line.due, self.language),
                    "amount": yuan(line.amount_fen),
                }
                for line in self.lines
            ],
        }

    def sections(self) -> dict[str, str]:
        """Each block of the template, rendered: the parts the PDF lays out."""
        template = template_environment().get_template(self.template_file)
        context = template.new_context(self.context())
        return {name: "".join(block(context)).strip() for name, block in template.blocks.items()}

    def message(self) -> RenderedMessage:
        """The letter's text as the evidence keeps it (its hash is the evidence's content hash)."""
        text = template_environment().get_template(self.template_file).render(self.context()).strip()
        return LetterMessage(
            subject=None, body=text, template_version=template_version(self.template_file), letter=self
        )


@dataclass(frozen=True)
class LetterMessage(RenderedMessage):
    """A rendered letter with its figures, for the PDF."""

    letter: DemandLetter | None = None


def letter_number(job: SendJob) -> str:
    return f"{job.planned_for:%Y%m%d}-{job.unit_id}-{job.step}-{job.occurrence}"


def compose_letter(job: SendJob, unit: Unit, identity: CompanyIdentity, bill_url: str = "") -> DemandLetter:
    """The letter a job asks for, in the name of `identity` (the rules' identity_for the unit's community), with
    the unit's owners, its address as the job names it (community, building, room) and, for each period the job
    names, what is unpaid of it (the total is the job's balance while the unit is as planned: the claim holds
    only then)."""
    lines = tuple(
        LetterLine(period, unit.open_bills[period].due, unit.open_bills[period].outstanding_fen)
        for period in job.periods
        if period in unit.open_bills and unit.open_bills[period].outstanding_fen > 0
    )
    return DemandLetter(
        number=letter_number(job),
        language=job.language,
        identity=identity,
        owner=owner_names(unit, job.language),
        community=job.community_name or unit.community_id,
        address=unit_address(job, job.language),
        lines=lines,
        dated=job.planned_for,
        overdue_since=job.overdue_since,
        template=job.template,
        salutation=salutation(job, job.language),
        bill_url=bill_url,
    )


def seal_file(identity: CompanyIdentity, rules_file: Path | None) -> Path | None:
    """The seal's PNG (relative to the rules file), or None for an empty area to stamp by hand."""
    if not identity.seal_image:
        return None
    path = Path(identity.seal_image)
    if not path.is_absolute() and rules_file is not None:
        path = rules_file.parent / path
    if not path.is_file():
        raise LetterSealMissing(f"the seal image {identity.seal_image} is configured but not found")
    return path


# ------------------------------------------------------------------------------------------- the layout
# a date, a month, an amount with its currency, or any run of Latin letters, digits and punctuation is one unit a
# line never breaks (the old letter printed "截至2" / "026-11-01"); Chinese breaks between characters
_UNIT = re.compile(
    r"\d{4}年\d{1,2}月(?:\d{1,2}日)?"
    r"|\d{1,2} (?:" + "|".join(_MONTHS) + r") \d{4}"
    r"|(?:" + "|".join(_MONTHS) + r") \d{4}"
    r"|CNY [\d,]+\.\d\d"
    r"|[^\s\u2e80-\u9fff\u3000-\u303f\uff00-\uffef]+"
    r"|\s+"
    r"|.",
    re.DOTALL,
)
_NO_LINE_START = frozenset("，。、；：？！）》」』〉】,.;:?!)”’")  # closing punctuation stays with what it closes
_NO_LINE_END = frozenset("（《「『〈【(“‘")


def _units(text: str) -> list[str]:
    units: list[str] = []
    for match in _UNIT.finditer(text):
        piece = match.group()
        if units and (piece[0] in _NO_LINE_START or units[-1][-1] in _NO_LINE_END) and not piece.isspace():
            units[-1] += piece
        else:
            units.append(piece)
    return units


def wrap(text: str, width: float, measure: Callable[[str], float], first_width: float | None = None) -> list[str]:
    """The lines of a paragraph no wider than `width` (the first `first_width`), breaking only between units:
    never inside a date, an amount or a word."""
    lines: list[str] = []
    current = ""
    for piece in _units(text):
        limit = first_width if first_width is not None and not lines else width
        if not current and piece.isspace():
            continue
        if measure((current + piece).rstrip()) <= limit:
            current += piece
            continue
        if current.strip():
            lines.append(current.rstrip())
        current = "" if piece.isspace() else piece
        while measure(current) > width:  # a unit wider than a line (a long web address): cut where it must be
            cut = max(1, next(i for i in range(len(current), 0, -1) if measure(current[:i]) <= width))
            lines.append(current[:cut])
            current = current[cut:]
    if current.strip():
        lines.append(current.rstrip())
    return lines


_LINE = 5.8  # mm per line of body text
_BODY = 10.5  # pt
_SEAL = 34  # mm, a round company seal is 38-42 mm; the box marks where it goes
_SLIP_HEIGHT = 62  # mm from the cut line to the bottom margin


def _paragraph(pdf: FPDF, text: str, size: float = _BODY, indent: float = 0, align: str = "L") -> None:
    pdf.set_font("letter", size=size)
    height = _LINE * size / _BODY
    for number, line in enumerate(wrap(text, pdf.epw, pdf.get_string_width, pdf.epw - indent)):
        pdf.set_x(pdf.l_margin + (indent if number == 0 else 0))
        pdf.cell(pdf.epw - (indent if number == 0 else 0), height, line, align=align, new_x="LMARGIN", new_y="NEXT")


def _periods_table(pdf: FPDF, letter: DemandLetter, parts: dict[str, str]) -> None:
    widths = (pdf.epw * 0.3, pdf.epw * 0.35, pdf.epw * 0.35)
    pdf.set_font("letter", size=_BODY)
    pdf.set_fill_color(235, 235, 235)
    for width, label in zip(widths, (parts["col_period"], parts["col_due"], parts["col_amount"]), strict=True):
        pdf.cell(width, 7, label, border=1, align="C", fill=True)
    pdf.ln(7)
    for line in letter.lines:
        pdf.cell(widths[0], 6.5, period_name(line.period, letter.language), border=1, align="C")
        pdf.cell(widths[1], 6.5, long_date(line.due, letter.language), border=1, align="C")
        pdf.cell(widths[2], 6.5, yuan(line.amount_fen), border=1, align="R")
        pdf.ln(6.5)
    pdf.cell(widths[0] + widths[1], 7, parts["total_label"], border=1, align="C")
    pdf.cell(widths[2], 7, yuan(letter.total_fen), border=1, align="R")
    pdf.ln(9)


def _signature(pdf: FPDF, parts: dict[str, str], seal: Path | None) -> None:
    """The company and the date, right-aligned, with the seal over them (or the box where it is stamped)."""
    if pdf.get_y() + _SEAL + 4 > pdf.page_break_trigger:
        pdf.add_page()
    top = pdf.get_y() + 2
    pdf.set_font("letter", size=_BODY)
    signed_width = max(pdf.get_string_width(parts["signed"]), pdf.get_string_width(parts["dated"]))
    left = max(pdf.l_margin, pdf.w - pdf.r_margin - signed_width / 2 - _SEAL / 2)  # centred on the signature
    if seal is not None:
        pdf.image(str(seal), x=left, y=top, w=_SEAL, h=_SEAL)
    else:
        with pdf.local_context(draw_color=(150, 150, 150), text_color=(150, 150, 150)):
            pdf.set_dash_pattern(dash=1.2, gap=1.2)
            pdf.rect(left, top, _SEAL, _SEAL)
            pdf.set_dash_pattern()
            pdf.set_font("letter", size=8)
            pdf.set_xy(left, top + 1)
            pdf.cell(_SEAL, 4, parts["seal"], align="C")
    pdf.set_font("letter", size=_BODY)
    pdf.set_xy(pdf.l_margin, top + _SEAL / 2 - 4)
    pdf.cell(0, 7, parts["signed"], align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 7, parts["dated"], align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(top + _SEAL + 2)


def _delivery_slip(pdf: FPDF, parts: dict[str, str]) -> None:
    """The tear-off receipt (送达回执) at the foot of the page, below a cut line: signed and kept as proof of
    delivery."""
    top = pdf.h - pdf.b_margin - _SLIP_HEIGHT
    if pdf.get_y() > top:
        pdf.add_page()
    pdf.set_y(top)
    pdf.set_font("letter", size=8)
    label = f" {parts['cut']} "
    label_width = pdf.get_string_width(label)
    middle = pdf.l_margin + (pdf.epw - label_width) / 2
    with pdf.local_context(draw_color=(120, 120, 120), text_color=(120, 120, 120)):
        pdf.set_dash_pattern(dash=2, gap=1.5)
        pdf.line(pdf.l_margin - 8, top + 2, middle, top + 2)
        pdf.line(middle + label_width, top + 2, pdf.w - pdf.r_margin + 8, top + 2)
        pdf.set_dash_pattern()
        pdf.set_xy(middle, top)
        pdf.cell(label_width, 4, label, align="C")
    pdf.set_xy(pdf.l_margin, top + 7)
    pdf.set_font("letter", size=14)
    pdf.cell(0, 9, parts["slip_title"], align="C", new_x="LMARGIN", new_y="NEXT")
    for name in ("slip_number", "slip_letter", "slip_unit", "slip_owner"):
        _paragraph(pdf, parts[name], size=10)
    pdf.ln(3)
    half = pdf.epw / 2
    pdf.set_font("letter", size=10)
    for left, right in (("slip_signature", "slip_relation"), ("slip_date", "slip_deliverer")):
        y = pdf.get_y() + 6
        for column, name in ((0, left), (1, right)):
            x = pdf.l_margin + column * half
            pdf.set_xy(x, y - 5)
            pdf.cell(half, 5, parts[name])
            start = x + pdf.get_string_width(parts[name]) + 1
            if name != "slip_date" or parts[name].endswith(":"):  # the Chinese date has its own blanks
                pdf.line(start, y, x + half - 6, y)
        pdf.set_xy(pdf.l_margin, y + 3)


def letter_pdf(letter: DemandLetter, font: Path, dated: datetime, seal: Path | None = None) -> bytes:
    """The letter as an A4 PDF: letterhead, addressee, the table of periods, the demand and its legal basis, how
    to pay and whom to call, the seal area and the date, and the delivery slip to tear off. The same letter,
    font and date give the same bytes."""
    parts = letter.sections()
    text = "\n".join(parts.values())
    pdf = cjk_document(parts["title"], font, dated, text, margin=20)
    pdf.set_top_margin(16)
    pdf.set_auto_page_break(True, margin=14)
    pdf.add_page()
    pdf.set_font("letter", size=16)
    pdf.cell(0, 9, parts["letterhead"], align="C", new_x="LMARGIN", new_y="NEXT")
    _paragraph(pdf, parts["company_contact"], size=9, align="C")
    pdf.line(pdf.l_margin, pdf.get_y() + 1.5, pdf.w - pdf.r_margin, pdf.get_y() + 1.5)
    pdf.ln(5)
    pdf.set_font("letter", size=18)
    pdf.cell(0, 11, parts["title"], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("letter", size=9)
    pdf.cell(0, 5, parts["number"], align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    _paragraph(pdf, parts["salutation"], size=11.5)
    _paragraph(pdf, parts["address"])
    pdf.ln(1.5)
    indent = pdf.get_string_width("　　") if letter.language == "zh-CN" else 0
    _paragraph(pdf, parts["opening"], indent=indent)
    pdf.ln(2)
    _periods_table(pdf, letter, parts)
    for name in ("demand", "contact", "thanks"):
        _paragraph(pdf, parts[name], indent=indent)
        pdf.ln(1.5)
    if letter.bill_url:
        draw_qr(pdf, letter.bill_url, letter.language)
    _signature(pdf, parts, seal)
    _delivery_slip(pdf, parts)
    return bytes(pdf.output())


def letter_key(day: str, unit_id: str, step: str, occurrence: int) -> str:
    return f"letters/{day}/{unit_id}.{step}.{occurrence}.pdf"


def print_batch(letters: list[tuple[str, bytes]]) -> tuple[bytes, list[int]]:
    """The day's letters in one PDF, in the order given (by building and room, for the round of delivery), and
    the page each letter starts on (a letter with many periods takes two)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    starts = []
    for _key, pdf in letters:
        starts.append(len(writer.pages) + 1)
        writer.append(PdfReader(io.BytesIO(pdf)))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue(), starts


class LetterStore(Protocol):
    def keys(self, prefix: str) -> list[str]: ...

    def get(self, key: str) -> bytes: ...

    def put(self, key: str, body: bytes, content_type: str) -> None: ...


def publish_print_batch(day: str, store: LetterStore) -> dict[str, object]:
    """letters/<day>/print-batch.pdf and print-list.csv from that day's letters; rerunning replaces them."""
    prefix = f"letters/{day}/"
    keys = sorted(k for k in store.keys(prefix) if k.endswith(".pdf") and not k.endswith("print-batch.pdf"))
    if not keys:
        return {"day": day, "letters": 0}
    batch, starts = print_batch([(k, store.get(k)) for k in keys])
    store.put(prefix + "print-batch.pdf", batch, "application/pdf")
    listing = "\ufeffpage,unit_id,step,key\r\n" + "".join(
        f"{page},{name.split('.')[0]},{name.split('.')[1]},{key}\r\n"
        for page, key in zip(starts, keys, strict=True)
        for name in [key.rsplit("/", 1)[1]]
    )
    store.put(prefix + "print-list.csv", listing.encode("utf-8"), "text/csv; charset=utf-8")
    return {"day": day, "letters": len(keys)}

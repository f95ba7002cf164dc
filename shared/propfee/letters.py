"""Formal demand letters (催缴函) as PDF, for printing and delivery to the unit.

The text comes from the Jinja2 letter templates (lint-checked like every message); the PDF embeds a CJK
font (WenQuanYi Micro Hei by default: Debian's fonts-wqy-microhei, or the file in the Lambda layer).
"""

from __future__ import annotations

import hashlib
import io
import string
import tempfile
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Protocol

from fpdf import FPDF

FONT_CANDIDATES = (
    Path("/opt/python/fonts/wqy-microhei.ttc"),  # the Lambda layer, after `make layer-font` (README, "Deploy")
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),  # Debian/Ubuntu: fonts-wqy-microhei
)


_ALWAYS = frozenset(string.printable)  # digits, Latin letters and punctuation: amounts, labels, dates


class LetterFontMissing(RuntimeError):
    pass


def find_font(configured: Path | None = None) -> Path:
    for candidate in (configured, *FONT_CANDIDATES):
        if candidate is not None and candidate.is_file():
            return candidate
    raise LetterFontMissing(
        "no CJK font for demand letters: install fonts-wqy-microhei or set PROPFEE_LETTER_FONT to a .ttf/.ttc file"
    )


@cache
def _subset(font: Path, characters: frozenset[str]) -> Path:
    """The font cut down to the characters letters use: parsing the whole CJK font costs half a second
    a letter, a subset a few milliseconds. Letters differ in digits and labels, so one subset serves all
    letters of a template."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    full = TTFont(font, fontNumber=0, recalcTimestamp=False)  # saved with the clock's time otherwise: other bytes
    options = subset.Options()
    options.drop_tables += ["FFTM"]  # a FontForge timestamp table fontTools cannot subset
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(characters)))
    subsetter.subset(full)
    digest = hashlib.sha256(("".join(sorted(characters)) + str(font)).encode()).hexdigest()[:16]
    target = Path(tempfile.gettempdir()) / f"propfee-letter-font-{digest}.ttf"
    full.save(target)
    return target


def cjk_document(title: str, font: Path, dated: datetime, text: str, margin: float = 25) -> FPDF:
    """An empty A4 document with the CJK font as "letter", cut down to the characters of `text` (and the
    printable ASCII). Dated `dated`, not by the clock: the same content gives the same bytes."""
    pdf = FPDF(format="A4")
    pdf.set_creation_date(dated)
    pdf.set_title(title)
    pdf.set_margins(margin, margin, margin)
    pdf.add_font("letter", fname=str(_subset(font, frozenset(text) | _ALWAYS)))
    return pdf


def letter_pdf(text: str, font: Path, dated: datetime) -> bytes:
    """One A4 letter: the first line is the title, each further line a paragraph. The same text, font and
    date give the same bytes."""
    title, *paragraphs = [line.strip() for line in text.strip().splitlines() if line.strip()]
    pdf = cjk_document(title, font, dated, text)
    pdf.add_page()
    pdf.set_font("letter", size=18)
    pdf.cell(0, 14, title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("letter", size=11.5)
    for paragraph in paragraphs:
        pdf.multi_cell(0, 7.5, paragraph, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2.5)
    return bytes(pdf.output())


def letter_key(day: str, unit_id: str, step: str, occurrence: int) -> str:
    return f"letters/{day}/{unit_id}.{step}.{occurrence}.pdf"


def print_batch(letters: list[tuple[str, bytes]]) -> bytes:
    """The day's letters in one PDF, in the order given (by building and room, for the round of delivery)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for _key, pdf in letters:
        writer.append(PdfReader(io.BytesIO(pdf)))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


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
    store.put(prefix + "print-batch.pdf", print_batch([(k, store.get(k)) for k in keys]), "application/pdf")
    listing = "\ufeffpage,unit_id,step,key\r\n" + "".join(
        f"{page},{name.split('.')[0]},{name.split('.')[1]},{key}\r\n"
        for page, key in enumerate(keys, start=1)
        for name in [key.rsplit("/", 1)[1]]
    )
    store.put(prefix + "print-list.csv", listing.encode("utf-8"), "text/csv; charset=utf-8")
    return {"day": day, "letters": len(keys)}

"""Formal demand letters (催缴函) as PDF, for printing and delivery to the unit.

The text comes from the Jinja2 letter templates (lint-checked like every message); the PDF embeds a CJK
font: Noto Sans SC, from the pylopdf-fonts-zh-cn package on a workstation or its copy in the Lambda layer
(Debian's WenQuanYi Micro Hei where neither is there).
"""

from __future__ import annotations

import hashlib
import importlib.resources
import io
import os
import string
import tempfile
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Protocol

from fpdf import FPDF

from propfee.collection.font_outlines import truetype_outlines

FONT_PACKAGE, FONT_FILE = "pylopdf_fonts_zh_cn", "NotoSansSC-Regular.otf"  # Noto Sans SC, OFL-1.1


def _packaged_font() -> tuple[Path, ...]:
    """The font of the pylopdf-fonts-zh-cn package (propfee[sandbox]: the CLI, the demo, the tests), if installed."""
    try:
        return (Path(str(importlib.resources.files(FONT_PACKAGE) / FONT_FILE)),)  # an installed wheel: a real file
    except ModuleNotFoundError:
        return ()


FONT_CANDIDATES = (
    *_packaged_font(),
    Path("/opt/python/fonts") / FONT_FILE,  # the Lambda layer's copy, after `make layer-font` (README, "Deploy")
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
        "no CJK font for demand letters: install pylopdf-fonts-zh-cn (pip install 'propfee[sandbox]') or set"
        " PROPFEE_LETTER_FONT to a .ttf/.otf/.ttc file"
    )


@cache
def _gb2312() -> frozenset[str]:
    """Every character of GB2312 (its 6,763 hanzi and its symbols): the names, addresses and words of
    nearly every letter, so that one subset of the font serves them all."""
    found = set()
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                found.add(bytes([high, low]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return frozenset(found)


@cache
def _subset(font: Path, characters: frozenset[str]) -> Path:
    """The font cut down to `characters`. Parsing and subsetting the whole CJK font costs seconds; fpdf2 then
    parses what it is given for every document, so the subset is made once (per process, and kept in /tmp for
    the next cold start of the same container) for a set of characters that serves every letter."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    digest = hashlib.sha256(("".join(sorted(characters)) + str(font) + "+glyf").encode()).hexdigest()[:16]
    target = Path(tempfile.gettempdir()) / f"propfee-letter-font-{digest}.ttf"
    if target.is_file():
        return target
    full = TTFont(font, fontNumber=0, recalcTimestamp=False)  # saved with the clock's time otherwise: other bytes
    options = subset.Options()
    options.drop_tables += ["FFTM"]  # a FontForge timestamp table fontTools cannot subset
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(characters)))
    subsetter.subset(full)
    truetype_outlines(full)  # Noto's CFF outlines: fpdf2 embeds them with widths PDF readers misread
    partial = target.with_suffix(f".{os.getpid()}.tmp")  # another process may be writing the same file
    full.save(partial)
    partial.replace(target)
    return target


def _font_characters(text: str) -> frozenset[str]:
    """GB2312 and printable ASCII, and whatever else `text` needs (a rare character in a name)."""
    common = _gb2312() | _ALWAYS
    return common | (frozenset(text) - common)


def cjk_document(title: str, font: Path, dated: datetime, text: str, margin: float = 25) -> FPDF:
    """An empty A4 document with the CJK font as "letter" (cut down to GB2312, printable ASCII and any other
    character of `text`). Dated `dated`, not by the clock: the same content gives the same bytes."""
    pdf = FPDF(format="A4")
    pdf.set_creation_date(dated)
    pdf.set_title(title)
    pdf.set_margins(margin, margin, margin)
    pdf.add_font("letter", fname=str(_subset(font, _font_characters(text))))
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

"""The CJK font every PDF of propfee embeds (letters, notices): found in the pylopdf-fonts-zh-cn package on a
workstation, its copy in the Lambda layer, or Debian's WenQuanYi Micro Hei; subset to what a document needs,
with TrueType outlines (fpdf2 embeds CFF with widths that PDF readers take wrongly)."""

from __future__ import annotations

import hashlib
import importlib.resources
import os
import string
import tempfile
from datetime import datetime
from functools import cache
from pathlib import Path

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


def cjk_document(
    title: str, font: Path, dated: datetime, text: str, margin: float = 25, only_text: bool = False
) -> FPDF:
    """An empty A4 document with the CJK font as "letter" (cut down to GB2312, printable ASCII and any other
    character of `text`; with `only_text`, to printable ASCII and `text`: a second's subsetting where a document
    is made on a request's path, a receipt, rather than GB2312's cached once). Dated `dated`, not by the clock:
    the same content gives the same bytes."""
    pdf = FPDF(format="A4")
    pdf.set_creation_date(dated)
    pdf.set_title(title)
    pdf.set_margins(margin, margin, margin)
    characters = _ALWAYS | frozenset(text) if only_text else _font_characters(text)
    pdf.add_font("letter", fname=str(_subset(font, characters)))
    return pdf

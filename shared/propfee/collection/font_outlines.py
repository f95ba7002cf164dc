"""A CFF-flavoured OpenType font (Noto Sans SC) turned into a TrueType-outlined one, for fpdf2.

fpdf2 embeds a CFF font as CIDFontType0 with a /W width table keyed by the original glyph ids while the text uses
its own codes: pdfminer then reads no text at all, pypdf a space between every character, and a viewer that
trusts /W spaces digits as wide as hanzi. Its TrueType path (CIDFontType2) is the one every reader agrees on,
so the letters' font subset is given quadratic outlines (fontTools' cu2qu) before fpdf2 sees it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fontTools.ttLib import TTFont

MAX_ERROR = 1.0  # font units (of 1000 per em): far below what a printer at 600 dpi shows at letter sizes


def truetype_outlines(font: TTFont) -> None:
    """Replace a fontTools TTFont's CFF outlines by TrueType ones, in place; a TrueType font stays as it is."""
    if "CFF " not in font:
        return
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import newTable

    order = font.getGlyphOrder()
    cubic = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder, glyf.glyphs = order, {}
    for name in order:
        pen = TTGlyphPen(cubic)
        # CFF contours run counter-clockwise, TrueType's clockwise
        cubic[name].draw(Cu2QuPen(pen, MAX_ERROR, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    del font["CFF "]
    if "VORG" in font:  # vertical origins exist for CFF only
        del font["VORG"]
    font["glyf"], font["loca"] = glyf, newTable("loca")
    glyf.compile(font)  # the glyphs' bounding boxes, for the left side bearings below
    metrics = font["hmtx"].metrics
    for name in order:
        metrics[name] = (metrics[name][0], getattr(glyf.glyphs[name], "xMin", 0))
    maxp = font["maxp"] = newTable("maxp")  # version 1.0: TrueType's, its point counts computed when saved
    maxp.tableVersion = 0x00010000
    for field in (
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, field, 0)
    maxp.maxZones = 1
    post = font["post"]  # glyph names now live here (CFF held them)
    post.formatType, post.extraNames, post.mapping, post.glyphOrder = 2.0, [], {}, order
    font.sfntVersion = "\x00\x01\x00\x00"

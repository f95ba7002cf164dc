"""The bill link on a demand letter as a QR code: segno's modules drawn as filled squares (no image file)."""

from __future__ import annotations

import segno
from fpdf import FPDF

QUIET_ZONE = 4  # modules of white around the code, as the QR standard asks
CAPTIONS = {"zh-CN": "扫码查看账单、在线缴费", "en": "Scan to see the bill and pay online"}


def qr_modules(url: str) -> list[list[bool]]:
    """The code's dark (True) and light modules, row by row (error correction M: a creased letter still reads)."""
    return [[bool(cell) for cell in row] for row in segno.make(url, error="m", micro=False).matrix]


def draw_qr(pdf: FPDF, url: str, language: str, size: float = 26) -> None:
    """The code at the left margin, `size` mm square with its quiet zone, its caption beside it."""
    modules = qr_modules(url)
    step = size / (len(modules) + 2 * QUIET_ZONE)
    if pdf.get_y() + size > pdf.h - pdf.b_margin:
        pdf.add_page()
    left, top = pdf.l_margin, pdf.get_y()
    pdf.set_fill_color(0, 0, 0)
    for row, cells in enumerate(modules):
        for column, dark in enumerate(cells):
            if dark:
                x, y = left + (column + QUIET_ZONE) * step, top + (row + QUIET_ZONE) * step
                pdf.rect(x, y, step, step, style="F")
    pdf.set_xy(left + size + 2, top + size / 2 - 3)
    pdf.set_font("letter", size=9)
    pdf.cell(0, 6, CAPTIONS[language])
    pdf.set_xy(left, top + size + 1)

"""A PDF's text as a reader copies it, for the tests that read letters and notices back."""

from __future__ import annotations

import io
from pathlib import Path

from pypdf import PdfReader


def pdf_text(pdf: bytes | Path) -> str:
    """Every page's text, page after page, laid out as printed: one printed line per line and the gaps between
    columns kept as spaces (a table's label and its value stay on one line), as `pdftotext -layout` gives it."""
    reader = PdfReader(io.BytesIO(pdf) if isinstance(pdf, bytes) else pdf)
    return "\n".join(page.extract_text(extraction_mode="layout") for page in reader.pages)

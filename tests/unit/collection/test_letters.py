"""Demand letters: lawful wording, the owner's figures, a real PDF with Chinese text."""

import io
import sys
from datetime import date, datetime

import pytest
from pypdf import PdfReader

from propfee.collection import letters
from propfee.collection.letters import LetterFontMissing, find_font, letter_pdf
from propfee.collection.messages import lint, render
from propfee.domain.identity import CompanyIdentity
from tests.support import SHANGHAI, letter_job
from tests.support.pdf import pdf_text

PAY = {"zh-CN": "物业App或物业服务中心", "en": "the property app"}
IDENTITY = CompanyIdentity(hotline="400-000-0000", pay_instructions=PAY)


def job(language="zh-CN"):
    return letter_job(language)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "zh-CN",
            ["物业费催缴函", "12,630.00元", "2026-06、2026-07、2026-08", "第九百四十四条", "十五日内", "诉讼或仲裁"],
        ),
        ("en", ["Demand for Payment", "CNY 12,630.00", "2026-06, 2026-07, 2026-08", "Article 944", "fifteen days"]),
    ],
)
def test_the_letter_states_the_contract_the_amount_the_periods_a_deadline_and_the_lawful_remedy(language, expected):
    text = render(job(language), date(2026, 11, 26), IDENTITY).body
    for phrase in expected:
        assert phrase in text
    assert lint(text) == []


def test_the_pdf_carries_the_chinese_text_and_is_the_same_for_the_same_letter():
    body = render(job(), date(2026, 11, 26), IDENTITY).body
    dated = datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI)
    pdf = letter_pdf(body, find_font(), dated)
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    assert "物业费催缴函" in text and "12,630.00" in text and "B03-1502" in text
    assert letter_pdf(body, find_font(), dated) == pdf


def test_a_missing_font_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr("propfee.collection.letters.FONT_CANDIDATES", (tmp_path / "none.ttc",))
    with pytest.raises(LetterFontMissing, match="pylopdf-fonts-zh-cn"):
        find_font(None)


def test_a_name_with_a_character_beyond_gb2312_is_printed_too():
    # 堃 and 喆 are common in given names but not in GB2312, the set the shared font subset covers
    body = "物业费催缴函\n尊敬的王堃、李喆业主：请于十五日内缴纳。"
    pdf = letter_pdf(body, find_font(), datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI))
    text = pdf_text(pdf)
    assert "王堃" in text and "李喆" in text and "十五日内" in text


def test_without_a_setting_the_font_is_the_python_packages_not_a_system_one():
    # `make demo` on a machine without Debian's fonts: the font comes with propfee[sandbox]
    font = find_font(None)
    assert font.name == "NotoSansSC-Regular.otf" and "pylopdf_fonts_zh_cn" in font.parts


def test_where_the_fonts_package_is_not_installed_the_next_place_is_tried(monkeypatch):
    # Lambda: the layer has a copy of the font's file, not the package
    monkeypatch.setitem(sys.modules, letters.FONT_PACKAGE, None)  # as if not installed
    assert letters._packaged_font() == ()


def test_the_font_is_embedded_with_truetype_outlines_so_readers_get_its_widths():
    # fpdf2 embeds Noto's CFF outlines with a width table readers misapply (a space read between every character)
    pdf = letter_pdf("物业费催缴函\n欠费1,234.56元", find_font(), datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI))
    [font] = PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/Font"].values()
    embedded = font.get_object()["/DescendantFonts"][0].get_object()
    assert embedded["/Subtype"] == "/CIDFontType2" and "/FontFile2" in embedded["/FontDescriptor"]
    assert "欠费1,234.56元" in pdf_text(pdf)

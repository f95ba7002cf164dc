"""Demand letters: lawful wording, the owner's figures, a real PDF with Chinese text."""

import subprocess
from datetime import date, datetime
from pathlib import Path

import pytest

from propfee.collection.letters import LetterFontMissing, find_font, letter_pdf
from propfee.collection.messages import lint, render
from propfee.domain.identity import CompanyIdentity
from tests.support import SHANGHAI, letter_job

PAY = {"zh-CN": "物业App或物业服务中心", "en": "the property app"}
IDENTITY = CompanyIdentity(hotline="400-000-0000", pay_instructions=PAY)


def job(language="zh-CN"):
    return letter_job(language)


def _text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


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


def test_the_pdf_carries_the_chinese_text_and_is_the_same_for_the_same_letter(tmp_path):
    body = render(job(), date(2026, 11, 26), IDENTITY).body
    dated = datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI)
    pdf = letter_pdf(body, find_font(), dated)
    assert pdf.startswith(b"%PDF")
    text = _text(pdf, tmp_path)
    assert "物业费催缴函" in text and "12,630.00" in text and "B03-1502" in text
    assert letter_pdf(body, find_font(), dated) == pdf


def test_a_missing_font_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr("propfee.collection.letters.FONT_CANDIDATES", (tmp_path / "none.ttc",))
    with pytest.raises(LetterFontMissing, match="fonts-wqy-microhei"):
        find_font(None)


def test_a_name_with_a_character_beyond_gb2312_is_printed_too(tmp_path):
    # 堃 and 喆 are common in given names but not in GB2312, the set the shared font subset covers
    body = "物业费催缴函\n尊敬的王堃、李喆业主：请于十五日内缴纳。"
    pdf = letter_pdf(body, find_font(), datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI))
    text = _text(pdf, tmp_path)
    assert "王堃" in text and "李喆" in text and "十五日内" in text

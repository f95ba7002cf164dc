"""Demand letters: lawful wording, the owner's name, address and figures, a real PDF with Chinese text that reads
back whole (no date broken across lines), a delivery slip to sign, and a print batch."""

import io
import re
import sys
from datetime import date, datetime
from decimal import Decimal

import pytest
from pypdf import PdfReader

from propfee.collection import cjk_pdf
from propfee.collection.cjk_pdf import LetterFontMissing, find_font
from propfee.collection.letters import (
    LetterSealMissing,
    compose_letter,
    letter_pdf,
    publish_print_batch,
    seal_file,
    wrap,
)
from propfee.collection.messages import lint
from propfee.domain.identity import CompanyIdentity
from propfee.domain.models import OpenBill, Owner, Unit
from tests.support import SHANGHAI, letter_job
from tests.support.pdf import pdf_text

DATED = datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI)
IDENTITY = CompanyIdentity(
    name="锦绣物业服务有限公司",
    name_en="Jinxiu Property Services Co., Ltd.",
    hotline="021-5555-0101",
    address="上海市浦东新区锦绣路100号",
    address_en="100 Jinxiu Road, Pudong, Shanghai",
    pay_instructions={"zh-CN": "物业App或物业服务中心前台", "en": "the property app or the front desk"},
)
# the names the planner puts on the job (propfee.collection.addressing makes the address of them)
NAMES = {"community_name": "锦绣花园", "building_name": "3栋", "room": "1502"}
CHINESE_DATE = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
ENGLISH_DATE = re.compile(r"\d{1,2} (?:January|February|March|April|May|June|July|August|September|October|November"
                          r"|December) \d{4}")  # fmt: skip


def the_unit(language="zh-CN", owners=None, **changes) -> Unit:
    fields = {
        "unit_id": "C01-B03-1502",
        "community_id": "C01",
        "building_id": "C01-B03",
        "room": "1502",
        "area_m2": Decimal("120"),
        "monthly_fee_fen": 421_000,
        "language": language,
        "owners": owners
        or (
            Owner(name="王建国", phone="+8613812345678"),
            Owner(name="李秀英", relation="co_owner"),
            Owner(name="王小明", relation="household"),
        ),
        "open_bills": {
            "2026-06": OpenBill(due=date(2026, 6, 10), outstanding_fen=421_000),
            "2026-07": OpenBill(due=date(2026, 7, 10), outstanding_fen=421_000),
            "2026-08": OpenBill(due=date(2026, 8, 10), outstanding_fen=421_000),
        },
    }
    return Unit(**{**fields, **changes})


def the_letter(language="zh-CN", **unit_changes):
    return compose_letter(letter_job(language, **NAMES), the_unit(language, **unit_changes), IDENTITY)


def dates_on_one_line(text: str, pattern: re.Pattern[str]) -> tuple[int, int]:
    """How many dates the text holds once its lines are joined, and how many stand whole on one line."""
    joined = re.sub(r"[ \t]*\n[ \t]*", "", text)
    return len(pattern.findall(joined)), sum(len(pattern.findall(line)) for line in text.splitlines())


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "zh-CN",
            ["物业费催缴函", "锦绣物业服务有限公司", "王建国、李秀英业主", "锦绣花园3栋1502室", "12,630.00元",
             "2026年6月", "2026年8月10日", "4,210.00元", "第九百四十四条", "2026年12月11日前", "诉讼或仲裁",
             "物业App或物业服务中心前台", "021-5555-0101", "送达回执", "签收人（签字）"],
        ),
        (
            "en",
            ["Demand for Payment", "Jinxiu Property Services Co., Ltd.", "Dear 王建国 and 李秀英,",
             "Rm 1502, 3栋, 锦绣花园", "CNY 12,630.00", "June 2026", "10 August 2026", "Article 944",
             "by 11 December 2026", "litigation or arbitration", "the property app or the front desk",
             "Acknowledgement of Delivery", "Received by (signature)"],
        ),
    ],
)  # fmt: skip
def test_the_letter_names_the_company_the_owners_the_address_the_periods_the_deadline_and_the_lawful_remedy(
    language, expected
):
    text = the_letter(language).message().body
    for phrase in expected:
        assert phrase in text
    assert "王小明" not in text  # a household member is not the debtor
    assert lint(text) == []


def test_the_pdf_reads_back_with_every_part_of_the_letter_and_the_slip():
    letter = the_letter()
    text = pdf_text(letter_pdf(letter, find_font(), DATED))
    flat = re.sub(r"\s+", "", text)
    letterhead = ("锦绣物业服务有限公司", "地址：上海市浦东新区锦绣路100号", "服务热线：021-5555-0101")
    addressee = ("物业费催缴函", "王建国、李秀英业主", "锦绣花园3栋1502室")
    body = ("第九百四十四条", "2026年12月11日前", "12,630.00")
    for phrase in letterhead + addressee + body:
        assert phrase in flat
    rows = [line.split() for line in text.splitlines() if re.match(r"\s+2026年\d+月\s", line)]  # the table
    assert rows == [
        ["2026年6月", "2026年6月10日", "4,210.00"],
        ["2026年7月", "2026年7月10日", "4,210.00"],
        ["2026年8月", "2026年8月10日", "4,210.00"],
    ]
    assert re.search(r"合计\s+12,630\.00", text)
    assert re.search(r"^\s+2026年11月26日[ \t]*$", text, re.M)  # the date, right-aligned on a line of its own
    slip = text[text.index("沿此线剪下") :]  # the delivery slip, below its cut line
    for phrase in ("送达回执", "函件编号：20261126-C01-B03-1502-letter_d45-1", "锦绣花园3栋1502室", "王建国、李秀英",
                   "签收人（签字）", "签收日期", "送达人"):  # fmt: skip
        assert phrase in slip
    assert len(PdfReader(io.BytesIO(letter_pdf(letter, find_font(), DATED))).pages) == 1


@pytest.mark.parametrize("name_length", range(1, 9))
def test_no_date_is_split_across_lines_wherever_the_text_puts_it(name_length):
    # the owner's name moves the community's name, and every date after it, along the line
    job = letter_job(**{**NAMES, "community_name": "锦" * name_length + "花园"})
    letter = compose_letter(job, the_unit(), IDENTITY)
    text = pdf_text(letter_pdf(letter, find_font(), DATED))
    found, whole = dates_on_one_line(text, CHINESE_DATE)
    assert found == whole and found >= 8  # as of, overdue since, 3 due dates, deadline, dated, slip


@pytest.mark.parametrize("name", ["Li", "Li Wei", "Christopher Montgomery-Smith", "Li and Wang Family Trustees"])
def test_no_english_date_or_amount_is_split_either(name):
    letter = the_letter("en", owners=(Owner(name=name),))
    text = pdf_text(letter_pdf(letter, find_font(), DATED))
    found, whole = dates_on_one_line(text, ENGLISH_DATE)
    assert found == whole and found >= 8
    assert "CNY 12,630.00" in text


def test_lines_break_between_characters_but_never_inside_a_date_an_amount_or_before_a_comma():
    width = 30.0
    for prefix in range(0, 30):
        text = "截" * prefix + "截至2026年11月26日，合计人民币12,630.00元，自2026-06-10起。"
        lines = wrap(text, width, len)
        assert "".join(lines) == text
        assert all(len(line) <= width for line in lines)
        assert sum(len(CHINESE_DATE.findall(line)) for line in lines) == 1
        assert sum(len(ISO_DATE.findall(line)) for line in lines) == 1
        assert any("12,630.00" in line for line in lines)
        assert not [line for line in lines if line[0] in "，。"]


def test_the_same_letter_gives_the_same_bytes():
    letter = the_letter()
    assert letter_pdf(letter, find_font(), DATED) == letter_pdf(the_letter(), find_font(), DATED)


def test_without_the_names_of_community_and_building_the_codes_stand_in():
    letter = compose_letter(letter_job(), the_unit(owners=(Owner(name=" ", relation="owner"),)), IDENTITY)
    assert (letter.owner, letter.address) == ("B03-1502", "B03-1502")


def test_the_seal_image_is_printed_when_configured_and_its_absence_is_a_clear_error(tmp_path):
    from PIL import Image

    seal = tmp_path / "seal.png"
    Image.new("RGBA", (120, 120), (200, 0, 0, 160)).save(seal)
    identity = IDENTITY.model_copy(update={"seal_image": "seal.png"})
    rules_file = tmp_path / "rules.yaml"
    assert seal_file(identity, rules_file) == seal
    assert seal_file(IDENTITY, rules_file) is None
    with_seal = letter_pdf(the_letter(), find_font(), DATED, seal)
    assert b"/Subtype /Image" in with_seal and b"/Subtype /Image" not in letter_pdf(the_letter(), find_font(), DATED)
    with pytest.raises(LetterSealMissing, match=r"stamp\.png"):
        seal_file(IDENTITY.model_copy(update={"seal_image": "stamp.png"}), rules_file)


def test_a_missing_font_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr("propfee.collection.cjk_pdf.FONT_CANDIDATES", (tmp_path / "none.ttc",))
    with pytest.raises(LetterFontMissing, match="pylopdf-fonts-zh-cn"):
        find_font(None)


def test_a_name_with_a_character_beyond_gb2312_is_printed_too():
    # 堃 and 喆 are common in given names but not in GB2312, the set the shared font subset covers
    letter = the_letter(owners=(Owner(name="王堃"), Owner(name="李喆", relation="co_owner")))
    text = pdf_text(letter_pdf(letter, find_font(), DATED))
    assert "王堃、李喆业主" in text


def test_without_a_setting_the_font_is_the_python_packages_not_a_system_one():
    # `make demo` on a machine without Debian's fonts: the font comes with propfee[sandbox]
    font = find_font(None)
    assert font.name == "NotoSansSC-Regular.otf" and "pylopdf_fonts_zh_cn" in font.parts


def test_where_the_fonts_package_is_not_installed_the_next_place_is_tried(monkeypatch):
    # Lambda: the layer has a copy of the font's file, not the package
    monkeypatch.setitem(sys.modules, cjk_pdf.FONT_PACKAGE, None)  # as if not installed
    assert cjk_pdf._packaged_font() == ()


def test_the_font_is_embedded_with_truetype_outlines_so_readers_get_its_widths():
    # fpdf2 embeds Noto's CFF outlines with a width table readers misapply (a space read between every character)
    pdf = letter_pdf(the_letter(), find_font(), DATED)
    [font] = PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/Font"].values()
    embedded = font.get_object()["/DescendantFonts"][0].get_object()
    assert embedded["/Subtype"] == "/CIDFontType2" and "/FontFile2" in embedded["/FontDescriptor"]
    text = pdf_text(pdf)  # hanzi, digits and Latin letters side by side, read back without gaps
    assert "房屋地址：锦绣花园3栋1502室" in text and "函件编号：20261126-C01-B03-1502-letter_d45-1" in text


class Letters:
    def __init__(self, objects):
        self.objects = dict(objects)

    def keys(self, prefix):
        return sorted(k for k in self.objects if k.startswith(prefix))

    def get(self, key):
        return self.objects[key]

    def put(self, key, body, content_type):
        self.objects[key] = body


def test_the_print_batch_lists_the_page_each_letter_starts_on():
    many = {f"2025-{m:02d}": OpenBill(due=date(2025, m, 10), outstanding_fen=421_000) for m in range(1, 13)}
    many |= {f"2026-{m:02d}": OpenBill(due=date(2026, m, 10), outstanding_fen=421_000) for m in range(1, 11)}
    long_job = letter_job(unit_id="C01-B03-0101", periods=tuple(sorted(many)), balance_fen=22 * 421_000)
    long = letter_pdf(compose_letter(long_job, the_unit(open_bills=many), IDENTITY), find_font(), DATED)
    short = letter_pdf(the_letter(), find_font(), DATED)
    assert len(PdfReader(io.BytesIO(long)).pages) == 2  # 22 periods: the slip goes on a second page
    store = Letters({"letters/2026-11-26/C01-B03-0101.letter_d45.1.pdf": long,
                     "letters/2026-11-26/C01-B03-1502.letter_d45.1.pdf": short})  # fmt: skip
    assert publish_print_batch("2026-11-26", store) == {"day": "2026-11-26", "letters": 2}
    assert len(PdfReader(io.BytesIO(store.objects["letters/2026-11-26/print-batch.pdf"])).pages) == 3
    listing = store.objects["letters/2026-11-26/print-list.csv"].decode("utf-8-sig").splitlines()
    assert [line.split(",")[:2] for line in listing[1:]] == [["1", "C01-B03-0101"], ["3", "C01-B03-1502"]]


def test_a_bill_link_is_printed_as_a_qr_code_of_that_link_with_its_caption():
    from dataclasses import replace

    from propfee.collection.letter_qr import QUIET_ZONE, qr_modules

    url = "https://jxwy.cn/b/4fJq9ZtR2mXw7LcN0aBd3K"
    plain = letter_pdf(the_letter(), find_font(), DATED)
    linked = letter_pdf(replace(the_letter(), bill_url=url), find_font(), DATED)
    assert "扫码查看账单、在线缴费" in re.sub(r"\s+", "", pdf_text(linked))
    assert "扫码查看账单" not in re.sub(r"\s+", "", pdf_text(plain))
    modules = qr_modules(url)
    # version 3 (29 x 29 modules) holds the link; a light border of QUIET_ZONE modules around it
    assert len(modules) == 29 and all(len(row) == 29 for row in modules) and QUIET_ZONE == 4
    assert modules[0][:7] == [True] * 7  # a finder pattern in the corner
    assert qr_modules(url) == modules and qr_modules(url + "x") != modules
    assert linked == letter_pdf(replace(the_letter(), bill_url=url), find_font(), DATED)  # still deterministic

"""Reminder texts: every template in both languages and on both channels renders completely and politely."""

import re
from datetime import date

import pytest

from propfee.collection.messages import render
from propfee.domain.models import Channel, SendJob
from tests.support import COMPANY

TEMPLATES = ["reminder_due_soon", "reminder_friendly", "reminder_notice", "reminder_firm"]
LANGUAGES = ["zh-CN", "en"]
CHANNELS = [Channel.SMS, Channel.EMAIL]
ALL = [(t, lang, ch) for t in TEMPLATES for lang in LANGUAGES for ch in CHANNELS]

TODAY = date(2025, 3, 20)
HOTLINE = COMPANY.hotline
# the unit as the plan names it from the community and building records
NAMED = {"community_name": "锦绣花园", "building_name": "1栋", "room": "2304", "owner_surname": "王"}
THREATS = ["停水", "停电", "断水", "断电", "停暖", "停气", "cut off"]


def job(
    template: str = "reminder_friendly",
    language: str = "zh-CN",
    channel: Channel = Channel.SMS,
    balance_fen: int = 123_456,
    **changes,
) -> SendJob:
    fields = {
        "unit_id": "C01-B03-1502",
        "community_id": "C01",
        "step": "sms_d1",
        "channel": channel,
        "destination": "+8613812345678" if channel is Channel.SMS else "wang.fang@example.net",
        "language": language,
        "template": template,
        "unit_label": "B03-1502",
        "balance_fen": balance_fen,
        "overdue_since": date(2025, 2, 15),
        "planned_for": TODAY,
        "unit_version": 3,
    }
    fields.update(changes)
    return SendJob(**fields)


def _render(**kwargs):
    return render(job(**kwargs), TODAY, COMPANY)


@pytest.mark.parametrize(("template", "language", "channel"), ALL)
def test_every_template_renders_completely(template, language, channel):
    message = _render(template=template, language=language, channel=channel)

    texts = [message.body] + ([message.subject] if message.subject is not None else [])
    for text in texts:
        assert text.strip() == text and text
        assert "{{" not in text and "}}" not in text and "{%" not in text
    assert "1,234.56" in message.body
    assert "B03-1502" in message.body  # no names on the job: the codes
    if channel is Channel.EMAIL:  # an SMS keeps to two parts: the date only where it is the news
        assert "2025-02-15" in message.body
    assert HOTLINE in message.body


@pytest.mark.parametrize(("template", "language"), [(t, lang) for t in TEMPLATES for lang in LANGUAGES])
def test_email_has_a_subject_naming_the_unit_and_sms_has_none(template, language):
    email = _render(template=template, language=language, channel=Channel.EMAIL)
    sms = _render(template=template, language=language, channel=Channel.SMS)

    assert email.subject
    assert "B03-1502" in email.subject
    assert "\n" not in email.subject
    assert sms.subject is None


@pytest.mark.parametrize(("template", "channel"), [(t, ch) for t in TEMPLATES for ch in CHANNELS])
def test_the_text_is_in_the_owners_language(template, channel):
    chinese = re.compile(r"[\u4e00-\u9fff]")
    zh = _render(template=template, language="zh-CN", channel=channel)
    en = _render(template=template, language="en", channel=channel)

    assert chinese.search(zh.body)
    assert "元" in zh.body
    # the Chinese in an English text is the company's signature and name, nothing else
    english = en.body.replace(f"【{COMPANY.sms_signature}】", "")
    assert not chinese.search(english)
    assert "CNY 1,234.56" in en.body


@pytest.mark.parametrize("template", TEMPLATES)
def test_a_chinese_sms_is_signed_with_the_registered_signature_and_names_the_unit_and_the_owner(template):
    body = _render(template=template, **NAMED).body

    assert body.startswith("【锦绣物业】尊敬的王先生/女士：您的锦绣花园1栋2304室物业费")
    assert "B03-1502" not in body and "物业服务中心】" not in body
    assert body.endswith("回TD退订")


@pytest.mark.parametrize("template", TEMPLATES)
def test_an_english_sms_is_signed_and_names_the_unit_by_its_names(template):
    body = _render(template=template, language="en", **NAMED).body

    assert body.startswith("【锦绣物业】")
    assert "Rm 2304, 1栋, 锦绣花园" in body
    assert body.endswith("STOP to opt out")


@pytest.mark.parametrize("template", TEMPLATES)
def test_an_email_greets_the_owner_by_surname_and_is_signed_by_the_company(template):
    zh = _render(template=template, channel=Channel.EMAIL, **NAMED)
    en = _render(template=template, language="en", channel=Channel.EMAIL, **{**NAMED, "owner_surname": "Smith"})

    assert zh.body.startswith("尊敬的王先生/女士：")
    assert "锦绣花园1栋2304室" in zh.body and "锦绣花园1栋2304室" in (zh.subject or "")
    assert zh.body.endswith(COMPANY.name)
    assert en.body.startswith("Dear Mr/Ms Smith,")
    assert "Rm 2304, 1栋, 锦绣花园" in en.body
    assert en.body.endswith(COMPANY.name_en)
    assert COMPANY.pay_instructions["en"] in en.body


def test_without_a_surname_the_owner_of_the_unit_is_greeted():
    zh = _render(channel=Channel.EMAIL, **{**NAMED, "owner_surname": ""})
    en = _render(language="en", channel=Channel.EMAIL, **NAMED)  # a Chinese surname is not romanised

    assert zh.body.startswith("尊敬的业主：")
    assert en.body.startswith("Dear owner,")


def test_a_community_with_its_own_office_speaks_with_its_hotline():
    local = COMPANY.model_copy(update={"hotline": "0571-8888 7777"})
    body = render(job(**NAMED), TODAY, local).body
    assert "0571-8888 7777" in body and COMPANY.hotline not in body


@pytest.mark.parametrize(("template", "language", "channel"), ALL)
def test_no_message_threatens_to_cut_utilities(template, language, channel):
    message = _render(template=template, language=language, channel=channel, balance_fen=9_999_999)

    text = f"{message.subject or ''}\n{message.body}".lower()
    assert not [word for word in THREATS if word in text]


@pytest.mark.parametrize(("fen", "shown"), [(1, "0.01"), (21_044, "210.44"), (100_000_000, "1,000,000.00")])
def test_the_amount_is_shown_in_yuan(fen, shown):
    for language in LANGUAGES:
        assert shown in _render(language=language, balance_fen=fen).body


@pytest.mark.parametrize(("template", "language", "channel"), ALL)
def test_template_version_is_stable_and_content_hash_is_reproducible(template, language, channel):
    first = _render(template=template, language=language, channel=channel)
    second = _render(template=template, language=language, channel=channel)

    assert first.template_version == second.template_version
    assert re.fullmatch(
        r"[0-9a-f]{12}" + (r"\+[0-9a-f]{12}" if channel is Channel.EMAIL else ""), first.template_version
    )
    assert first.content_sha256 == second.content_sha256
    assert re.fullmatch(r"[0-9a-f]{64}", first.content_sha256)


def test_template_version_does_not_depend_on_the_amount_but_the_content_hash_does():
    small = _render(balance_fen=123_456)
    large = _render(balance_fen=123_457)

    assert small.template_version == large.template_version
    assert small.content_sha256 != large.content_sha256


def test_each_template_has_its_own_version():
    versions = {_render(template=t, language=lang).template_version for t in TEMPLATES for lang in LANGUAGES}

    assert len(versions) == len(TEMPLATES) * len(LANGUAGES)


def test_content_hash_covers_the_email_subject():
    one = _render(channel=Channel.EMAIL, unit_label="B03-1502")
    other = _render(channel=Channel.EMAIL, unit_label="B03-1503")

    assert one.subject != other.subject
    assert one.content_sha256 != other.content_sha256


def test_unknown_template_is_an_error_not_an_empty_message():
    with pytest.raises(Exception, match="reminder_unknown"):
        _render(template="reminder_unknown")

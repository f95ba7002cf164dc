"""The approved mainland templates: local texts equal the approved ones filled in, values within the rules."""

from datetime import date

import pytest

from propfee.collection.approved_sms import PROVIDERS, check_approved, load_approved, prepare, value_problems
from propfee.collection.messages import SAMPLE_IDENTITY, render, template_source
from propfee.domain.identity import CompanyIdentity
from propfee.domain.models import Channel, SendJob
from propfee.domain.ports import ProviderRejected, SmsTemplate
from propfee.feedback.responses import REPLY_TEMPLATES
from propfee.rules import load_rules

SENT_BY_SMS = {"reminder_due_soon", "reminder_friendly", "reminder_notice", "reminder_firm"}
APPROVED_REPLIES = {"reply_help", "reply_opt_in", "reply_opt_out", "reply_unknown_sender"}


def job(**changes):
    values = dict(
        unit_id="C01-B1-101", community_id="C01", step="sms_d1", channel=Channel.SMS,
        destination="+8613812345678", language="zh-CN", template="reminder_friendly",
        overdue_since=date(2026, 12, 1), planned_for=date(2026, 12, 2), unit_version=0, unit_label="B1-101",
        community_name="锦绣花园", building_name="1栋", room="101", owner_surname="王", balance_fen=123456,
    )  # fmt: skip
    return SendJob(**{**values, **changes})


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_sms_the_rules_send_is_approved_and_equals_its_local_template(provider):
    identities = {"*": CompanyIdentity(), "sample": SAMPLE_IDENTITY}
    assert load_rules().message_templates() >= SENT_BY_SMS
    assert APPROVED_REPLIES <= REPLY_TEMPLATES
    assert check_approved(provider, identities, SENT_BY_SMS | APPROVED_REPLIES) == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_local_template_that_drifts_from_its_approved_text_fails_the_check(provider):
    def drifted(file_name):
        source = template_source(file_name)
        return source.replace("已缴请忽略", "已缴费请忽略") if file_name == "reminder_friendly.zh-CN.sms.j2" else source

    problems = check_approved(provider, {"*": CompanyIdentity()}, SENT_BY_SMS, source_of=drifted)
    assert problems == [f"reminder_friendly.zh-CN.sms.j2: the local template drifted from the approved {provider} "
                        f"text {load_approved().approved(provider, 'reminder_friendly', 'zh-CN').code}"]  # fmt: skip


def test_a_template_nobody_approved_is_named_by_the_check():
    problems = check_approved("tencent", {"*": CompanyIdentity()}, {"reply_ticket"})
    assert problems == [
        "reply_ticket.zh-CN.sms.j2: no approved tencent template",
        "reply_ticket.en.sms.j2: no approved tencent template",
    ]


def test_a_signature_the_provider_has_not_approved_fails_the_check():
    unapproved = CompanyIdentity(sms_signature="未登记物业")
    problems = check_approved("aliyun", {"C02": unapproved}, {"reminder_friendly"})
    assert problems == ["C02: signature 【未登记物业】 is not approved for aliyun"]


def test_a_link_in_the_way_to_pay_is_refused_for_tencent_and_allowed_for_aliyun():
    linked = SAMPLE_IDENTITY.model_copy(update={"pay_instructions": {"zh-CN": "https://pay.example.cn/b", "en": "x"}})
    tencent = check_approved("tencent", {"*": linked}, {"reminder_friendly"})
    assert tencent == ["reminder_friendly.zh-CN.sms.j2 (*): variable pay_instructions holds a link, which tencent "
                       "refuses in variables"]  # fmt: skip
    assert check_approved("aliyun", {"*": linked}, {"reminder_friendly"}) == []


def test_values_past_the_provider_limit_are_named_without_their_content():
    rules = load_approved().providers["aliyun"]
    problems = value_problems("aliyun", rules, {"unit_address": "长" * 36, "hotline": "【伪】"})
    assert problems == [
        "variable unit_address has 36 characters, more than 35",
        "variable hotline holds 【】, which only the signature may use",
    ]
    assert all("长长" not in p for p in problems)


def test_prepare_gives_the_code_the_parameters_and_exactly_the_evidence_text():
    message = render(job(), date(2026, 12, 2), CompanyIdentity())
    aliyun = prepare("aliyun", load_approved(), message.body, message.template)
    tencent = prepare("tencent", load_approved(), message.body, message.template)
    assert aliyun.text == tencent.text == message.body
    assert aliyun.parameters["amount"] == "1,234.56"
    assert tencent.parameters[2] == "1,234.56"  # {3} is the amount


def test_prepare_refuses_before_sending_what_the_provider_would_refuse():
    message = render(job(), date(2026, 12, 2), CompanyIdentity())
    data = load_approved()
    with pytest.raises(ProviderRejected, match=r"sends approved templates only"):
        prepare("aliyun", data, message.body, None)
    with pytest.raises(ProviderRejected, match=r"no tencent template is approved for task_digest.zh-CN"):
        prepare("tencent", data, message.body, SmsTemplate("task_digest", "zh-CN", {}))
    with pytest.raises(ProviderRejected, match=r"signature is not approved"):
        prepare("aliyun", data, message.body.replace("物业服务中心", "别的签名", 1), message.template)
    long_place = render(job(community_name="很长很长很长很长的小区名字" * 3), date(2026, 12, 2), CompanyIdentity())
    with pytest.raises(ProviderRejected, match=r"variable unit_address has 4[0-9] characters"):
        prepare("tencent", data, long_place.body, long_place.template)
    with pytest.raises(ProviderRejected, match=r"differs from the rendered one"):
        prepare("aliyun", data, message.body + "!", message.template)


def test_the_approved_reminders_read_as_bill_notices():
    for name in SENT_BY_SMS:
        for provider in PROVIDERS:
            text = load_approved().approved(provider, name, "zh-CN").text
            assert "物业费" in text and "催收" not in text and "回TD退订" in text

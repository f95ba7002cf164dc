"""The rules file's `sms:`: which provider sends, the accounts each needs, and a start refused when a text the
company sends is not approved as it is."""

import pytest
from pydantic import ValidationError

from propfee.cli import main
from propfee.domain.config import Settings
from propfee.rules import parse_rules, rules_for

TENCENT = "sms: {provider: tencent, tencent: {secret: propfee/tencent-sms, sms_sdk_app_id: '1400000001'}}\n"


def test_aws_stays_the_default():
    assert parse_rules("{}").sms.chain() == ("aws",)


def test_a_chosen_provider_needs_its_account_and_each_is_named_once():
    with pytest.raises(ValidationError, match=r"sms.aliyun"):
        parse_rules("sms: {provider: aliyun}")
    with pytest.raises(ValidationError, match=r"named twice"):
        parse_rules(TENCENT.replace("provider: tencent", "provider: tencent, failover: [tencent]"))
    routing = parse_rules(TENCENT.replace("provider: tencent", "provider: tencent, failover: [aws]")).sms
    assert routing.chain() == ("tencent", "aws") and routing.mainland() == ("tencent",)


def test_a_start_is_refused_when_a_value_breaks_the_providers_rules(tmp_path, monkeypatch):
    rules = tmp_path / "rules.yaml"
    rules.write_text(TENCENT + "company: {pay_instructions: {zh-CN: 'https://p.cn/a'}}\n", encoding="utf-8")
    monkeypatch.setenv("PROPFEE_TABLE", "propfee")
    monkeypatch.setenv("PROPFEE_RULES_FILE", str(rules))
    with pytest.raises(ValueError, match=r"pay_instructions holds a link, which tencent refuses"):
        rules_for(Settings())  # type: ignore[call-arg]


def test_the_operators_command_fails_on_a_drifted_approved_text(tmp_path, capsys):
    from importlib import resources

    approved = resources.files("propfee").joinpath("templates/approved_sms.yaml").read_text(encoding="utf-8")
    (tmp_path / "approved.yaml").write_text(approved.replace("已缴请忽略", "已缴费请忽略"), encoding="utf-8")
    rules = tmp_path / "rules.yaml"
    rules.write_text(TENCENT.replace("}}", "}, approved_templates: approved.yaml}"), encoding="utf-8")
    assert main(["templates", "--provider", "tencent", "--rules", str(rules)]) == 1
    assert "reminder_friendly.zh-CN.sms.j2: the local template drifted" in capsys.readouterr().err
    assert main(["templates", "--provider", "aliyun"]) == 0
    assert "reminder_friendly.zh-CN: SMS_480000003" in capsys.readouterr().out

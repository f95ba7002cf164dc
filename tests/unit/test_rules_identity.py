"""Who speaks to the owners: the rules file's `company:` and the template's parameters meet in one place, a
community's own fields win, and a deployed stack refuses to start while a placeholder remains."""

import pytest

from propfee.collection.messages import TemplateRefused
from propfee.domain.config import Settings
from propfee.domain.identity import PLACEHOLDER_HOTLINE, PLACEHOLDER_NAME, CompanyIdentity
from propfee.local.sandbox.stack import COMPANY_PARAMETERS
from propfee.rules import PlaceholderIdentity, load_rules, parse_rules, rules_for
from propfee.wiring import Services

# the template's parameter -> the function's variable, as infra/template.yaml's Globals set them
VARIABLES = {
    "CompanyName": "PROPFEE_COMPANY_NAME",
    "CompanyNameEn": "PROPFEE_COMPANY_NAME_EN",
    "SmsSignature": "PROPFEE_SMS_SIGNATURE",
    "Hotline": "PROPFEE_HOTLINE",
    "PayInstructions": "PROPFEE_PAY_INSTRUCTIONS",
    "PayInstructionsEn": "PROPFEE_PAY_INSTRUCTIONS_EN",
    "CompanyAddress": "PROPFEE_COMPANY_ADDRESS",
    "CompanyAddressEn": "PROPFEE_COMPANY_ADDRESS_EN",
}
RULES_WITH_COMPANY = """
company:
  name: 锦绣物业服务有限公司
  sms_signature: 锦绣物业
  pay_instructions: {zh-CN: 锦绣物业App}
communities:
  C02:
    company: {hotline: 0571-8888 7777, address: 杭州市西湖区锦绣花园二期1栋底商}
"""


@pytest.fixture
def environment(monkeypatch, tmp_path):
    """A function's environment: its table, and what the test adds (the identity parameters, Lambda's name)."""
    for name in [*VARIABLES.values(), "AWS_LAMBDA_FUNCTION_NAME", "PROPFEE_RULES_FILE"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROPFEE_TABLE", "propfee")

    def configure(parameters: dict[str, str], deployed: bool, rules: str | None = None) -> Settings:
        for name, value in parameters.items():
            monkeypatch.setenv(VARIABLES[name], value)
        if deployed:
            monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "propfee-SendFunction")
        if rules is not None:
            path = tmp_path / "rules.yaml"
            path.write_text(rules, encoding="utf-8")
            monkeypatch.setenv("PROPFEE_RULES_FILE", str(path))
        return Settings()  # type: ignore[call-arg]

    return configure


def test_the_packaged_rules_leave_the_identity_to_the_parameters():
    rules = load_rules()
    assert rules.company.model_dump(exclude_none=True) == {}
    assert rules.identity_for("C01") == CompanyIdentity()  # the placeholders


def test_the_parameters_configure_the_company(environment):
    rules = rules_for(environment(COMPANY_PARAMETERS, deployed=True))
    identity = rules.identity_for("C01")
    assert (identity.name, identity.sms_signature, identity.hotline) == (
        "锦绣物业服务有限公司",
        "锦绣物业",
        "0571-8888 0000",
    )
    assert identity.pay_instructions == {
        "zh-CN": "锦绣物业App或小区物业服务中心",
        "en": "the Jinxiu app or the estate office",
    }
    assert identity.placeholders() == []


def test_the_rules_file_wins_over_the_parameters_field_by_field_and_a_community_over_both(environment):
    settings = environment(
        {"CompanyName": "别的公司", "Hotline": "0571-8888 6666", "PayInstructionsEn": "the Jinxiu app"}, deployed=False,
        rules=RULES_WITH_COMPANY,
    )  # fmt: skip
    rules = rules_for(settings)

    company, c02 = rules.identity_for("C01"), rules.identity_for("C02")
    assert company.name == "锦绣物业服务有限公司"  # the file's, not the parameter's
    assert company.hotline == "0571-8888 6666"  # the parameter's: the file leaves it unset
    assert company.pay_instructions == {"zh-CN": "锦绣物业App", "en": "the Jinxiu app"}  # per language
    assert (c02.hotline, c02.address, c02.name) == ("0571-8888 7777", "杭州市西湖区锦绣花园二期1栋底商", company.name)


def test_a_deployed_stack_with_placeholders_is_refused_naming_each_field_and_its_parameter(environment):
    settings = environment({"CompanyName": "锦绣物业服务有限公司"}, deployed=True)

    with pytest.raises(PlaceholderIdentity) as refused:
        rules_for(settings)

    message = str(refused.value)
    assert "name (" not in message  # configured
    for field, parameter in [("sms_signature", "SmsSignature"), ("hotline", "Hotline"),
                             ("pay_instructions.en", "PayInstructionsEn"), ("address", "CompanyAddress")]:  # fmt: skip
        assert f"{field} (parameter {parameter})" in message
    assert "company:" in message  # where else to set them


def test_the_function_refuses_at_cold_start_before_any_owner_is_contacted(environment):
    services = Services(environment({}, deployed=True))
    with pytest.raises(PlaceholderIdentity, match="the company: name"):
        services.sender  # noqa: B018  # building the sender reads the rules


def test_a_community_that_sets_a_placeholder_is_refused_by_name(environment):
    rules = f"communities:\n  C07:\n    company: {{hotline: {PLACEHOLDER_HOTLINE}}}\n"
    with pytest.raises(PlaceholderIdentity, match=r"community C07: hotline \(parameter Hotline\)"):
        rules_for(environment(COMPANY_PARAMETERS, deployed=True, rules=rules))


def test_the_cli_and_the_tests_may_run_with_the_placeholders(environment):
    identity = rules_for(environment({}, deployed=False)).identity_for("C01")
    assert identity.name == PLACEHOLDER_NAME


def test_a_way_to_pay_too_long_for_the_texts_is_refused_at_start(environment):
    parameters = {
        **COMPANY_PARAMETERS,
        # where no bill link replaces it (no BillPageBaseUrl), the way to pay is in every reminder
        "PayInstructions": "请通过锦绣物业微信公众号、支付宝生活号、锦绣物业App或小区物业服务中心前台现金或刷卡",
    }
    with pytest.raises(TemplateRefused, match=r"reminder_\w+\.zh-CN\.sms\.j2: \d+ characters"):
        rules_for(environment(parameters, deployed=True))


def test_a_rules_file_company_with_an_unknown_field_is_refused():
    with pytest.raises(ValueError, match="logo"):
        parse_rules("company: {logo: x.png}")


def test_the_templates_command_shows_each_sms_at_its_longest_and_refuses_a_company_that_does_not_fit(tmp_path, capsys):
    from propfee import cli

    assert cli.main(["templates"]) == 0
    shown = capsys.readouterr().out
    assert "reminder_friendly.zh-CN.sms.j2: " in shown and "2 with a 40-character bill link" in shown

    long_pay = tmp_path / "rules.yaml"
    long_pay.write_text("company: {pay_instructions: {zh-CN: " + "锦" * 45 + "}}\n", encoding="utf-8")
    assert cli.main(["templates", "--rules", str(long_pay)]) == 1
    assert "refused: reminder_due_soon.zh-CN.sms.j2" in capsys.readouterr().err

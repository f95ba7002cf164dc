"""The template's deploy parameters: no placeholder address gets deployed, and the sender's SES identity is either
the stack's or the operator's, never both."""

import re
from types import SimpleNamespace

import pytest

from propfee.local.sandbox import default_template_path
from propfee.local.sandbox.stack import ADDRESS_PARAMETERS, COMPANY_PARAMETERS, PARAMETERS, Resolver
from propfee.local.sandbox.template import load_template, local_code_dirs, translate, with_code_in_s3

TEMPLATE = default_template_path()
ADDRESSES = ("SenderEmail", "FeedbackEmail")


@pytest.fixture(scope="module")
def sam():
    return load_template(TEMPLATE)


@pytest.fixture(scope="module")
def address_pattern(sam):
    [pattern] = {sam["Parameters"][name]["AllowedPattern"] for name in ADDRESSES}
    # CloudFormation matches Java regex against the whole value; these constructs ((?i), lookahead, classes, anchors)
    # mean the same in Python's re
    return re.compile(pattern)


def test_the_addresses_have_no_default_a_deploy_must_name_them(sam):
    for name in ADDRESSES:
        parameter = sam["Parameters"][name]
        assert "Default" not in parameter, name
        assert "example.com" in parameter["ConstraintDescription"]  # what the refusal tells the operator


@pytest.mark.parametrize(
    "address",
    [
        "billing@example.com",
        "feedback@example.com",
        "Billing@EXAMPLE.COM",
        "billing@mail.example.net",
        "billing@example.org",
        "billing@propfee.test",
        "billing@company.example",
        "billing@company.invalid",
        "billing@localhost",
        "billing@ops.LOCALHOST",
        "billing",
        "billing@",
        "billing@company",
        "bill ing@company.cn",
        "billing@company.cn ",
        "billing@-company.cn",
    ],
)
def test_a_placeholder_or_malformed_address_is_refused(address_pattern, address):
    assert address_pattern.fullmatch(address) is None


@pytest.mark.parametrize(
    "address",
    [
        "billing@wuye-company.cn",
        "Feedback@Sunshine-Gardens.com.cn",
        "cui.jiao+reminders@mail.company.com",
        "billing@notexample.com",
        "billing@example.company.cn",
        "billing@xn--fiq228c.com",
        *ADDRESS_PARAMETERS.values(),  # the sandbox deploys the same template with these
    ],
)
def test_a_real_address_passes(address_pattern, address):
    assert address_pattern.fullmatch(address)


def test_the_sandbox_passes_every_parameter_that_has_no_default(sam):
    required = {name for name, parameter in sam["Parameters"].items() if "Default" not in parameter}
    assert required and required <= set(PARAMETERS)


def test_the_stack_creates_the_sender_identity_only_when_asked(sam):
    parameter = sam["Parameters"]["CreateSenderIdentity"]
    assert parameter["AllowedValues"] == ["yes", "no"] and parameter["Default"] == "yes"
    identity = sam["Resources"]["SenderIdentity"]
    assert identity["Type"] == "AWS::SES::EmailIdentity"
    assert identity["Properties"]["EmailIdentity"] == {"Ref": "SenderEmail"}
    assert sam["Conditions"][identity["Condition"]] == {"Fn::Equals": [{"Ref": "CreateSenderIdentity"}, "yes"]}
    # no other resource creates an SES identity for the sender
    identities = [
        lid for lid, r in sam["Resources"].items() if r["Type"].startswith("AWS::SES::") and "Identity" in r["Type"]
    ]
    assert identities == ["SenderIdentity"]


@pytest.mark.parametrize(("choice", "created"), [("yes", True), ("no", False)])
def test_the_sandbox_creates_the_identity_as_the_stack_would(sam, choice, created):
    code = {lid: f"{lid}.zip" for lid in local_code_dirs(sam, TEMPLATE)}
    parameters = {**PARAMETERS, "CreateSenderIdentity": choice}
    cfn = translate(with_code_in_s3(sam, "artifacts", code), parameters, "ap-northeast-1")
    resolver = Resolver(SimpleNamespace(parameters=parameters, resources={}), cfn)  # type: ignore[arg-type]
    assert resolver.condition_holds(cfn["Resources"]["SenderIdentity"]["Condition"]) is created
    assert resolver.condition_holds(None)


# ---------------------------------------------------------------- the company's identity

IDENTITY = ("CompanyName", "CompanyNameEn", "SmsSignature", "Hotline", "PayInstructions", "PayInstructionsEn",
            "CompanyAddress", "CompanyAddressEn")  # fmt: skip


def _allows(parameter: dict, value: str) -> bool:
    # CloudFormation checks the pattern against the whole value and MaxLength in characters
    return re.fullmatch(parameter["AllowedPattern"], value) is not None and len(value) <= parameter["MaxLength"]


def test_the_identity_parameters_default_to_unset_and_reach_every_function(sam):
    environment = sam["Globals"]["Function"]["Environment"]["Variables"]
    for name in IDENTITY:
        assert sam["Parameters"][name]["Default"] == "", name  # no default that looks real
        assert _allows(sam["Parameters"][name], ""), name  # unset: the rules file says it
        assert {"Ref": name} in environment.values(), name


@pytest.mark.parametrize(
    ("name", "placeholder"),
    [
        ("CompanyName", "物业服务中心"),
        ("CompanyNameEn", "Property Service Centre"),
        ("SmsSignature", "物业服务中心"),
        ("Hotline", "400-000-0000"),
        ("PayInstructions", "物业服务中心或物业App"),
        ("PayInstructionsEn", "the property service office or the property app"),
    ],
)
def test_a_placeholder_identity_is_refused_at_deploy(sam, name, placeholder):
    assert not _allows(sam["Parameters"][name], placeholder)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SmsSignature", "【锦绣物业】"),  # the texts add the brackets
        ("SmsSignature", "锦绣 物业"),
        ("SmsSignature", "锦绣物业服务有限公司杭州分"),  # 13: carriers register at most 12
        ("Hotline", "call us"),
        ("CompanyName", "锦"),
        ("PayInstructions", "锦绣物业App\n或前台"),
    ],
)
def test_malformed_identity_values_are_refused(sam, name, value):
    assert not _allows(sam["Parameters"][name], value)


def test_the_sandbox_speaks_for_a_fictional_company_the_patterns_accept(sam):
    for name in IDENTITY:
        assert _allows(sam["Parameters"][name], COMPANY_PARAMETERS[name]), name

"""The sandbox's SES refuses what SES refuses (moto alone accepts all of it), with SES's error code and HTTP
status; propfee's own sends pass the same checks. Plain boto3 against the sandbox."""

import pytest
from botocore.exceptions import ClientError

from propfee.aws.messaging import SesEmail
from propfee.local.sandbox import Sandbox, ses_rules
from propfee.local.sandbox.stack import PARAMETERS
from tests.support.sandbox import START

pytestmark = pytest.mark.e2e
SENDER = PARAMETERS["SenderEmail"]  # the template's SenderEmail, an identity the stack creates


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(start=START) as running:
        yield running


@pytest.fixture(scope="module")
def configuration_set(sandbox):
    return sandbox.resources["EmailEventsConfigurationSet"]


def send(sandbox, **changes):
    request = {
        "FromEmailAddress": SENDER,
        "Destination": {"ToAddresses": ["owner@example.net"]},
        "Content": {"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}},
        **changes,
    }
    return sandbox.client("sesv2").send_email(**request)


def refusal(sandbox, **changes):
    with pytest.raises(ClientError) as refused:
        send(sandbox, **changes)
    error = refused.value.response
    return error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]


@pytest.mark.parametrize(
    "tag",
    [
        {"Name": "claim", "Value": "REMINDER.sms_d1.1"},  # what propfee sent before its tags were encoded
        {"Name": "claim.id", "Value": "x"},
        {"Name": "claim", "Value": "REMINDER#sms_d1#1"},
        {"Name": "claim", "Value": "楼栋"},
        {"Name": "claim", "Value": "x" * 257},
        {"Name": "", "Value": "x"},
    ],
    ids=["dot in value", "dot in name", "hash", "not ASCII", "257 characters", "empty name"],
)
def test_a_tag_outside_the_characters_ses_allows_is_a_bad_request(sandbox, tag):
    assert refusal(sandbox, EmailTags=[tag]) == ("BadRequestException", 400)


def test_a_tag_of_256_allowed_characters_is_accepted(sandbox):
    assert send(sandbox, EmailTags=[{"Name": "a-b_C9", "Value": "z" * 256}])["MessageId"]


def test_a_configuration_set_that_does_not_exist_is_not_found(sandbox, configuration_set):
    assert refusal(sandbox, ConfigurationSetName="no-such-set") == ("NotFoundException", 404)
    assert send(sandbox, ConfigurationSetName=configuration_set)["MessageId"]


def test_an_unverified_sender_is_rejected(sandbox):
    assert refusal(sandbox, FromEmailAddress="someone@unverified.example") == ("MessageRejected", 400)


def test_more_than_fifty_recipients_are_rejected(sandbox):
    many = [f"owner{n}@example.net" for n in range(51)]
    assert refusal(sandbox, Destination={"ToAddresses": many[:30], "CcAddresses": many[30:]}) == (
        "MessageRejected",
        400,
    )
    assert send(sandbox, Destination={"ToAddresses": many[:50]})["MessageId"]


def test_a_non_ascii_local_part_is_a_bad_request(sandbox):
    assert refusal(sandbox, Destination={"ToAddresses": ["王芳@example.net"]}) == ("BadRequestException", 400)


@pytest.mark.parametrize(
    "context",
    [
        {"unit_id": "C01-B03-1502", "claim": "REMINDER#sms_d30#1"},
        {"unit_id": "C01-B03-1502", "claim": "REMINDER#notice_d7-email#2"},
        {"unit_id": "楼栋3#15_02", "claim": "REMINDER#email_d15-r2#1"},
        {"ticket": "T20261111-ABCD1234"},
        {"report": "2026-11-11"},
        {"reply_to": "0100017c5f2e7d9a-inbound.1@example"},
    ],
    ids=["reminder", "one of two messages", "unusual unit id", "ticket", "report", "acknowledgement"],
)
def test_propfees_own_sends_pass_and_keep_their_context(sandbox, configuration_set, context):
    email = SesEmail(SENDER, sandbox.client("sesv2"), configuration_set=configuration_set)
    message_id = email.send_email("owner@example.net", "物业费提醒", "正文", context)
    sent = ses_rules.sent_emails[message_id]
    assert sent.configuration_set == configuration_set
    assert set(sent.tags) == set(context)
    assert all(ses_rules.TAG_PATTERN.fullmatch(value) for value in sent.tags.values())

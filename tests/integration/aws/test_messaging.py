"""The SMS and email adapters: what they ask the provider, and how provider errors are classified."""

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber
from moto import mock_aws

from propfee.aws.messaging import EndUserMessagingSms, SesEmail, SnsSms
from propfee.domain.ports import ProviderRejected, ProviderUnavailable
from propfee.local.sandbox import aws_rules

CONTEXT = {"unit_id": "C01-B01-0101", "claim": "REMINDER.sms_d1.1"}


@pytest.fixture()
def eum():
    # checked as End User Messaging checks a request (moto has no such service): see propfee.local.sandbox.aws_rules
    client = aws_rules.check_client(boto3.client("pinpoint-sms-voice-v2", region_name="ap-northeast-1"))
    with Stubber(client) as stubber:
        yield EndUserMessagingSms("propfee-sender", "propfee-events", client), stubber


def test_end_user_messaging_sends_a_transactional_sms_with_its_context(eum):
    sms, stubber = eum
    stubber.add_response(
        "send_text_message",
        {"MessageId": "eum-1"},
        {
            "DestinationPhoneNumber": "+8613812345678",
            "OriginationIdentity": "propfee-sender",
            "MessageBody": "您好",
            "MessageType": "TRANSACTIONAL",
            "ConfigurationSetName": "propfee-events",
            "Context": CONTEXT,
        },
    )
    assert sms.send_sms("+8613812345678", "您好", CONTEXT) == "eum-1"
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ThrottlingException", ProviderUnavailable),
        ("InternalServerException", ProviderUnavailable),
        ("ServiceQuotaExceededException", ProviderUnavailable),
        ("ValidationException", ProviderRejected),
        ("ResourceNotFoundException", ProviderRejected),
    ],
)
def test_end_user_messaging_errors_are_retryable_or_final(eum, code, expected):
    sms, stubber = eum
    stubber.add_client_error("send_text_message", service_error_code=code, http_status_code=400)
    with pytest.raises(expected):
        sms.send_sms("+8613812345678", "hi")


def test_a_provider_that_cannot_be_reached_is_retryable():
    class Unreachable:
        def publish(self, **_):
            raise EndpointConnectionError(endpoint_url="https://sns.example")

    with pytest.raises(ProviderUnavailable):
        SnsSms(sns=Unreachable()).send_sms("+8613812345678", "hi")


@mock_aws
def test_sns_and_sesv2_deliver_to_the_provider_records():
    from moto.ses.models import ses_backends
    from moto.sns.models import sns_backends

    sns = boto3.client("sns")
    message_id = SnsSms(sns=sns).send_sms("+8613812345678", "物业费提醒", CONTEXT)
    assert sns_backends["123456789012"]["ap-northeast-1"].sms_messages[message_id] == ("+8613812345678", "物业费提醒")

    ses = boto3.client("sesv2")
    ses.create_email_identity(EmailIdentity="billing@example.com")
    email_id = SesEmail("billing@example.com", ses).send_email("owner@example.net", "提醒", "正文", CONTEXT)
    [sent] = [m for m in ses_backends["123456789012"]["ap-northeast-1"].sent_messages if m.id == email_id]
    assert sent.destinations["ToAddresses"] == ["owner@example.net"] and sent.subject == "提醒"


@mock_aws
def test_an_unverified_sender_is_a_final_refusal():
    with pytest.raises(ProviderRejected):
        SesEmail("nobody@example.com", boto3.client("sesv2")).send_email("owner@example.net", "s", "b")


def test_an_email_names_the_configuration_set_and_carries_its_context_in_tag_characters():
    client = boto3.client("sesv2", region_name="ap-northeast-1")
    with Stubber(client) as stubber:
        stubber.add_response(
            "send_email",
            {"MessageId": "ses-1"},
            {
                "FromEmailAddress": "billing@example.com",
                "Destination": {"ToAddresses": ["owner@example.net"]},
                "EmailTags": [
                    {"Name": "claim", "Value": "REMINDER_23email_5Fd7_231"},
                    {"Name": "unit_id", "Value": "C01-B01-0101"},
                ],
                "ConfigurationSetName": "propfee-email-events",
                "Content": {
                    "Simple": {
                        "Subject": {"Data": "提醒", "Charset": "UTF-8"},
                        "Body": {"Text": {"Data": "正文", "Charset": "UTF-8"}},
                    }
                },
            },
        )
        email = SesEmail("billing@example.com", client, configuration_set="propfee-email-events")
        context = {"unit_id": "C01-B01-0101", "claim": "REMINDER#email_d7#1"}
        assert email.send_email("owner@example.net", "提醒", "正文", context) == "ses-1"
        stubber.assert_no_pending_responses()

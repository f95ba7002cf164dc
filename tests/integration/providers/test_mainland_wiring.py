"""The composition root builds the rules' mainland provider with its keys from Secrets Manager (moto), and a
missing or incomplete secret stops it with the secret's name, never its values."""

import json

import boto3
import pytest
from moto import mock_aws

from propfee.aws.secrets import SecretsManagerJson, SecretUnusable
from propfee.local.emulators.sms import SANDBOX_ALIYUN_KEY, aliyun_emulator
from propfee.providers.aliyun_sms import AliyunSms
from propfee.providers.sms_failover import FailoverSms
from propfee.wiring import Services
from tests.integration.providers.test_mainland_sms import message

RULES = "sms: {provider: aliyun, failover: [aws], aliyun: {secret: propfee/aliyun-sms}}\n"


@pytest.fixture
def environment(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "cn-north-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("PROPFEE_TABLE", "propfee")
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    monkeypatch.setenv("PROPFEE_RULES_FILE", str(rules))
    with mock_aws():
        yield monkeypatch


def test_the_rules_provider_is_built_with_its_secret_and_fails_over_to_aws(environment):
    from propfee.aws.clients import reset_clients

    reset_clients()
    boto3.client("secretsmanager").create_secret(Name="propfee/aliyun-sms", SecretString=json.dumps(SANDBOX_ALIYUN_KEY))
    with (emulator := aliyun_emulator()) as endpoint:
        environment.setenv("PROPFEE_SMS_ENDPOINTS", json.dumps({"aliyun": endpoint}))
        sms = Services.from_environment().sms
        assert isinstance(sms, FailoverSms)
        assert isinstance(sms._senders[0][1], AliyunSms)
        sent = message()
        assert sms.send_sms("+8613812345678", sent.body, {"claim": "c", "unit_id": "u"}, sent.template).startswith(
            "aliyun:"
        )
        assert [s.text for s in emulator.sent] == [sent.body]
    reset_clients()


def test_a_secret_without_the_keys_names_what_is_missing_not_the_values(environment):
    from propfee.aws.clients import reset_clients

    reset_clients()
    boto3.client("secretsmanager").create_secret(Name="propfee/aliyun-sms", SecretString='{"access_key_id": "LTAIx"}')
    with pytest.raises(SecretUnusable) as refused:
        SecretsManagerJson().read("propfee/aliyun-sms", ("access_key_id", "access_key_secret"))
    assert str(refused.value) == "secret propfee/aliyun-sms lacks access_key_secret"
    with pytest.raises(SecretUnusable, match=r"ResourceNotFoundException"):
        SecretsManagerJson().read("propfee/none", ("access_key_id",))
    reset_clients()

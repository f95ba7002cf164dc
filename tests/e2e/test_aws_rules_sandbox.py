"""The AWS input rules hold for the calls the functions make in the sandbox, also where the sandbox answers a call
itself instead of moto (asynchronous Lambda invocations, End User Messaging SMS): propfee.local.sandbox.aws_rules."""

import pytest
from botocore.exceptions import ClientError

from propfee.aws import clients
from propfee.aws.messaging import EndUserMessagingSms
from propfee.domain.ports import ProviderRejected

pytestmark = pytest.mark.e2e

MiB = 1_048_576


def test_an_asynchronous_invocation_over_1_mb_is_refused_as_lambda_refuses_it_and_never_runs(sandbox):
    lam = clients.client("lambda")  # the client the functions use, which the sandbox answers itself
    name = sandbox.functions["PlanFunction"].name
    with pytest.raises(ClientError) as raised:
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"p":"' + b"x" * MiB + b'"}')
    error = raised.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("RequestTooLargeException", 413)
    assert not sandbox._invocations_pending
    assert lam.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")["StatusCode"] == 202
    assert len(sandbox._invocations_pending) == 1


def test_end_user_messaging_calls_in_the_sandbox_are_checked_before_they_leave(sandbox):
    client = clients.client("pinpoint-sms-voice-v2")
    with pytest.raises(ClientError) as raised:
        client.send_text_message(
            DestinationPhoneNumber="+86 138 1234 5678", OriginationIdentity="propfee-sender", MessageBody="您好"
        )
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ProviderRejected):
        EndUserMessagingSms("propfee-sender", "propfee-events").send_sms("+8613812345678", "您好", {"claim": " x"})

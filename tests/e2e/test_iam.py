"""Each function's calls as its own role allows them, checked in the sandbox: the table's partitions by the sandbox
(dynamodb:LeadingKeys, which moto does not evaluate), the queues by moto's own IAM enforcement with credentials of
the function's role assumed in moto's STS (README, "IAM in the sandbox", says what moto evaluates)."""

import contextlib
import json
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError

from propfee.aws import clients, keys
from propfee.aws.clients import reset_clients
from propfee.aws.dynamo_table import to_attributes
from propfee.collection.delivery import DeliveryEvent, Recorded
from propfee.domain.models import Channel, ReminderStatus, SendJob
from propfee.local.sandbox.runtime import current_function, patched_environ
from propfee.local.sandbox.stack import REGION
from tests.support import ROOT, at, bill
from tests.support.sandbox import dead_letters, job_body

pytestmark = pytest.mark.e2e

UNIT = "C01-B01-0101"


@contextlib.contextmanager
def calling_as(function_logical_id):
    """The table calls made here are the function's (the sandbox checks them against its role)."""
    token = current_function.set(function_logical_id)
    try:
        yield
    finally:
        current_function.reset(token)


def _denied(call, *args, **kwargs):
    with pytest.raises(ClientError) as refused:
        call(*args, **kwargs)
    return refused.value.response["Error"]["Code"]


def _forbidden(call, *args, **kwargs):
    """moto's refusal: HTTP 403, whose error code boto3 reads as "403" (AWS names it AccessDenied)."""
    with pytest.raises(ClientError) as refused:
        call(*args, **kwargs)
    return refused.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_only_the_send_role_writes_evidence_and_delivery_events_may_only_add_to_it(sandbox):
    table = sandbox.table
    job = SendJob.model_validate_json(job_body(table, UNIT))  # the step the plan will send today
    sandbox.advance(at("2026-11-11 09:45"))  # the plan ran at 09:30 and send claimed and sent one SMS per unit
    sent = table.reminder(UNIT, job.claim_key)
    assert sent is not None and sent.status is ReminderStatus.SENT
    receipt = DeliveryEvent(
        Channel.SMS, "sms-1", "event-1", UNIT, job.claim_key, ReminderStatus.DELIVERED, "ok", at("2026-11-11 09:50")
    )
    for writer in ("ImportsFunction", "BillingFunction", "ReceiveFunction", "TicketsFunction", "DailyReportFunction"):
        with calling_as(writer):
            assert _denied(table.record_delivery, receipt) == "AccessDeniedException", writer
            assert _denied(table.release, job) == "AccessDeniedException", writer
    with calling_as("DeliveryEventsFunction"):
        assert _denied(table.release, job) == "AccessDeniedException"  # may not delete it
        assert table.record_delivery(receipt) == Recorded.RECORDED  # the receipt is added
    with calling_as("BillingFunction"):  # the ledger's writers still write the unit's partition and the totals
        assert table.issue_bill(bill(UNIT, "2026-11"))
    assert table.reminder(UNIT, job.claim_key).status is ReminderStatus.DELIVERED


def test_a_rewrite_of_evidence_by_put_is_refused_to_every_role_but_send(sandbox):
    job = SendJob.model_validate_json(job_body(sandbox.table, UNIT))
    sandbox.advance(at("2026-11-11 09:45"))
    db = sandbox.client("dynamodb")  # the sandbox's own client, for reading
    shared = clients.client("dynamodb")  # the functions' client, whose calls the sandbox checks per calling function
    key = to_attributes(keys.reminder_item(UNIT, job.claim_key))
    forged = {**db.get_item(TableName=sandbox.table.name, Key=key)["Item"], "status": {"S": "delivered"}}
    for function in sorted(set(sandbox.functions) - {"SendFunction"}):
        with calling_as(function):
            assert _denied(shared.put_item, TableName=sandbox.table.name, Item=forged) == "AccessDeniedException"
    with calling_as("SendFunction"):
        shared.put_item(TableName=sandbox.table.name, Item=forged)


@contextlib.contextmanager
def moto_iam_enforced(sandbox):
    """moto checks every request from here on against the IAM identity that signed it (INITIAL_NO_AUTH_ACTION_COUNT
    0, through the server's reset-auth endpoint); back to no checks at the end."""

    def reset_auth(count):
        request = urllib.request.Request(  # plain http to the sandbox's own loopback server
            f"{sandbox.endpoint}/moto-api/reset-auth", data=count, method="POST", headers={"Content-Type": "text/plain"}
        )
        urllib.request.urlopen(request).close()  # nosec B310

    reset_auth(b"0")
    try:
        yield
    finally:
        reset_auth(b"inf")


def test_moto_checks_a_handlers_queue_calls_against_the_credentials_of_its_own_role(sandbox):
    config = sandbox.client("lambda").get_function_configuration(
        FunctionName=sandbox.functions["DeliveryEventsFunction"].name
    )
    credentials = sandbox.client("sts").assume_role(RoleArn=config["Role"], RoleSessionName="delivery-events")[
        "Credentials"
    ]
    as_role = {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }
    event = json.loads((ROOT / "events" / "delivery_events.json").read_text(encoding="utf-8"))
    event["Records"] = event["Records"][:1]
    event["Records"][0]["Sns"]["Message"] = "not a receipt"
    own = boto3.session.Session().client(
        "sqs",
        endpoint_url=sandbox.endpoint,
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    with patched_environ(as_role), moto_iam_enforced(sandbox):
        reset_clients()  # the function's clients are made anew, with its role's credentials
        try:
            # allowed: the handler puts what it cannot read in its own DLQ (sqs:SendMessage on that queue)
            assert sandbox.invoke("DeliveryEventsFunction", event) == {"receipts": 1}
            # outside its policy: another queue (moto matches SQS resources), another action
            assert _forbidden(own.send_message, QueueUrl=sandbox.resources["SendQueue"], MessageBody="{}") == 403
            assert _forbidden(own.list_queues) == 403
        finally:
            reset_clients()
    [rejected] = dead_letters(sandbox, "DeliveryEventsFunctionDeadLetterQueue")
    assert rejected["Body"] == "not a receipt"

"""How the sandbox delivers events to its functions, as Lambda and its event sources do: SQS batches from the
event source mappings, SNS messages to a function's subscription, S3 notifications and the asynchronous
invocations the functions asked for."""

from __future__ import annotations

import json
import logging
from datetime import UTC
from typing import TYPE_CHECKING, Any

from propfee.local.sandbox import moto_patches
from propfee.local.sandbox.stack import ACCOUNT, REGION, QueueMapping, SnsMapping

if TYPE_CHECKING:
    from propfee.local.sandbox.sandbox import Sandbox


def settle(sqs: Any, mapping: QueueMapping, received: list[dict[str, Any]], failed: set[str]) -> None:
    """Delete what the function handled; what it reported failed is visible again at once (after
    maxReceiveCount SQS moves it to the DLQ)."""
    done = [m for m in received if m["MessageId"] not in failed]
    for start in range(0, len(done), 10):
        sqs.delete_message_batch(
            QueueUrl=mapping.queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start : start + 10])
            ],
        )
    for message in received:
        if message["MessageId"] in failed:
            sqs.change_message_visibility(
                QueueUrl=mapping.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )


def run_invocations(sandbox: Sandbox) -> int:
    """Run the asynchronous invocations the functions asked for (lambda:Invoke, InvocationType Event), in order."""
    ran = 0
    while sandbox._invocations_pending:
        logical_id, event = sandbox._invocations_pending.popleft()
        sandbox.invoke_async(logical_id, event)
        ran += 1
    return ran


def deliver_sns(sandbox: Sandbox) -> int:
    """Invoke each subscribed function with its topic's messages, one an invocation (as SNS does)."""
    sqs = sandbox.client("sqs")
    delivered = 0
    for mapping in sandbox.sns_mappings:
        while messages := sqs.receive_message(QueueUrl=mapping.queue_url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                sandbox.invoke_async(mapping.function_logical_id, {"Records": [sns_record(message, mapping)]})
                sqs.delete_message(QueueUrl=mapping.queue_url, ReceiptHandle=message["ReceiptHandle"])
                delivered += 1
    return delivered


def deliver_s3_notifications(sandbox: Sandbox) -> int:
    """Invoke functions for the S3 events moto produced (asynchronous invocations in AWS)."""
    pending = list(moto_patches.s3_lambda_invocations)
    moto_patches.s3_lambda_invocations.clear()
    by_arn = {arn: logical_id for logical_id, arn in sandbox.function_arns.items()}
    for function_arn, event, uploaded_at in pending:
        for record in event.get("Records", []):  # the simulated time of the upload
            record["eventTime"] = uploaded_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        sandbox.invoke_async(by_arn[function_arn], event)
    return len(pending)


def deliver(sandbox: Sandbox, mapping: QueueMapping, received: list[dict[str, Any]]) -> set[str]:
    """Invoke the function with an SQS event; returns the ids of messages to be retried."""
    event = {"Records": [sqs_record(m, mapping.queue_arn) for m in received]}
    try:
        response = sandbox.invoke(mapping.function_logical_id, event)
    except Exception:  # the whole batch failed, as in Lambda
        logging.getLogger(__name__).exception("function %s failed", mapping.function_logical_id)
        return {m["MessageId"] for m in received}
    if not mapping.report_batch_item_failures or not isinstance(response, dict):
        return set()
    return {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}


def sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """A record as the Lambda SQS poller delivers it."""
    attributes = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
            "SentTimestamp": attributes.get("SentTimestamp", "0"),
            "SenderId": attributes.get("SenderId", ACCOUNT),
            "ApproximateFirstReceiveTimestamp": attributes.get("ApproximateFirstReceiveTimestamp", "0"),
        },
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def sns_record(message: dict[str, Any], mapping: SnsMapping) -> dict[str, Any]:
    """A record as SNS delivers it to a function, from the SNS envelope its queue received."""
    envelope = json.loads(message["Body"])
    return {
        "EventVersion": "1.0",
        "EventSubscriptionArn": mapping.subscription_arn,
        "EventSource": "aws:sns",
        "Sns": {
            "SignatureVersion": envelope.get("SignatureVersion", "1"),
            "Timestamp": envelope["Timestamp"],
            "Signature": envelope.get("Signature", ""),
            "SigningCertUrl": envelope.get("SigningCertURL", ""),
            "MessageId": envelope["MessageId"],
            "Message": envelope["Message"],
            "MessageAttributes": envelope.get("MessageAttributes", {}),
            "Type": envelope.get("Type", "Notification"),
            "UnsubscribeUrl": envelope.get("UnsubscribeURL", ""),
            "TopicArn": envelope["TopicArn"],
            "Subject": envelope.get("Subject"),
        },
    }

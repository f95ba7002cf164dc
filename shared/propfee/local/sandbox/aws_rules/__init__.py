"""The input rules AWS documents and moto does not check, so that the sandbox refuses what AWS refuses.

Each rule names the API reference it comes from. Measured against moto 5.2.5 first: what moto already refuses
as AWS does (SQS batches of more than 10 entries, repeated or malformed batch ids, DelaySeconds above 900,
DynamoDB items over ~400 KB, BatchGetItem over 100 keys, TransactWriteItems over 100 actions or two on one item,
unused expression attribute names and values, reserved words, empty sets, key sizes, SNS SMS over 1,600 characters)
is left to moto. moto refuses items a little under DynamoDB's 400 KB (above 405,000 bytes by its own count), and
one key in two tables of a BatchWriteItem: stricter than AWS, left as they are.

Server-side rules wrap moto's backends or responses (the sandbox's moto server runs in this process), so a plain
boto3 client pointed at the sandbox gets the error code, HTTP status and a message like AWS's. End User Messaging
SMS (pinpoint-sms-voice-v2) is not in moto at all: `check_client` validates its requests on the client against the
constraints of the service model that the API reference is generated from (lengths, patterns, enums).

One module per service: `messages` (SNS and SQS), `dynamodb`, `s3`, `scheduler`, `awslambda`, `end_user_messaging`;
`common` holds what several of them use. Every name is importable from this package as before the split.
"""

from __future__ import annotations

from propfee.local.sandbox.aws_rules import awslambda, dynamodb, messages, s3, scheduler
from propfee.local.sandbox.aws_rules.awslambda import LAMBDA_MAX_ASYNC_PAYLOAD_BYTES, async_payload_too_large
from propfee.local.sandbox.aws_rules.dynamodb import (
    DYNAMODB_BATCH_WRITE_LIMIT,
    DYNAMODB_MAX_EXPRESSION_BYTES,
    attribute_value_problem,
    dynamodb_problem,
    expression_problem,
)
from propfee.local.sandbox.aws_rules.end_user_messaging import CLIENT_CHECKED_SERVICES, check_client
from propfee.local.sandbox.aws_rules.messages import (
    ATTRIBUTE_NAME,
    E164,
    RESERVED_ATTRIBUTE_PREFIXES,
    SNS_MAX_MESSAGE_BYTES,
    SNS_OWN_ATTRIBUTE_PREFIXES,
    SNS_SENDER_ID,
    SNS_SMS_ATTRIBUTES,
    SNS_SMS_TYPES,
    SQS_MAX_ATTRIBUTES,
    SQS_MAX_DELAY_SECONDS,
    SQS_MAX_MESSAGE_BYTES,
    attribute_problem,
    sns_sms_problem,
    sns_topic_problem,
    sqs_message_problem,
)
from propfee.local.sandbox.aws_rules.s3 import S3_MAX_KEY_BYTES
from propfee.local.sandbox.aws_rules.scheduler import schedule_name_problem

__all__ = [
    "ATTRIBUTE_NAME",
    "CLIENT_CHECKED_SERVICES",
    "DYNAMODB_BATCH_WRITE_LIMIT",
    "DYNAMODB_MAX_EXPRESSION_BYTES",
    "E164",
    "LAMBDA_MAX_ASYNC_PAYLOAD_BYTES",
    "RESERVED_ATTRIBUTE_PREFIXES",
    "S3_MAX_KEY_BYTES",
    "SNS_MAX_MESSAGE_BYTES",
    "SNS_OWN_ATTRIBUTE_PREFIXES",
    "SNS_SENDER_ID",
    "SNS_SMS_ATTRIBUTES",
    "SNS_SMS_TYPES",
    "SQS_MAX_ATTRIBUTES",
    "SQS_MAX_DELAY_SECONDS",
    "SQS_MAX_MESSAGE_BYTES",
    "async_payload_too_large",
    "attribute_problem",
    "attribute_value_problem",
    "check_client",
    "dynamodb_problem",
    "expression_problem",
    "install",
    "schedule_name_problem",
    "sns_sms_problem",
    "sns_topic_problem",
    "sqs_message_problem",
]

_INSTALLED = False


def install() -> None:
    """Idempotent; affects this process's moto backends (the sandbox's server runs in-process)."""
    global _INSTALLED
    if _INSTALLED:
        return
    messages.install_sqs()
    messages.install_sns()
    dynamodb.install()
    s3.install()
    scheduler.install()
    awslambda.install()
    _INSTALLED = True

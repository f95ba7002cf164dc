"""The I/O floor of a day: the least AWS work the day's actions need, timed on the same sandbox.

After the busy day has run, the same embedded AWS is given only the calls that no implementation of the day
could avoid, with items and payloads of the sizes the day produced:
- planning reads the arrears index of each community, page by page;
- the jobs go to a queue in batches of 10 and are received and deleted in batches of 10 (Lambda's poller);
- each action is claimed once with its evidence and the unit's new state (one TransactWriteItems of the two
  items), handed to its provider (SNS Publish, SESv2 SendEmail, or the letter's PDF put to S3; a task needs
  nothing more than its claim), and its "sent" evidence written back in batches of 25.
The day's own time over this floor says what propfee's code and plumbing add to the AWS calls themselves.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import date
from typing import Any

from propfee.adapters.dynamo import to_attributes
from propfee.adapters.keys import arrears_pk, unit_item
from propfee.models import Channel, Reminder

FLOOR = "FLOOR#"


def _scratch(item: dict[str, Any], n: int) -> dict[str, Any]:
    return {**item, "pk": {"S": f"{FLOOR}{n}#{item['pk']['S']}"}}


def _sample_items(db: Any, table: str, reminder: Reminder) -> tuple[dict[str, Any], dict[str, Any]]:
    """A real evidence item and its unit's item, to copy at their real sizes."""
    partition = db.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues=to_attributes({":pk": unit_item(reminder.unit_id)["pk"]}),
    )["Items"]
    unit = next(i for i in partition if i["sk"]["S"] == "UNIT")
    evidence = next(i for i in partition if i.get("kind", {}).get("S") == "reminder")
    return evidence, unit


def io_floor(
    sandbox: Any, table: str, communities: Iterable[str], due_before: date, actions: list[Reminder], letter_bytes: int
) -> dict[str, object]:
    db, sqs, sns = sandbox.client("dynamodb"), sandbox.client("sqs"), sandbox.client("sns")
    ses, s3 = sandbox.client("sesv2"), sandbox.client("s3")
    queue = sqs.create_queue(QueueName="propfee-floor")["QueueUrl"]
    bucket = sandbox.resources["ReportBucket"]
    evidence, unit = _sample_items(db, table, actions[0]) if actions else ({}, {})
    sender = sandbox.functions["SendFunction"].environment["PROPFEE_SENDER_EMAIL"]
    sms_text = "【物业】您好，您的物业费尚未缴纳，金额 1234.56 元，请于近日缴纳。回复TD退订"
    pdf = b"%PDF-1.4\n" + b"0" * max(letter_bytes - 9, 0)
    calls = 0
    started = time.perf_counter()
    for community_id in communities:
        pages = db.get_paginator("query").paginate(
            TableName=table,
            IndexName="arrears",
            KeyConditionExpression="arrears_pk = :pk AND arrears_sk < :before",
            ExpressionAttributeValues=to_attributes(
                {":pk": arrears_pk(community_id), ":before": due_before.isoformat()}
            ),
        )
        calls += sum(1 for _ in pages)
    for start in range(0, len(actions), 10):
        batch = actions[start : start + 10]
        sqs.send_message_batch(
            QueueUrl=queue, Entries=[{"Id": str(i), "MessageBody": "x" * 600} for i in range(len(batch))]
        )
        received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        sqs.delete_message_batch(
            QueueUrl=queue,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)],
        )
        calls += 3
    sent: list[dict[str, Any]] = []
    for n, action in enumerate(actions):
        db.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": table,
                        "Item": _scratch(evidence, n),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {"Put": {"TableName": table, "Item": _scratch(unit, n)}},
            ]
        )
        calls += 1
        if action.channel is Channel.SMS:
            sns.publish(PhoneNumber="+8613800000000", Message=sms_text)
        elif action.channel is Channel.EMAIL:
            ses.send_email(
                FromEmailAddress=sender,
                Destination={"ToAddresses": ["owner@example.com"]},
                Content={"Simple": {"Subject": {"Data": "物业费提醒"}, "Body": {"Text": {"Data": sms_text * 6}}}},
            )
        elif action.channel is Channel.LETTER:
            s3.put_object(Bucket=bucket, Key=f"floor/{n}.pdf", Body=pdf)
        else:
            continue  # a task: its claim is all the AWS work it needs
        calls += 1
        sent.append({"PutRequest": {"Item": _scratch(evidence, n)}})
        if len(sent) == 25:
            db.batch_write_item(RequestItems={table: sent})
            sent, calls = [], calls + 1
    if sent:
        db.batch_write_item(RequestItems={table: sent})
        calls += 1
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "api_calls": calls}

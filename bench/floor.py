"""The I/O floor of a day: the least AWS work the day's actions need, timed on the same sandbox.

After the busy day has run, the same embedded AWS is given only the calls that no implementation of the day
could avoid, with items and payloads of the sizes the day produced:
- planning reads the arrears index of each community, page by page;
- the jobs go to a queue in batches of 10 and are received and deleted in batches of 10 (Lambda's poller);
- each action is claimed once with its evidence and the unit's new state (one TransactWriteItems: the unit's
  conditional update, "this step not done and the unit as planned", and the evidence's conditional put), handed
  to its provider (SNS Publish, SESv2 SendEmail, or the letter's PDF put to S3; a task needs nothing more than
  its claim), and its "sent" evidence written back in batches of 25, with, for an SMS, the item by which an
  owner's reply finds the reminder (the provider's message id).
The day's own time over this floor says what propfee's code and plumbing add to the AWS calls themselves.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import date
from typing import Any

from propfee.aws.dynamo_table import to_attributes
from propfee.aws.keys import arrears_pk, evidence_pk, unit_item
from propfee.domain.models import Channel, Reminder

FLOOR = "FLOOR#"


def _scratch(item: dict[str, Any], n: int) -> dict[str, Any]:
    return {**item, "pk": {"S": f"{FLOOR}{n}#{item['pk']['S']}"}}


def _sample_items(db: Any, table: str, reminder: Reminder) -> tuple[dict[str, Any], dict[str, Any]]:
    """A real evidence item and its unit's item, to copy at their real sizes (the unit as it was before the
    day's claim: without the step)."""

    def partition(pk: str) -> list[dict[str, Any]]:
        query = {"TableName": table, "KeyConditionExpression": "pk = :pk"}
        return list(db.query(**query, ExpressionAttributeValues=to_attributes({":pk": pk}))["Items"])

    unit = next(i for i in partition(unit_item(reminder.unit_id)["pk"]) if i["sk"]["S"] == "UNIT")
    evidence = next(i for i in partition(evidence_pk(reminder.unit_id)) if i.get("kind", {}).get("S") == "reminder")
    return evidence, unit


def io_floor(
    sandbox: Any, table: str, communities: Iterable[str], due_before: date, actions: list[Reminder], letter_bytes: int
) -> dict[str, object]:
    db, sqs, sns = sandbox.client("dynamodb"), sandbox.client("sqs"), sandbox.client("sns")
    ses, s3 = sandbox.client("sesv2"), sandbox.client("s3")
    queue = sqs.create_queue(QueueName="propfee-floor")["QueueUrl"]
    bucket = sandbox.resources["ReportBucket"]
    evidence, unit = _sample_items(db, table, actions[0]) if actions else ({}, {})
    lookup = {"pk": {"S": "MSG#" + "0" * 36}, "sk": {"S": "MSG"}, "unit_id": evidence.get("pk", {"S": ""}),
              "claim": evidence.get("sk", {"S": ""}), "expires_at": {"N": "1800000000"}}  # fmt: skip
    # the units the claims update exist before the day (set-up, not timed)
    before = {name: value for name, value in unit.items() if name != "steps_done"}
    scratch_units = [
        {"PutRequest": {"Item": {**_scratch(before, n), "version": {"N": "1"}}}} for n in range(len(actions))
    ]
    for start in range(0, len(scratch_units), 25):
        db.batch_write_item(RequestItems={table: scratch_units[start : start + 25]})
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
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": _scratch(unit, n)["pk"], "sk": unit["sk"]},
                        "UpdateExpression": "ADD steps_done :step SET recent_contacts = :contacts, "
                        "version = version + :one",
                        "ConditionExpression": "version = :v AND NOT contains(steps_done, :step_id)",
                        "ExpressionAttributeValues": {
                            ":step": {"SS": [action.step]},
                            ":step_id": {"S": action.step},
                            ":contacts": {"L": [{"S": "2026-11-11T09:30:00+08:00"}]},
                            ":one": {"N": "1"},
                            ":v": {"N": "1"},
                        },
                    }
                },
                {
                    "Put": {
                        "TableName": table,
                        "Item": _scratch(evidence, n),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
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
        if action.channel in (Channel.SMS, Channel.EMAIL):  # a reply or a delivery event finds the reminder by it
            sent.append({"PutRequest": {"Item": _scratch(lookup, n)}})
        if len(sent) >= 24:
            db.batch_write_item(RequestItems={table: sent})
            sent, calls = [], calls + 1
    if sent:
        db.batch_write_item(RequestItems={table: sent})
        calls += 1
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "api_calls": calls}

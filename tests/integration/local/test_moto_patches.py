"""The sandbox's moto speed-ups must answer exactly what DynamoDB answers: the same items, in key order,
page by page. Each case is checked against a recount from the items written."""

import boto3
import pytest
from moto import mock_aws

from propfee.local.sandbox import moto_patches
from tests.support import create_table_from_template

PARTITIONS = ["UNIT#C01-B01-0101", "UNIT#C01-B01-0102", "UNIT#C02-B01-0101"]


def _items():
    items = []
    for p, pk in enumerate(PARTITIONS):
        for n in range(12):
            item = {"pk": {"S": pk}, "sk": {"S": f"EV#{n:03d}"}, "at": {"S": f"2026-11-{(n * 7) % 28 + 1:02d}"}}
            if n % 3 == 0:  # sparse: only some items carry the inbox key
                item["inbox_pk"] = {"S": f"INBOX#{'finance' if p % 2 else 'service'}"}
                item["inbox_sk"] = {"S": f"2026-12-{n + 1:02d}#{pk}"}
            items.append(item)
    return items


@pytest.fixture
def client():
    with mock_aws():
        moto_patches.install()
        db = boto3.client("dynamodb")
        name = create_table_from_template(db)
        for item in _items():
            db.put_item(TableName=name, Item=item)
        yield db, name


def _all_pages(db, **kwargs):
    found, start = [], None
    while True:
        page = db.query(**kwargs, **({"ExclusiveStartKey": start} if start else {}))
        found.extend((i["pk"]["S"], i["sk"]["S"]) for i in page["Items"])
        start = page.get("LastEvaluatedKey")
        if not start:
            return found


@pytest.mark.parametrize("forward", [True, False])
def test_a_table_query_returns_one_partition_in_key_order_across_pages(client, forward):
    db, name = client
    got = _all_pages(
        db,
        TableName=name,
        KeyConditionExpression="pk = :pk AND sk BETWEEN :a AND :b",
        ExpressionAttributeValues={":pk": {"S": PARTITIONS[1]}, ":a": {"S": "EV#002"}, ":b": {"S": "EV#009"}},
        Limit=3,
        ScanIndexForward=forward,
    )
    expected = [(PARTITIONS[1], f"EV#{n:03d}") for n in range(2, 10)]
    assert got == (expected if forward else expected[::-1])


def test_a_global_index_query_returns_only_items_carrying_that_key_ordered_by_its_range(client):
    db, name = client
    got = _all_pages(
        db,
        TableName=name,
        IndexName="inbox",
        KeyConditionExpression="inbox_pk = :pk AND inbox_sk < :before",
        ExpressionAttributeValues={":pk": {"S": "INBOX#service"}, ":before": {"S": "2026-12-10"}},
        Limit=2,
    )
    recount = sorted(
        (i["inbox_sk"]["S"], i["pk"]["S"], i["sk"]["S"])
        for i in _items()
        if i.get("inbox_pk", {}).get("S") == "INBOX#service" and i["inbox_sk"]["S"] < "2026-12-10"
    )
    assert got == [(pk, sk) for _, pk, sk in recount]
    assert len(got) == 6  # EV#000, 003, 006 (due 12-01, 12-04, 12-07) of the two 'service' partitions


def test_a_local_index_query_reads_its_partition_ordered_by_the_index_range(client):
    db, name = client
    got = _all_pages(
        db,
        TableName=name,
        IndexName="timeline",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": PARTITIONS[2]}},
        Limit=5,
    )
    recount = sorted((i["at"]["S"], i["sk"]["S"]) for i in _items() if i["pk"]["S"] == PARTITIONS[2])
    assert got == [(PARTITIONS[2], sk) for _, sk in recount]


def test_an_unknown_partition_is_empty_and_is_not_created(client):
    db, name = client
    assert (
        _all_pages(
            db, TableName=name, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "UNIT#none"}}
        )
        == []
    )
    assert db.scan(TableName=name, Select="COUNT")["Count"] == len(_items())


def _inbox_by_scan(db, name, inbox):
    """The recount: every item of the table (Scan is not sped up), filtered and ordered as the index would."""
    items = db.scan(TableName=name)["Items"]
    chosen = sorted(
        (i["inbox_sk"]["S"], i["pk"]["S"], i["sk"]["S"]) for i in items if i.get("inbox_pk", {}).get("S") == inbox
    )
    return [(pk, sk) for _, pk, sk in chosen]


def _inbox_by_query(db, name, inbox):
    return _all_pages(
        db,
        TableName=name,
        IndexName="inbox",
        KeyConditionExpression="inbox_pk = :pk",
        ExpressionAttributeValues={":pk": {"S": inbox}},
        Limit=4,
    )


def test_the_global_index_follows_every_kind_of_write_after_its_first_query(client):
    db, name = client
    assert _inbox_by_query(db, name, "INBOX#finance") == _inbox_by_scan(db, name, "INBOX#finance")

    def key(p, n):
        return {"pk": {"S": PARTITIONS[p]}, "sk": {"S": f"EV#{n:03d}"}}

    # moved from one inbox to the other, dropped from the index, deleted, newly put, and upserted by update
    db.update_item(
        TableName=name,
        Key=key(0, 3),
        UpdateExpression="SET inbox_pk = :f",
        ExpressionAttributeValues={":f": {"S": "INBOX#finance"}},
    )
    db.update_item(TableName=name, Key=key(1, 6), UpdateExpression="REMOVE inbox_pk")
    db.delete_item(TableName=name, Key=key(1, 9))
    db.put_item(TableName=name, Item={**key(2, 50), "inbox_pk": {"S": "INBOX#finance"}, "inbox_sk": {"S": "A"}})
    db.update_item(
        TableName=name,
        Key=key(2, 60),
        UpdateExpression="SET inbox_pk = :f, inbox_sk = :s",
        ExpressionAttributeValues={":f": {"S": "INBOX#finance"}, ":s": {"S": "B"}},
    )
    # a cancelled transaction leaves the index as it found it
    absent = "attribute_not_exists(pk)"  # fails: the item exists
    added = {**key(0, 70), "inbox_pk": {"S": "INBOX#finance"}, "inbox_sk": {"S": "C"}}
    with pytest.raises(db.exceptions.TransactionCanceledException):
        db.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": name, "Item": added}},
                {"Update": {"TableName": name, "Key": key(0, 6), "UpdateExpression": "REMOVE inbox_pk"}},
                {"ConditionCheck": {"TableName": name, "Key": key(0, 0), "ConditionExpression": absent}},
            ]
        )
    for inbox in ("INBOX#finance", "INBOX#service"):
        assert _inbox_by_query(db, name, inbox) == _inbox_by_scan(db, name, inbox)
    finance = _inbox_by_query(db, name, "INBOX#finance")
    assert (PARTITIONS[0], "EV#003") in finance and (PARTITIONS[2], "EV#060") in finance
    assert (PARTITIONS[0], "EV#070") not in finance
    assert (PARTITIONS[0], "EV#006") in _inbox_by_query(db, name, "INBOX#service")


# ------------------------------------------------------------------ SQS: deleting by receipt handle
def _deletions(sqs_models, monkeypatch):
    """Receive, re-receive and delete on one queue in every way a handle can be given (current, old, twice,
    never issued, out of order); what each call answered and what is left, bodies in queue order. moto's
    message clock is a counter here (a second a reading, from now: retention is checked on the real clock),
    so a message made visible again is visible at the next reading."""
    start = int(sqs_models.unix_time_millis())
    ticks = iter(range(start, start + 10**9, 1000))
    monkeypatch.setattr(sqs_models, "unix_time_millis", lambda: next(ticks))
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="deletions")["QueueUrl"]
    for start in range(0, 30, 10):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": f"job-{start + n:02d}"} for n in range(10)]
        )
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    answers = []
    # newest handles in reverse order, one message by the handle of its first receipt, a never-issued one
    entries = [m["ReceiptHandle"] for m in reversed(again[3:8])] + [first[0]["ReceiptHandle"], "no-such-handle"]
    result = sqs.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": str(n), "ReceiptHandle": h} for n, h in enumerate(entries)]
    )
    answers.append(sorted(e["Id"] for e in result.get("Successful", [])))
    answers.append(sorted((e["Id"], e["Code"]) for e in result.get("Failed", [])))
    sqs.delete_message(QueueUrl=url, ReceiptHandle=again[3]["ReceiptHandle"])  # deleted already: accepted
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
        sqs.delete_message(QueueUrl=url, ReceiptHandle="never-issued")
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    answers.append((counts["ApproximateNumberOfMessages"], counts["ApproximateNumberOfMessagesNotVisible"]))
    queue = sqs_models.sqs_backends["123456789012"]["ap-northeast-1"].get_queue("deletions")
    answers.append([m.body for m in queue._messages])
    answers.append(sorted(m.body for m in queue.pending_messages))
    return answers


def test_sqs_delete_by_receipt_handle_answers_as_moto_does(monkeypatch):
    import moto.sqs.models as sqs_models

    with mock_aws():
        moto_patches.install()
        patched = _deletions(sqs_models, monkeypatch)
    with mock_aws(), monkeypatch.context() as unpatched_moto:
        unpatched_moto.setattr(sqs_models.Queue, "delete_message", sqs_models.Queue._moto_delete_message)
        unpatched = _deletions(sqs_models, monkeypatch)
    assert patched == unpatched
    # and what that is: five by their newest handle, one by its first, the unknown handle refused
    assert patched[0] == ["0", "1", "2", "3", "4", "5"]
    assert patched[1] == [("6", "ReceiptHandleIsInvalid")]
    assert patched[3] == [f"job-{n:02d}" for n in (1, 2, 8, 9, *range(10, 30))]
    assert patched[4] == [f"job-{n:02d}" for n in (1, 2, 8, 9)]

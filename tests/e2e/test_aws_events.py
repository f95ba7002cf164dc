"""AWS-authored sample events (events/aws/, sources in SOURCES.md) through the handlers in the sandbox: each does
what it should, and what does not fit the models ends in the function's DLQ with the field and the reason while
the rest of the event goes on. Owners' messages are kept whole, and the evidence points at them."""

import copy
import csv
import io
import json
import zipfile
from email.message import EmailMessage

import pytest
import yaml

from propfee import cli
from propfee.aws import keys
from propfee.aws.feedback import FeedbackTable
from propfee.local.sandbox import Sandbox
from propfee.rules import load_rules
from tests.support import ROOT, SHANGHAI, at
from tests.support.sandbox import START, assert_calls_allowed, job_body, payments_file

pytestmark = pytest.mark.e2e

AWS = ROOT / "events" / "aws"
OWNER = "+8613812345678"  # the owner of every unit of the sandbox fixture


def sample(name: str) -> dict:
    return json.loads((AWS / name).read_text(encoding="utf-8"))


def take_dead_letters(sandbox, logical_id):
    """(reason, body) of every message in a DLQ, taken out of it."""
    sqs, url, found = sandbox.client("sqs"), sandbox.resources[logical_id], []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
        "Messages", []
    ):
        for message in messages:
            reason = message.get("MessageAttributes", {}).get("reason", {}).get("StringValue")
            found.append((reason, message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def reminder(sandbox, unit_id):
    """The unit's one reminder record, or None."""
    items = sandbox.client("dynamodb").query(
        TableName=sandbox.table.name,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :sk)",
        ExpressionAttributeValues={":pk": {"S": keys.evidence_pk(unit_id)}, ":sk": {"S": "REMINDER#"}},
    )["Items"]
    assert len(items) <= 1
    return items[0] if items else None


# ---------------------------------------------------------------------------------------------------- SQS: send


def sqs_sample_with_jobs(sandbox, *unit_ids):
    """sqsEvent.json, its first records' bodies replaced by send jobs for these units (the rest as written)."""
    event = sample("sqsEvent.json")
    for record, unit_id in zip(event["Records"], unit_ids, strict=False):
        record["body"] = job_body(sandbox.table, unit_id)
    return event


def test_the_powertools_sqs_sample_as_written_is_two_bodies_that_are_not_send_jobs(sandbox):
    sandbox.clock.set(at("2026-11-11 10:00"))

    response = sandbox.invoke("SendFunction", sample("sqsEvent.json"))

    assert response == {"batchItemFailures": []}  # refused for good, with the reason: never retried
    refused = take_dead_letters(sandbox, "SendDeadLetterQueue")
    assert [body for _, body in refused] == ["Test message.", '{"message": "foo1"}']
    assert refused[0][0] == "malformed send job: body: Invalid JSON: expected value at line 1 column 1"
    assert "body.message: Extra inputs are not permitted" in refused[1][0]
    assert "body.unit_id: Field required" in refused[1][0]


def test_a_send_job_in_the_powertools_sample_is_sent_and_the_sample_record_beside_it_goes_to_the_dlq(sandbox):
    sandbox.clock.set(at("2026-11-11 10:00"))

    response = sandbox.invoke("SendFunction", sqs_sample_with_jobs(sandbox, "C01-B01-0101"))

    assert response == {"batchItemFailures": []}
    [(_, phone, text)] = sandbox.sent_sms()
    assert phone == OWNER and "B01-0101" in text
    assert reminder(sandbox, "C01-B01-0101")["status"]["S"] == "sent"
    [(reason, body)] = take_dead_letters(sandbox, "SendDeadLetterQueue")
    assert body == '{"message": "foo1"}' and reason.startswith("malformed send job: body.message")


def test_a_record_without_attributes_is_sent_as_a_first_delivery(sandbox):
    sandbox.clock.set(at("2026-11-11 10:00"))
    event = sqs_sample_with_jobs(sandbox, "C01-B01-0101", "C01-B01-0102")
    del event["Records"][0]["attributes"]  # AWS documents the map as optional

    assert sandbox.invoke("SendFunction", event) == {"batchItemFailures": []}

    assert len(sandbox.sent_sms()) == 2
    assert {reminder(sandbox, u)["status"]["S"] for u in ("C01-B01-0101", "C01-B01-0102")} == {"sent"}
    assert take_dead_letters(sandbox, "SendDeadLetterQueue") == []


def _attributes_not_a_map(record):
    record["attributes"] = "ApproximateReceiveCount=1"


def _receive_count_not_a_number(record):
    record["attributes"]["ApproximateReceiveCount"] = "many"


def _no_body(record):
    del record["body"]


def _no_message_id(record):
    del record["messageId"]


def _balance_not_a_number(record):
    record["body"] = record["body"].replace('"balance_fen":25000', '"balance_fen":"lots"')


def _body_not_json(record):
    record["body"] = record["body"][:40]


@pytest.mark.parametrize(
    ("spoil", "field"),
    [
        (_attributes_not_a_map, "attributes: Input should be a valid dictionary"),
        (_receive_count_not_a_number, "attributes.ApproximateReceiveCount: Input should be a valid integer"),
        (_no_body, "body: Field required"),
        (_no_message_id, "messageId: Field required"),
        (_balance_not_a_number, "body.balance_fen: Input should be a valid integer"),
        (_body_not_json, "body: Invalid JSON"),
    ],
    ids=["attributes not a map", "receive count not a number", "no body", "no messageId", "balance", "not JSON"],
)
def test_a_malformed_send_record_goes_to_the_dlq_with_its_field_and_the_rest_of_the_batch_is_sent(
    sandbox, spoil, field
):
    sandbox.clock.set(at("2026-11-11 10:00"))
    event = sqs_sample_with_jobs(sandbox, "C01-B01-0101", "C01-B01-0102")
    spoil(event["Records"][0])

    assert sandbox.invoke("SendFunction", event) == {"batchItemFailures": []}

    [(reason, _body)] = take_dead_letters(sandbox, "SendDeadLetterQueue")
    assert reason.startswith("malformed send job") and field in reason
    assert OWNER not in reason and "25000" not in reason  # fields named, values never
    assert reminder(sandbox, "C01-B01-0101") is None
    assert reminder(sandbox, "C01-B01-0102")["status"]["S"] == "sent"
    [(_, _, text)] = sandbox.sent_sms()
    assert "B01-0102" in text


# ------------------------------------------------------------------------------------------ SNS: receive (two-way SMS)


def inbound(sandbox, message_id):
    return FeedbackTable(sandbox.table.name, SHANGHAI).get_inbound(message_id)


def kept(sandbox, uri):
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    return sandbox.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def test_the_aws_two_way_sms_sample_published_to_the_topic_is_acted_on_and_kept_as_it_came(sandbox):
    payload = (AWS / "two-way-sms-payload.json").read_text(encoding="utf-8")
    sandbox.client("sns").publish(TopicArn=sandbox.resources["InboundSmsTopic"], Message=payload)
    sandbox.advance(at("2026-11-11 08:30"))

    record = inbound(sandbox, "cae173d2-66b9-564c-8309-21f858e9fb84")
    assert (record["outcome"], record["sender"], record["recipient"]) == ("acted", "+14255550182", "+12125550101")
    assert record["answers_message_id"] == "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    # a number propfee does not know: customer service gets the ticket, the sender an answer without account data
    [ticket] = FeedbackTable(sandbox.table.name, SHANGHAI).tickets("customer_service")
    assert (ticket.ticket_id, ticket.community_id) == (record["ticket_id"], "UNKNOWN")
    assert [to for _, to, _ in sandbox.sent_sms() if to == "+14255550182"] == ["+14255550182"]
    assert record["original"].startswith(f"s3://{sandbox.resources['InboundMailBucket']}/incoming/sms/")
    assert kept(sandbox, record["original"]) == payload.encode("utf-8")
    assert take_dead_letters(sandbox, "ReceiveFunctionDeadLetterQueue") == []


def sns_sample_with(message: str) -> dict:
    event = sample("snsEvent.json")
    event["Records"][0]["Sns"]["Message"] = message
    return event


def test_the_powertools_sns_sample_as_written_is_refused_and_with_a_reply_in_it_the_reply_is_acted_on(sandbox):
    sandbox.clock.set(at("2026-11-11 10:00"))

    sandbox.invoke("ReceiveFunction", sample("snsEvent.json"))  # "Hello from SNS!"
    assert take_dead_letters(sandbox, "ReceiveFunctionDeadLetterQueue") == [
        ("malformed inbound SMS: not JSON", "Hello from SNS!")
    ]

    reply = {**sample("two-way-sms-payload.json"), "originationNumber": OWNER, "messageBody": "退订"}
    sandbox.invoke("ReceiveFunction", sns_sample_with(json.dumps(reply)))
    record = inbound(sandbox, reply["inboundMessageId"])
    assert record["outcome"] == "acted" and record["classification"]["intent"] == "opt_out"
    [owner] = sandbox.table.get_unit("C01-B01-0101").owners
    assert owner.sms_opt_out and not owner.email_opt_out


def _sns_type_not_a_notification(record):
    record["Sns"]["Type"] = "SubscriptionConfirmation"


def _sns_without_message(record):
    del record["Sns"]["Message"]


def _sns_timestamp_not_a_time(record):
    record["Sns"]["Timestamp"] = "yesterday"


def _payload_number_not_text(record):
    payload = json.loads(record["Sns"]["Message"])
    record["Sns"]["Message"] = json.dumps({**payload, "originationNumber": 8613812345678})


def _payload_without_id(record):
    payload = json.loads(record["Sns"]["Message"])
    del payload["inboundMessageId"]
    record["Sns"]["Message"] = json.dumps(payload)


@pytest.mark.parametrize(
    ("spoil", "field"),
    [
        (_sns_type_not_a_notification, "malformed SNS notification: Sns.Type: Input should be 'Notification'"),
        (_sns_without_message, "malformed SNS notification: Sns.Message: Field required"),
        (_sns_timestamp_not_a_time, "malformed SNS notification: Sns.Timestamp: Input should be a valid datetime"),
        (_payload_number_not_text, "malformed inbound SMS: originationNumber: Input should be a valid string"),
        (_payload_without_id, "malformed inbound SMS: inboundMessageId: Field required"),
    ],
    ids=["not a notification", "no message", "timestamp", "number not text", "no message id"],
)
def test_a_malformed_notification_goes_to_the_dlq_with_its_field_and_the_next_one_is_acted_on(sandbox, spoil, field):
    sandbox.clock.set(at("2026-11-11 10:00"))
    first = {**sample("two-way-sms-payload.json"), "originationNumber": OWNER, "inboundMessageId": "in-spoilt"}
    second = {**first, "inboundMessageId": "in-good", "messageBody": "楼道灯坏了"}
    event = sns_sample_with(json.dumps(first))
    event["Records"].append(copy.deepcopy(sns_sample_with(json.dumps(second))["Records"][0]))
    spoil(event["Records"][0])

    sandbox.invoke("ReceiveFunction", event)

    [(reason, _body)] = take_dead_letters(sandbox, "ReceiveFunctionDeadLetterQueue")
    assert reason.startswith(field) and "13812345678" not in reason
    assert inbound(sandbox, "in-spoilt") is None
    assert inbound(sandbox, "in-good")["outcome"] == "acted"


def test_an_80000_character_sms_is_kept_whole_its_record_points_at_it_and_the_evidence_holds_it(
    sandbox, tmp_path, capsys
):
    words = ("楼上漏水三个月了没人修，" * 7000)[:80_000]
    fields = {**sample("two-way-sms-payload.json"), "originationNumber": OWNER, "messageBody": words}
    payload = json.dumps(fields, ensure_ascii=False)  # 240,000 bytes: within SNS's 256 KiB
    sandbox.client("sns").publish(TopicArn=sandbox.resources["InboundSmsTopic"], Message=payload)
    sandbox.advance(at("2026-11-11 08:30"))

    record = inbound(sandbox, "cae173d2-66b9-564c-8309-21f858e9fb84")
    assert (record["body"], record["body_chars"]) == (words[:2000], 80_000)  # classified on its first part
    assert record["classification"]["intent"] == "complaint"
    assert json.loads(kept(sandbox, record["original"]))["messageBody"] == words  # nothing lost
    assert kept(sandbox, record["original"]) == payload.encode("utf-8")

    assert cli.main(["evidence", "C01-B01-0101", "--out", str(tmp_path), "--table", sandbox.table.name]) == 0
    archive = zipfile.ZipFile(capsys.readouterr().out.strip())
    [row] = list(csv.DictReader(io.StringIO(archive.read("received.csv").decode("utf-8-sig"))))
    assert (row["chars"], row["original"]) == ("80000", "originals/cae173d2-66b9-564c-8309-21f858e9fb84.json")
    assert archive.read(row["original"]) == payload.encode("utf-8")
    assert row["original"] in json.loads(archive.read("manifest.json"))["files"]
    assert_calls_allowed(sandbox.function_calls)


# ---------------------------------------------------------------------------------------- S3: imports, feedback_mail


def s3_sample_for(bucket: str, key: str, name: str = "s3Event.json") -> dict:
    """An S3 sample, its bucket and (URL-encoded) key replaced by an object of the sandbox."""
    event = sample(name)
    for record in event["Records"]:
        record["s3"]["bucket"]["name"] = bucket
        record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"
        record["s3"]["object"]["key"] = key
    return event


def balances(estate):
    return {u: estate.table.get_unit(u).balance_fen for u in ("C01-B01-0101", "C01-B01-0102", "C01-B01-0103")}


def test_the_powertools_s3_sample_naming_an_uploaded_payments_file_applies_it(estate):
    bucket = estate.resources["ImportBucket"]
    estate.client("s3").put_object(Bucket=bucket, Key="incoming/payments/C01/2026-11-11.csv", Body=payments_file())

    totals = estate.invoke("ImportsFunction", s3_sample_for(bucket, "incoming/payments/C01/2026-11-11.csv"))

    assert (totals["rows_applied"], totals["rows_rejected"]) == (3, 4)
    assert balances(estate) == {"C01-B01-0101": 0, "C01-B01-0102": 0, "C01-B01-0103": 0}
    assert take_dead_letters(estate, "ImportsFunctionDeadLetterQueue") == []


def test_a_url_encoded_key_as_in_the_powertools_sample_is_read_decoded(estate):
    bucket = estate.resources["ImportBucket"]
    estate.client("s3").put_object(Bucket=bucket, Key="incoming/payments/C01/Happy Face.csv", Body=payments_file())
    event = s3_sample_for(bucket, "incoming/payments/C01/Happy%20Face.csv", "s3EventDecodedKey.json")

    assert estate.invoke("ImportsFunction", event)["rows_applied"] == 3
    results = estate.client("s3").get_object(Bucket=bucket, Key="results/incoming/payments/C01/Happy Face.csv.json")
    assert json.loads(results["Body"].read())["rows_applied"] == 3


def _s3_time_not_a_time(record):
    record["eventTime"] = "yesterday"


def _s3_without_object(record):
    del record["s3"]["object"]


def _s3_not_from_s3(record):
    record["eventSource"] = "aws:sqs"


def _s3_entity_not_a_map(record):
    record["s3"] = "incoming/payments/C01/2026-11-11.csv"


def _s3_deleted(record):
    record["eventName"] = "ObjectRemoved:Delete"


@pytest.mark.parametrize(
    ("spoil", "field"),
    [
        (_s3_time_not_a_time, "eventTime: Input should be a valid datetime"),
        (_s3_without_object, "s3.object: Field required"),
        (_s3_not_from_s3, "eventSource: Input should be 'aws:s3'"),
        (_s3_entity_not_a_map, "s3: Input should be a valid dictionary"),
        (_s3_deleted, "eventName: String should match pattern"),
    ],
    ids=["time", "no object", "not s3", "s3 not a map", "not a creation"],
)
def test_a_malformed_upload_record_goes_to_the_imports_dlq_and_the_next_file_is_applied(estate, spoil, field):
    bucket = estate.resources["ImportBucket"]
    estate.client("s3").put_object(Bucket=bucket, Key="incoming/payments/C01/2026-11-11.csv", Body=payments_file())
    event = s3_sample_for(bucket, "incoming/payments/C01/2026-11-11.csv")
    event["Records"].insert(0, copy.deepcopy(event["Records"][0]))
    spoil(event["Records"][0])

    totals = estate.invoke("ImportsFunction", event)

    assert (totals["records_rejected"], totals["rows_applied"]) == (1, 3)
    [(reason, _)] = take_dead_letters(estate, "ImportsFunctionDeadLetterQueue")
    assert reason.startswith("malformed S3 event") and field in reason


def mail(sender: str, subject: str, body: str) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "feedback@example.com", subject
    message.set_content(body)
    return message.as_bytes()


def test_the_powertools_s3_sample_naming_an_owners_mail_classifies_it_and_its_record_points_at_the_mail(sandbox):
    sandbox.clock.set(at("2026-11-11 10:00"))
    bucket, key = sandbox.resources["InboundMailBucket"], "incoming/mail/o3vrnpu5fgfpmpbg9dphkvdsq6h5tsc2"
    raw = mail("wang@example.net", "Re: 物业费", "小区垃圾三天没人清理，臭气熏天")
    sandbox.client("s3").put_object(Bucket=bucket, Key=key, Body=raw)
    event = s3_sample_for(bucket, key)
    event["Records"].append(copy.deepcopy(event["Records"][0]))
    _s3_without_object(event["Records"][1])

    outcomes = sandbox.invoke("FeedbackMailFunction", event)

    assert outcomes == {"acted": 1, "malformed": 1}
    record = inbound(sandbox, "o3vrnpu5fgfpmpbg9dphkvdsq6h5tsc2")
    assert record["classification"]["intent"] == "complaint" and record["unit_ids"]
    assert record["original"] == f"s3://{bucket}/{key}" and kept(sandbox, record["original"]) == raw
    [(reason, _)] = take_dead_letters(sandbox, "FeedbackMailFunctionDeadLetterQueue")
    assert reason == "malformed S3 event: s3.object: Field required"


# --------------------------------------------------------------------------------------- Function URL: report_links

MANAGER = "arn:aws:iam::123456789012:role/propfee-finance"
MANAGER_SESSION = "arn:aws:sts::123456789012:assumed-role/propfee-finance/desk"


@pytest.fixture()
def managed(tmp_path):
    rules = yaml.safe_load((ROOT / "shared" / "propfee" / "rules.yaml").read_text(encoding="utf-8"))
    rules["report_access"] = {
        "managers": [{"principal": MANAGER, "email": "finance@example.com", "communities": ["*"]}]
    }
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    with pytest.MonkeyPatch.context() as env, Sandbox(start=START) as sandbox:
        env.setenv("PROPFEE_RULES_FILE", str(rules_file))
        assert load_rules(rules_file).report_access.managers
        sandbox.client("s3").put_object(
            Bucket=sandbox.resources["ReportBucket"], Key="reports/2026-11-10/summary.json", Body=b"{}"
        )
        yield sandbox


def url_sample_for(caller: str, path: str, query: str = "") -> dict:
    event = sample("lambdaFunctionUrlIAMEvent.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = "GET"
    event["rawQueryString"] = query
    event["queryStringParameters"] = dict(p.split("=", 1) for p in query.split("&")) if query else None
    event["requestContext"]["authorizer"]["iam"]["userArn"] = caller
    return event


def test_the_powertools_function_url_iam_sample_is_answered_by_the_routes_and_a_manager_gets_links(managed):
    as_written = managed.invoke("ReportLinksFunction", sample("lambdaFunctionUrlIAMEvent.json"))
    assert as_written["statusCode"] == 404  # POST /my/path: no such route

    stranger = managed.invoke("ReportLinksFunction", url_sample_for(sample_user(), "/reports", "date=2026-11-10"))
    assert stranger["statusCode"] == 403

    listing = managed.invoke("ReportLinksFunction", url_sample_for(MANAGER_SESSION, "/reports", "date=2026-11-10"))
    assert listing["statusCode"] == 200
    assert [f["key"] for f in json.loads(listing["body"])["files"]] == ["reports/2026-11-10/summary.json"]


def sample_user() -> str:
    return sample("lambdaFunctionUrlIAMEvent.json")["requestContext"]["authorizer"]["iam"]["userArn"]


def test_the_powertools_function_url_sample_without_an_iam_identity_is_refused(managed):
    response = managed.invoke("ReportLinksFunction", sample("lambdaFunctionUrlEvent.json"))

    assert response["statusCode"] == 403
    assert json.loads(response["body"])["message"] == "the request is not signed with an IAM identity"


def _url_without_context(event):
    del event["requestContext"]


def _url_method_unknown(event):
    event["requestContext"]["http"]["method"] = "FETCH"


def _url_headers_not_a_map(event):
    event["headers"] = ["host"]


@pytest.mark.parametrize(
    ("spoil", "field"),
    [
        (_url_without_context, "requestContext: Field required"),
        (_url_method_unknown, "requestContext.http.method: Input should be 'DELETE'"),
        (_url_headers_not_a_map, "headers: Input should be a valid dictionary"),
    ],
    ids=["no request context", "method", "headers"],
)
def test_a_malformed_function_url_request_is_answered_400_with_its_field(managed, spoil, field):
    event = url_sample_for(MANAGER_SESSION, "/reports", "date=2026-11-10")
    spoil(event)

    response = managed.invoke("ReportLinksFunction", event)

    assert response["statusCode"] == 400
    assert json.loads(response["body"])["message"].startswith(f"malformed Function URL request: {field}")

"""The sandbox refuses what AWS refuses: for each rule moto does not check, a plain boto3 client on a moto server
with the sandbox's patches gets AWS's documented error, and the boundary AWS allows still passes. The rules and
their sources are in propfee.local.sandbox.aws_rules."""

import itertools
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError
from botocore.stub import Stubber
from moto.server import ThreadedMotoServer

from propfee.aws.messaging import EndUserMessagingSms, SnsSms
from propfee.domain.ports import ProviderRejected
from propfee.local.sandbox import aws_rules, moto_patches

PHONE = "+8613812345678"
MiB = 1_048_576
_names = itertools.count()


@pytest.fixture(scope="module")
def endpoint():
    moto_patches.install()
    aws_rules.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(endpoint):
    def make(service):
        return boto3.client(service, endpoint_url=endpoint, config=Config(retries={"max_attempts": 1}))

    yield make
    reset = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset)


def refused(call, code, status=400):
    with pytest.raises(ClientError) as raised:
        call()
    error = raised.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (code, status), error["Error"]
    return error["Error"]["Message"]


# ------------------------------------------------------------------ SNS Publish to a phone number
def test_sns_refuses_a_phone_number_without_the_plus_of_e164(aws):
    sns = aws("sns")
    message = refused(lambda: sns.publish(PhoneNumber="8613812345678", Message="hi"), "InvalidParameter")
    assert "PhoneNumber" in message and "8613812345678" not in message  # the number is not echoed
    sns.publish(PhoneNumber="+861381234567890", Message="hi")  # 15 digits: the most E.164 allows


def test_sns_refuses_an_sms_type_other_than_promotional_or_transactional(aws):
    sns = aws("sns")

    def publish(kind):
        return sns.publish(
            PhoneNumber=PHONE,
            Message="hi",
            MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": kind}},
        )

    refused(lambda: publish("Urgent"), "ParameterValueInvalid")
    publish("Transactional")
    publish("Promotional")


@pytest.mark.parametrize("sender_id", ["PROPFEE-CO", "12345", "PROPFEEABCDE", ""])
def test_sns_refuses_a_sender_id_that_is_not_1_to_11_alphanumerics_with_a_letter(aws, sender_id):
    sns = aws("sns")
    attributes = {"AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": sender_id}}
    refused(lambda: sns.publish(PhoneNumber=PHONE, Message="hi", MessageAttributes=attributes), "ParameterValueInvalid")


def test_sns_takes_an_eleven_character_sender_id(aws):
    attributes = {"AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": "PROPFEE2026"}}
    aws("sns").publish(PhoneNumber=PHONE, Message="hi", MessageAttributes=attributes)


@pytest.mark.parametrize("name", ["a b", ".start", "end.", "two..dots", "AWS.custom", "amazon.custom", "n" * 257])
def test_sns_refuses_message_attribute_names_aws_does_not_allow(aws, name):
    sns = aws("sns")
    attributes = {name: {"DataType": "String", "StringValue": "v"}}
    refused(lambda: sns.publish(PhoneNumber=PHONE, Message="hi", MessageAttributes=attributes), "ParameterValueInvalid")


def test_sns_takes_a_256_character_attribute_name_with_single_periods(aws):
    attributes = {"propfee.claim_" + "n" * 242: {"DataType": "String", "StringValue": "v"}}
    aws("sns").publish(PhoneNumber=PHONE, Message="hi", MessageAttributes=attributes)


def test_sns_refuses_an_attribute_without_a_value_and_a_number_that_is_not_one(aws):
    sns = aws("sns")
    empty = {"a": {"DataType": "String"}}
    refused(lambda: sns.publish(PhoneNumber=PHONE, Message="hi", MessageAttributes=empty), "ParameterValueInvalid")
    not_a_number = {"a": {"DataType": "Number", "StringValue": "twelve"}}
    refused(
        lambda: sns.publish(PhoneNumber=PHONE, Message="hi", MessageAttributes=not_a_number), "ParameterValueInvalid"
    )
    sns.publish(PhoneNumber=PHONE, Message="hi", MessageAttributes={"a": {"DataType": "Number", "StringValue": "-1.5"}})


def test_sns_counts_a_topic_message_in_utf8_bytes_with_its_attributes(aws):
    sns = aws("sns")
    topic = sns.create_topic(Name=f"rules-{next(_names)}")["TopicArn"]
    attributes = {"kind": {"DataType": "String", "StringValue": "sms"}}
    body = "a" * (262_144 - len("kind") - len("String") - len("sms"))
    sns.publish(TopicArn=topic, Message=body, MessageAttributes=attributes)  # exactly 256 KiB
    message = refused(
        lambda: sns.publish(TopicArn=topic, Message=body + "a", MessageAttributes=attributes), "InvalidParameter"
    )
    assert message == "Invalid parameter: Message too long"
    refused(lambda: sns.publish(TopicArn=topic, Message="复" * (262_144 // 3 + 1)), "InvalidParameter")
    bad_name = {"AWS.custom": {"DataType": "String", "StringValue": "v"}}
    refused(lambda: sns.publish(TopicArn=topic, Message="x", MessageAttributes=bad_name), "ParameterValueInvalid")


# ------------------------------------------------------------------ End User Messaging SMS (not in moto: on the client)
@pytest.fixture
def eum():
    client = aws_rules.check_client(boto3.client("pinpoint-sms-voice-v2", region_name="ap-northeast-1"))
    with Stubber(client) as stubber:
        yield client, stubber


def _send(client, **overrides):
    request = {
        "DestinationPhoneNumber": PHONE,
        "OriginationIdentity": "propfee-sender",
        "MessageBody": "您好",
        "MessageType": "TRANSACTIONAL",
        **overrides,
    }
    return client.send_text_message(**request)


@pytest.mark.parametrize(
    ("field", "value", "constraint"),
    [
        ("DestinationPhoneNumber", "+86-138-1234-5678", "regular expression pattern"),
        ("DestinationPhoneNumber", "+" + "1" * 20, "length less than or equal to 20"),
        ("MessageBody", "字" * 1601, "length less than or equal to 1600"),
        ("MessageBody", "   ", "regular expression pattern"),
        ("MessageType", "URGENT", "enum value set"),
        ("ConfigurationSetName", "propfee events", "regular expression pattern"),
        ("Context", {f"k{i}": "v" for i in range(6)}, "length less than or equal to 5"),
        ("Context", {"claim": "x" * 801}, "length less than or equal to 800"),
        ("Context", {"claim id": "x"}, "regular expression pattern"),
        ("Context", {"claim": " padded "}, "regular expression pattern"),
    ],
)
def test_end_user_messaging_refuses_what_send_text_message_refuses(eum, field, value, constraint):
    client, _stubber = eum
    message = refused(lambda: _send(client, **{field: value}), "ValidationException")
    assert constraint in message
    assert str(value) not in message  # neither number nor text is echoed


def test_end_user_messaging_takes_the_largest_request_its_reference_allows(eum):
    client, stubber = eum
    request = {
        "DestinationPhoneNumber": "+" + "1" * 19,
        "OriginationIdentity": "propfee-sender",
        "MessageBody": "字" * 1600,
        "MessageType": "PROMOTIONAL",
        "Context": {f"k{i}": "x" * 800 for i in range(5)},
    }
    stubber.add_response("send_text_message", {"MessageId": "eum-1"}, request)
    assert client.send_text_message(**request)["MessageId"] == "eum-1"


def test_the_adapter_classifies_a_request_end_user_messaging_refuses_as_permanent(eum):
    client, _stubber = eum
    with pytest.raises(ProviderRejected):
        EndUserMessagingSms("propfee-sender", "propfee-events", client).send_sms("+86 138 1234 5678", "hi")


# ------------------------------------------------------------------ SQS
@pytest.fixture
def queue(aws):
    sqs = aws("sqs")
    return sqs, sqs.create_queue(QueueName=f"rules-{next(_names)}")["QueueUrl"]


def test_sqs_counts_a_message_in_utf8_bytes_with_its_attributes(queue):
    sqs, url = queue
    attribute = {"reason": {"DataType": "String", "StringValue": "x" * 100}}
    attribute_bytes = len("reason") + len("String") + 100
    body = "a" * (MiB - attribute_bytes)
    sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attribute)  # exactly 1 MiB
    refused(
        lambda: sqs.send_message(QueueUrl=url, MessageBody=body + "a", MessageAttributes=attribute),
        "InvalidParameterValue",
    )
    refused(lambda: sqs.send_message(QueueUrl=url, MessageBody="欠" * (MiB // 3 + 1)), "InvalidParameterValue")


def test_sqs_takes_ten_message_attributes_and_refuses_eleven(queue):
    sqs, url = queue
    attributes = {f"a{i}": {"DataType": "String", "StringValue": "v"} for i in range(11)}
    refused(
        lambda: sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes=attributes), "InvalidParameterValue"
    )
    attributes.pop("a10")
    sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes=attributes)


@pytest.mark.parametrize("name", ["AWS.trace", "Amazon.x", "amazon.x", ".a", "a.", "a..b", "n" * 257])
def test_sqs_refuses_attribute_names_aws_reserves_or_does_not_allow(queue, name):
    sqs, url = queue
    attributes = {name: {"DataType": "String", "StringValue": "v"}}
    refused(
        lambda: sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes=attributes), "InvalidParameterValue"
    )


def test_sqs_takes_a_256_character_name_a_custom_type_and_a_number(queue):
    sqs, url = queue
    attributes = {
        "n" * 256: {"DataType": "String.department", "StringValue": "finance"},
        "amount.fen": {"DataType": "Number", "StringValue": "-12.50"},
    }
    sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes=attributes)


@pytest.mark.parametrize(
    "value",
    [
        {"DataType": "String", "StringValue": ""},
        {"DataType": "Number", "StringValue": "12 fen"},
        {"DataType": "Number", "StringValue": "1" * 39},
    ],
)
def test_sqs_refuses_an_empty_value_and_a_number_that_is_not_one(queue, value):
    sqs, url = queue
    refused(
        lambda: sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes={"a": value}), "InvalidParameterValue"
    )


def test_sqs_refuses_a_negative_delay(queue):
    sqs, url = queue
    refused(lambda: sqs.send_message(QueueUrl=url, MessageBody="x", DelaySeconds=-1), "InvalidParameterValue")
    sqs.send_message(QueueUrl=url, MessageBody="x", DelaySeconds=0)


def test_sqs_refuses_a_batch_over_1_mib_in_bytes(queue):
    sqs, url = queue
    quarter = "欠" * (MiB // 4 // 3)  # a quarter MiB in UTF-8, a twelfth in characters
    entries = [{"Id": str(i), "MessageBody": quarter} for i in range(4)]
    sqs.send_message_batch(QueueUrl=url, Entries=entries)
    entries[0]["MessageBody"] += "欠" * 2
    refused(lambda: sqs.send_message_batch(QueueUrl=url, Entries=entries), "AWS.SimpleQueueService.BatchRequestTooLong")


def test_an_entry_sqs_refuses_fails_alone_in_its_batch(queue):
    sqs, url = queue
    bad = {"Id": "bad", "MessageBody": "x", "MessageAttributes": {"AWS.x": {"DataType": "String", "StringValue": "v"}}}
    response = sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "good", "MessageBody": "x"}, bad])
    assert [s["Id"] for s in response["Successful"]] == ["good"]
    assert [(f["Id"], f["SenderFault"], f["Code"]) for f in response["Failed"]] == [
        ("bad", True, "InvalidParameterValue")
    ]


# ------------------------------------------------------------------ DynamoDB
@pytest.fixture
def table(aws):
    db = aws("dynamodb")
    name = f"rules-{next(_names)}"
    db.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return db, name


def _item(n):
    return {"pk": {"S": "UNIT#1"}, "sk": {"S": f"EV#{n:03d}"}}


def test_dynamodb_batch_write_takes_25_requests_and_refuses_26(table):
    db, name = table
    db.batch_write_item(RequestItems={name: [{"PutRequest": {"Item": _item(n)}} for n in range(25)]})
    message = refused(
        lambda: db.batch_write_item(RequestItems={name: [{"PutRequest": {"Item": _item(n)}} for n in range(26)]}),
        "ValidationException",
    )
    assert "less than or equal to 25" in message


def test_dynamodb_batch_write_counts_the_requests_of_all_tables(aws, table):
    db, name = table
    other = f"rules-{next(_names)}"
    db.create_table(
        TableName=other,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    requests = {
        name: [{"PutRequest": {"Item": _item(n)}} for n in range(13)],
        other: [
            {"PutRequest": {"Item": _item(100 + n)}} for n in range(13)
        ],  # moto wrongly refuses one key in two tables
    }
    refused(lambda: db.batch_write_item(RequestItems=requests), "ValidationException")
    requests[other].pop()
    db.batch_write_item(RequestItems=requests)


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (
            {"UpdateExpression": "SET #status = :s", "ExpressionAttributeValues": {":s": {"S": "sent"}}},
            "Invalid UpdateExpression: An expression attribute name used in the document path is not defined; "
            "attribute name: #status",
        ),
        (
            {"UpdateExpression": "REMOVE #gone"},
            "Invalid UpdateExpression: An expression attribute name used in the document path is not defined; "
            "attribute name: #gone",
        ),
        (
            {
                "UpdateExpression": "SET a = :a",
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":a": {"N": "1"}},
            },
            "Invalid ConditionExpression: An expression attribute value used in expression is not defined; "
            "attribute value: :v",
        ),
    ],
)
def test_dynamodb_refuses_an_undefined_expression_attribute_name_or_value(table, request_, message):
    db, name = table
    assert refused(lambda: db.update_item(TableName=name, Key=_item(1), **request_), "ValidationException") == message


def test_dynamodb_refuses_an_undefined_name_in_a_filter_and_in_a_transaction(table):
    db, name = table
    refused(
        lambda: db.query(
            TableName=name,
            KeyConditionExpression="pk = :pk",
            FilterExpression="#kind = :pk",
            ExpressionAttributeValues={":pk": {"S": "UNIT#1"}},
        ),
        "ValidationException",
    )
    condition = {"TableName": name, "Item": _item(2), "ConditionExpression": "attribute_not_exists(#pk)"}
    refused(lambda: db.transact_write_items(TransactItems=[{"Put": condition}]), "ValidationException")
    condition["ExpressionAttributeNames"] = {"#pk": "pk"}
    db.transact_write_items(TransactItems=[{"Put": condition}])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"SS": ["sms_d1", "sms_d1"]}, "Input collection [sms_d1, sms_d1] contains duplicates."),
        ({"NS": ["1", "1.0"]}, "contains duplicates"),
        ({"N": "1" * 39}, "more than 38 significant digits"),
        ({"N": "1E+126"}, "Number overflow"),
        ({"N": "1E-131"}, "Number underflow"),
        ({"M": {"steps": {"L": [{"N": "-1E+126"}]}}}, "Number overflow"),
    ],
)
def test_dynamodb_refuses_a_set_with_duplicates_and_a_number_out_of_its_range(table, value, message):
    db, name = table
    assert message in refused(lambda: db.put_item(TableName=name, Item={**_item(1), "v": value}), "ValidationException")
    refused(
        lambda: db.update_item(
            TableName=name, Key=_item(1), UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": value}
        ),
        "ValidationException",
    )


def test_dynamodb_takes_38_digits_and_the_ends_of_its_range(table):
    db, name = table
    item = {
        **_item(1),
        "digits": {"N": "1" * 38},
        "trailing_zeros": {"N": "1" + "0" * 100},  # one significant digit
        "largest": {"N": "9.9999999999999999999999999999999999999E+125"},
        "smallest": {"N": "-1E-130"},
        "steps": {"SS": ["sms_d1", "sms_d3"]},
    }
    db.put_item(TableName=name, Item=item)


def test_dynamodb_refuses_an_expression_over_4_kb(table):
    db, name = table

    def update(size):  # one long attribute name: moto's parser overflows on a few hundred clauses
        expression = "SET " + "a" * (size - len("SET  = :a")) + " = :a"
        assert len(expression) == size
        return db.update_item(
            TableName=name, Key=_item(1), UpdateExpression=expression, ExpressionAttributeValues={":a": {"N": "1"}}
        )

    update(4096)
    assert "Expression size has exceeded" in refused(lambda: update(4097), "ValidationException")


def _put(name, n, size=0):
    return {"Put": {"TableName": name, "Item": {**_item(n), "blob": {"S": "x" * size}}}}


def test_dynamodb_transaction_takes_100_actions_and_refuses_101_or_two_on_one_item(table):
    db, name = table
    db.transact_write_items(TransactItems=[_put(name, n) for n in range(100)])
    refused(lambda: db.transact_write_items(TransactItems=[_put(name, n) for n in range(101)]), "ValidationException")
    update = {"TableName": name, "Key": _item(1), "UpdateExpression": "ADD n :one",
              "ExpressionAttributeValues": {":one": {"N": "1"}}}  # fmt: skip
    twice = [_put(name, 1), {"Update": update}]
    assert "multiple operations on one item" in refused(
        lambda: db.transact_write_items(TransactItems=twice), "ValidationException"
    )


def test_dynamodb_transaction_refuses_more_than_4_mb_of_items(table):
    db, name = table
    db.transact_write_items(TransactItems=[_put(name, n, 380_000) for n in range(11)])  # 4.0 MB less a little
    message = refused(
        lambda: db.transact_write_items(TransactItems=[_put(name, n, 380_000) for n in range(12)]),
        "ValidationException",
    )
    assert message == "Transaction request cannot be larger than 4 MB"


# ------------------------------------------------------------------ S3
def test_s3_takes_a_1024_byte_key_and_refuses_1025_bytes_of_utf8(aws):
    s3 = aws("s3")
    bucket = f"rules-{next(_names)}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    s3.put_object(Bucket=bucket, Key="r" * 1024, Body=b"x")
    s3.put_object(Bucket=bucket, Key="报" * 341 + "r", Body=b"x")  # 1,024 bytes in 342 characters
    refused(lambda: s3.put_object(Bucket=bucket, Key="报" * 342, Body=b"x"), "KeyTooLongError")
    refused(lambda: s3.get_object(Bucket=bucket, Key="r" * 1025), "KeyTooLongError")
    refused(
        lambda: s3.copy_object(Bucket=bucket, Key="r" * 1025, CopySource={"Bucket": bucket, "Key": "r" * 1024}),
        "KeyTooLongError",
    )


# ------------------------------------------------------------------ EventBridge Scheduler
def _schedule(scheduler, name):
    return scheduler.create_schedule(
        Name=name,
        ScheduleExpression="cron(0 9 * * ? *)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": "arn:aws:lambda:ap-northeast-1:123456789012:function:plan",
            "RoleArn": "arn:aws:iam::123456789012:role/scheduler",
        },
    )


@pytest.mark.parametrize(("name", "constraint"), [("s" * 65, "64"), ("daily plan", "pattern"), ("日报", "pattern")])
def test_scheduler_refuses_a_schedule_name_over_64_characters_or_outside_its_pattern(aws, name, constraint):
    message = refused(lambda: _schedule(aws("scheduler"), name), "ValidationException")
    assert constraint in message


def test_scheduler_takes_a_64_character_name_of_letters_digits_and_dot_dash_underscore(aws):
    _schedule(aws("scheduler"), ("propfee.daily-plan_" + "0" * 64)[:64])


def test_the_sandbox_checks_the_template_schedule_names_by_the_same_rule():
    assert aws_rules.schedule_name_problem("propfee-daily-plan") is None
    assert "pattern" in aws_rules.schedule_name_problem("propfee daily plan")


# ------------------------------------------------------------------ Lambda Invoke (asynchronous)
def test_lambda_refuses_an_asynchronous_payload_over_1_mb(aws):
    lam = aws("lambda")
    payload = b'{"p":"' + b"x" * (MiB - 7) + b'"}'
    message = refused(
        lambda: lam.invoke(FunctionName="plan", InvocationType="Event", Payload=payload),
        "RequestTooLargeException",
        status=413,
    )
    assert str(MiB) in message
    assert not aws_rules.async_payload_too_large(payload[:-1])  # exactly 1 MiB passes


def test_propfee_treats_a_sender_id_sns_refuses_as_permanent_not_as_an_outage(aws):
    sms = SnsSms(sender_id="PROPFEE-CO", sns=aws("sns"))  # a hyphen: SNS answers ParameterValueInvalid
    with pytest.raises(ProviderRejected):
        sms.send_sms(PHONE, "您好")
    assert SnsSms(sender_id="PROPFEE", sns=aws("sns")).send_sms(PHONE, "您好")


def test_a_value_of_the_wrong_type_is_still_refused_by_botocore_itself():
    client = aws_rules.check_client(boto3.client("pinpoint-sms-voice-v2", region_name="ap-northeast-1"))
    with pytest.raises(ParamValidationError):  # before anything is sent
        _send(client, MessageBody=1600)

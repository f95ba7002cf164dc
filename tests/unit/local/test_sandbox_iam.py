"""The sandbox's check of a function's table calls against its role, as IAM evaluates them (sandbox.iam)."""

import pytest

from propfee.local.sandbox.iam import TableRequest, is_allowed, policy_document, refuse, table_requests

TABLE = "arn:aws:dynamodb:ap-northeast-1:123456789012:table/propfee"


def arn(name):
    return f"arn:aws:dynamodb:ap-northeast-1:123456789012:table/{name}"


def key(pk, sk="X"):
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def bounded(actions, *patterns, resource=TABLE):
    return {
        "Effect": "Allow",
        "Action": actions,
        "Resource": resource,
        "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": list(patterns)}},
    }


def test_each_item_of_a_transaction_is_authorized_as_its_own_action_with_its_partition_key():
    params = {
        "TransactItems": [
            {"Update": {"TableName": "propfee", "Key": key("UNIT#U1", "UNIT"), "UpdateExpression": "SET a = :a"}},
            {"Put": {"TableName": "propfee", "Item": key("EVIDENCE#U1", "REMINDER#sms_d1#1")}},
            {"Delete": {"TableName": "propfee", "Key": key("EVIDENCE#U1", "REMINDER#sms_d1#0")}},
            {"ConditionCheck": {"TableName": "propfee", "Key": key("COLLECTORS"), "ConditionExpression": "x"}},
        ]
    }
    assert table_requests("TransactWriteItems", params, arn) == [
        TableRequest("dynamodb:UpdateItem", TABLE, ("UNIT#U1",)),
        TableRequest("dynamodb:PutItem", TABLE, ("EVIDENCE#U1",)),
        TableRequest("dynamodb:DeleteItem", TABLE, ("EVIDENCE#U1",)),
        TableRequest("dynamodb:ConditionCheckItem", TABLE, ("COLLECTORS",)),
    ]


def test_leading_keys_bound_every_item_of_a_batch_and_a_query_is_checked_on_its_index():
    role = [bounded(["dynamodb:BatchWriteItem"], "EVIDENCE#*", "MSG#*")]
    batch = {"RequestItems": {"propfee": [{"PutRequest": {"Item": key("EVIDENCE#U1")}}]}}
    [request] = table_requests("BatchWriteItem", batch, arn)
    assert is_allowed(role, request)
    batch["RequestItems"]["propfee"].append({"DeleteRequest": {"Key": key("UNIT#U1")}})
    [request] = table_requests("BatchWriteItem", batch, arn)
    assert request.leading_keys == ("EVIDENCE#U1", "UNIT#U1") and not is_allowed(role, request)

    query = {"TableName": "propfee", "IndexName": "inbox", "KeyConditionExpression": "inbox_pk = :pk"}
    query["ExpressionAttributeValues"] = {":pk": {"S": "TICKETS#finance#open"}}
    [request] = table_requests("Query", query, arn)
    assert request == TableRequest("dynamodb:Query", f"{TABLE}/index/inbox", ("TICKETS#finance#open",))
    on_table = [{"Effect": "Allow", "Action": ["dynamodb:Query"], "Resource": TABLE}]
    assert not is_allowed(on_table, request)  # the index is a resource of its own
    assert is_allowed([{**on_table[0], "Resource": f"{TABLE}/index/*"}], request)


def test_a_statement_applies_only_to_its_actions_its_table_and_its_partitions_and_a_deny_wins():
    put_unit = TableRequest("dynamodb:PutItem", TABLE, ("UNIT#U1",))
    assert is_allowed([bounded(["dynamodb:PutItem"], "UNIT#*")], put_unit)
    assert not is_allowed([bounded(["dynamodb:PutItem"], "EVIDENCE#*")], put_unit)
    assert not is_allowed([bounded(["dynamodb:UpdateItem"], "UNIT#*")], put_unit)
    assert not is_allowed([bounded(["dynamodb:PutItem"], "UNIT#*", resource=arn("other"))], put_unit)
    assert is_allowed([{"Effect": "Allow", "Action": "dynamodb:*", "Resource": TABLE}], put_unit)
    deny = {"Effect": "Deny", "Action": ["dynamodb:PutItem"], "Resource": "*"}
    assert not is_allowed([{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}, deny], put_unit)
    # statements of other services are not this check's business
    assert not is_allowed([{"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": "*"}], put_unit)


def test_a_condition_it_cannot_evaluate_is_refused_loudly_not_guessed():
    statement = {**bounded(["dynamodb:PutItem"]), "Condition": {"StringEquals": {"dynamodb:Attributes": ["a"]}}}
    with pytest.raises(NotImplementedError, match="dynamodb:Attributes"):
        is_allowed([statement], TableRequest("dynamodb:PutItem", TABLE, ("UNIT#U1",)))


def test_a_policy_stored_by_motos_cloudformation_reads_as_the_json_iam_holds():
    # moto keeps a template's inline policy as the mapping's repr, with None where an Fn::If gave AWS::NoValue
    stored = str({"Version": "2012-10-17", "Statement": [bounded(["dynamodb:PutItem"], "UNIT#*"), None]})
    assert policy_document(stored) == {"Version": "2012-10-17", "Statement": [bounded(["dynamodb:PutItem"], "UNIT#*")]}
    assert policy_document('{"Statement": {"Effect": "Allow"}}') == {"Statement": [{"Effect": "Allow"}]}


def test_the_refusal_is_the_error_aws_gives():
    error = refuse("PutItem", "arn:aws:sts::1:assumed-role/r/f", TableRequest("dynamodb:PutItem", TABLE, ("A#1",)))
    assert error.response["Error"]["Code"] == "AccessDeniedException"
    assert "is not authorized to perform: dynamodb:PutItem on resource: " + TABLE in str(error)

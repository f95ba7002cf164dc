"""What IAM would refuse that moto does not check: a function's DynamoDB calls outside its own role.

Measured on moto 5.2.5 (README, "IAM in the sandbox"): with its IAM enforcement on, moto matches a role's actions, and
resources only for SQS, S3, IAM and STS; every DynamoDB request is matched as resource "*" (a statement naming the
table never allows it), no condition key is evaluated (dynamodb:LeadingKeys passes whatever it names), and
TransactWriteItems is checked as an action of its own, which AWS does not have. So the sandbox checks each call a
function makes to the table against that function's role as deployed, the way AWS documents it: the table or index
ARN as the resource, the partition keys of the request as dynamodb:LeadingKeys, each item of a transaction as its
PutItem, UpdateItem, DeleteItem or ConditionCheckItem. A call outside the role fails as in AWS, with
AccessDeniedException.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from botocore.exceptions import ClientError

TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
# the condition operators on dynamodb:LeadingKeys this check evaluates; any other condition on a DynamoDB statement
# is refused loudly rather than guessed
_SET_OPERATORS = {
    "ForAllValues:StringLike",
    "ForAllValues:StringEquals",
    "ForAnyValue:StringLike",
    "ForAnyValue:StringEquals",
}
_PARTITION_KEY = "pk"


@dataclass(frozen=True)
class TableRequest:
    """One authorization AWS makes for a DynamoDB call: an action on a resource, with the request's partition keys."""

    action: str
    resource: str
    leading_keys: tuple[str, ...]


def policy_document(stored: Any) -> dict[str, Any]:
    """A role policy as moto returns it. moto's CloudFormation stores an inline policy given as a mapping as that
    mapping's Python repr, with None where an Fn::If gave AWS::NoValue; IAM holds JSON without those."""
    if isinstance(stored, dict):
        document = stored
    else:
        try:
            document = json.loads(stored)
        except ValueError:
            document = ast.literal_eval(stored)  # a literal only: moto's repr of the template's own mapping
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    return {**document, "Statement": [s for s in statements if s]}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _partition_keys(keys: Iterable[dict[str, Any]]) -> tuple[str, ...]:
    return tuple(str(next(iter(key[_PARTITION_KEY].values()))) for key in keys if _PARTITION_KEY in key)


def _query_partition(params: dict[str, Any]) -> tuple[str, ...]:
    match = re.match(r"\s*#?\w+\s*=\s*(:\w+)", str(params.get("KeyConditionExpression", "")))
    if match is None:
        return ()
    value = params.get("ExpressionAttributeValues", {}).get(match.group(1), {})
    return tuple(str(v) for v in value.values())


def table_requests(operation: str, params: dict[str, Any], table_arn: Any) -> list[TableRequest]:
    """What AWS authorizes for one DynamoDB call. `table_arn` maps a TableName to its ARN."""
    if operation in {"GetItem", "DeleteItem", "UpdateItem"}:
        return [TableRequest(f"dynamodb:{operation}", table_arn(params["TableName"]), _partition_keys([params["Key"]]))]
    if operation == "PutItem":
        return [TableRequest("dynamodb:PutItem", table_arn(params["TableName"]), _partition_keys([params["Item"]]))]
    if operation in {"Query", "Scan"}:
        resource = table_arn(params["TableName"])
        if params.get("IndexName"):
            resource = f"{resource}/index/{params['IndexName']}"
        keys = _query_partition(params) if operation == "Query" else ()
        return [TableRequest(f"dynamodb:{operation}", resource, keys)]
    if operation == "BatchWriteItem":
        return [
            TableRequest(
                "dynamodb:BatchWriteItem",
                table_arn(table),
                _partition_keys(
                    r["PutRequest"]["Item"] if "PutRequest" in r else r["DeleteRequest"]["Key"] for r in requests
                ),
            )
            for table, requests in params["RequestItems"].items()
        ]
    if operation == "BatchGetItem":
        return [
            TableRequest("dynamodb:BatchGetItem", table_arn(table), _partition_keys(spec["Keys"]))
            for table, spec in params["RequestItems"].items()
        ]
    if operation in {"TransactWriteItems", "TransactGetItems"}:
        found = []
        for entry in params["TransactItems"]:
            [(kind, item)] = entry.items()
            action = "GetItem" if kind == "Get" else TRANSACT_ACTIONS[kind]
            key = item.get("Key") or item.get("Item") or {}
            found.append(TableRequest(f"dynamodb:{action}", table_arn(item["TableName"]), _partition_keys([key])))
        return found
    table = params.get("TableName")
    return [TableRequest(f"dynamodb:{operation}", table_arn(table) if table else "*", ())]


def _condition_holds(condition: dict[str, Any], request: TableRequest) -> bool:
    for operator, entries in condition.items():
        for key, expected in entries.items():
            if key != "dynamodb:LeadingKeys" or operator not in _SET_OPERATORS:
                raise NotImplementedError(f"the sandbox does not evaluate {operator} on {key}")
            patterns = _as_list(expected)

            def matches(value: str, patterns: list[str] = patterns, like: bool = operator.endswith("Like")) -> bool:
                return any(fnmatchcase(value, p) if like else value == p for p in patterns)

            values = request.leading_keys
            holds = (
                all(matches(v) for v in values) if operator.startswith("ForAllValues") else any(map(matches, values))
            )
            if not holds:
                return False
    return True


def _applies(statement: dict[str, Any], request: TableRequest) -> bool:
    actions = [a.lower() for a in _as_list(statement.get("Action", []))]
    if not any(fnmatchcase(request.action.lower(), a) for a in actions):
        return False
    if not any(fnmatchcase(request.resource, r) for r in _as_list(statement.get("Resource", []))):
        return False
    return _condition_holds(statement.get("Condition", {}), request)


def is_allowed(statements: list[dict[str, Any]], request: TableRequest) -> bool:
    """An explicit Deny wins; else an Allow must apply (identity-based policies of one role, as IAM evaluates)."""
    dynamodb = [
        s for s in statements if any(str(a).lower().startswith(("dynamodb:", "*")) for a in _as_list(s["Action"]))
    ]
    if any(s["Effect"] == "Deny" and _applies(s, request) for s in dynamodb):
        return False
    return any(s["Effect"] == "Allow" and _applies(s, request) for s in dynamodb)


def refuse(operation: str, role_arn: str, request: TableRequest) -> ClientError:
    """The error AWS gives (AccessDeniedException, HTTP 400) when no statement of the caller's role allows a call."""
    message = (
        f"User: {role_arn} is not authorized to perform: {request.action} on resource: {request.resource} "
        f"because no identity-based policy allows the {request.action} action"
        f" (dynamodb:LeadingKeys {list(request.leading_keys)})"
    )
    response: Any = {
        "Error": {"Code": "AccessDeniedException", "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }
    return ClientError(response, operation)


__all__ = ["TableRequest", "is_allowed", "policy_document", "refuse", "table_requests"]

"""DynamoDB: BatchWriteItem's 25 requests, expression attribute names and values defined, expression sizes,
numbers (precision and range) and sets without duplicates."""

from __future__ import annotations

import functools
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from propfee.local.sandbox.aws_rules.common import significant_digits

# DynamoDB API reference, BatchWriteItem: "up to 25 item put or delete operations" (moto takes any number)
DYNAMODB_BATCH_WRITE_LIMIT = 25
# DynamoDB API reference, TransactWriteItems: "The aggregate size of the items in the transaction cannot exceed
# 4 MB" (ValidationException "Transaction request cannot be larger than 4 MB"); moto takes any size
DYNAMODB_TRANSACTION_MAX_BYTES = 4 * 1024 * 1024
_EXPRESSIONS = (
    "UpdateExpression",
    "ConditionExpression",
    "KeyConditionExpression",
    "FilterExpression",
    "ProjectionExpression",
)
_NAME_TOKEN = re.compile(r"#[A-Za-z0-9_]+")
_VALUE_TOKEN = re.compile(r":[A-Za-z0-9_]+")


def expression_problem(request: dict[str, Any]) -> str | None:
    """DynamoDB Developer Guide, "Expression attribute names" and "values": every #name and :value an expression
    uses must be defined in ExpressionAttributeNames / ExpressionAttributeValues. moto answers an undefined one with
    a 500 (a crash), which a caller would retry as a server error; DynamoDB refuses it with a ValidationException."""
    names = request.get("ExpressionAttributeNames") or {}
    values = request.get("ExpressionAttributeValues") or {}
    for kind in _EXPRESSIONS:
        expression = request.get(kind)
        if not expression:
            continue
        for token in _NAME_TOKEN.findall(expression):
            if token not in names:
                return (
                    f"Invalid {kind}: An expression attribute name used in the document path is not defined; "
                    f"attribute name: {token}"
                )
        for token in _VALUE_TOKEN.findall(expression):
            if token not in values:
                return (
                    f"Invalid {kind}: An expression attribute value used in expression is not defined; "
                    f"attribute value: {token}"
                )
    return None


# DynamoDB Developer Guide, "Service, account, and table quotas", Expression parameters: "The maximum length of any
# expression string is 4 KB" (moto's parser overflows its stack on long ones: a 500)
DYNAMODB_MAX_EXPRESSION_BYTES = 4096
# DynamoDB Developer Guide, "Supported data types and naming rules": numbers have "up to 38 digits of precision",
# positive and negative range 1E-130 to 9.9999999999999999999999999999999999999E+125; each value within a set must
# be unique (moto takes duplicates and any number)
_MAX_NUMBER = Decimal("9.9999999999999999999999999999999999999E+125")
_MIN_NUMBER = Decimal("1E-130")


def _number_problem(text: str) -> str | None:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None  # moto refuses what is not a number
    if not number.is_finite() or number == 0:
        return None
    if significant_digits(number) > 38:
        return "Attempting to store more than 38 significant digits in a Number"
    if number.copy_abs() > _MAX_NUMBER:  # copy_abs: exact (abs() would round to 28 digits)
        return "Number overflow. Attempting to store a number with magnitude larger than supported range"
    if number.copy_abs() < _MIN_NUMBER:
        return "Number underflow. Attempting to store a number with magnitude smaller than supported range"
    return None


def attribute_value_problem(value: Any) -> str | None:
    if not isinstance(value, dict) or len(value) != 1:
        return None
    kind, content = next(iter(value.items()))
    if kind == "N" and isinstance(content, str):
        return _number_problem(content)
    if kind in ("SS", "NS", "BS") and isinstance(content, list):
        canonical = [Decimal(str(v)) for v in content] if kind == "NS" else content  # 1 and 1.0 are one number
        try:
            duplicated = len(set(canonical)) != len(canonical)
        except (TypeError, InvalidOperation):
            duplicated = False
        if duplicated:
            return (
                "One or more parameter values were invalid: Input collection "
                f"[{', '.join(map(str, content))}] contains duplicates."
            )
        if kind == "NS":
            return next((p for v in content if (p := _number_problem(str(v)))), None)
    if kind == "M" and isinstance(content, dict):
        return next((p for v in content.values() if (p := attribute_value_problem(v))), None)
    if kind == "L" and isinstance(content, list):
        return next((p for v in content if (p := attribute_value_problem(v))), None)
    return None


def _values_problem(request: dict[str, Any]) -> str | None:
    """The attribute values of a request: its item, key and expression values."""
    for field in ("Item", "Key", "ExpressionAttributeValues"):
        values = request.get(field)
        if isinstance(values, dict):
            problem = next((p for v in values.values() if (p := attribute_value_problem(v))), None)
            if problem:
                return problem
    for kind in _EXPRESSIONS:
        size = len(str(request.get(kind) or "").encode())
        if size > DYNAMODB_MAX_EXPRESSION_BYTES:
            return f"Invalid {kind}: Expression size has exceeded the maximum allowed size; expression size: {size}"
    return None


def dynamodb_problem(operation: str, body: dict[str, Any]) -> str | None:
    problem = _dynamodb_shape_problem(operation, body)
    if problem:
        return problem
    if operation == "BatchWriteItem":
        for requests in (body.get("RequestItems") or {}).values():
            for request in requests:
                for action in request.values():
                    if problem := _values_problem(action):
                        return problem
        return None
    if operation == "TransactWriteItems":
        for entry in body.get("TransactItems") or []:
            for action in entry.values():
                if problem := _values_problem(action):
                    return problem
        return None
    return _values_problem(body)


def _dynamodb_shape_problem(operation: str, body: dict[str, Any]) -> str | None:
    if operation == "BatchWriteItem":
        requests = body.get("RequestItems") or {}
        if any(len(r) > DYNAMODB_BATCH_WRITE_LIMIT for r in requests.values()):
            return (
                "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must "
                "satisfy constraint: [Member must have length less than or equal to 25, Member must have length "
                "greater than or equal to 1]"
            )
        if sum(len(r) for r in requests.values()) > DYNAMODB_BATCH_WRITE_LIMIT:
            return "Too many items requested for the BatchWriteItem call"
        return None
    if operation == "TransactWriteItems" and transaction_bytes(body) > DYNAMODB_TRANSACTION_MAX_BYTES:
        return "Transaction request cannot be larger than 4 MB"
    if operation in ("TransactWriteItems", "TransactGetItems"):
        for entry in body.get("TransactItems") or []:
            for action in entry.values():
                problem = expression_problem(action)
                if problem:
                    return problem
        return None
    return expression_problem(body)


def attribute_bytes(value: dict[str, Any]) -> int:
    """An attribute value's size as DynamoDB counts it (Developer Guide, "Item sizes"): strings and binary by
    their bytes, numbers about one byte per two significant digits plus one, lists and maps 3 bytes plus one per
    element and their contents."""
    (kind, inner), *_ = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "B":
        return len(inner) if isinstance(inner, bytes) else len(str(inner)) * 3 // 4
    if kind == "N":
        return (len(str(inner).lstrip("-").replace(".", "")) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(attribute_bytes({kind[0]: member}) for member in inner)
    if kind == "L":
        return 3 + sum(1 + attribute_bytes(member) for member in inner)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + attribute_bytes(member) for name, member in inner.items())
    return 0


def transaction_bytes(body: dict[str, Any]) -> int:
    """What a TransactWriteItems carries: the items it puts, and the keys and values of its other actions."""
    total = 0
    for entry in body.get("TransactItems") or []:
        for action in entry.values():
            for part in ("Item", "Key", "ExpressionAttributeValues"):
                attributes = action.get(part) or {}
                total += sum(len(name.encode()) + attribute_bytes(value) for name, value in attributes.items())
    return total


def install() -> None:
    from moto.dynamodb.exceptions import MockValidationException
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action

    @functools.wraps(original)
    def call_action(self: Any) -> Any:
        body = getattr(self, "params", None)
        if isinstance(body, dict):
            problem = dynamodb_problem(self._get_action(), body)
            if problem:
                raise MockValidationException(problem)
        return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]

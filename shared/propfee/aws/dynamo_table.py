"""The propfee table's shared helper: the client, queries, batch writes, transactions and item (de)serialisation."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from propfee.accounts import ledger
from propfee.aws.clients import client, error_code

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
MAX_OPTIMISTIC_RETRIES = 5
BATCH_WRITE_LIMIT = 25  # AWS rejects more per call (moto does not)
TRANSACT_LIMIT = 100  # DynamoDB API reference, TransactWriteItems: at most 100 actions


class ConcurrentUpdate(Exception):
    """Another writer kept changing the unit; the caller may retry."""


def to_attributes(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in item.items() if v is not None}


def from_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in attributes.items()}


def plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal: integral ones become int for the models."""
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, set):
        return {plain(v) for v in value}
    return value


def fields_of(model: type[Any], item: dict[str, Any]) -> dict[str, Any]:
    """The item's attributes that are fields of the model, numbers made plain."""
    return plain({k: v for k, v in item.items() if k in model.model_fields})


class TableBase:
    """One table, many item types (see aws/keys.py): what every record family's reads and writes go through."""

    def __init__(
        self,
        table_name: str,
        tz: ZoneInfo,
        dynamodb: Any | None = None,
        allocation: ledger.AllocationOrder = "oldest_first",
    ) -> None:
        self.name = table_name
        self._tz = tz
        self._allocation = allocation  # how payments settle open bills (rules: billing.allocation)
        self._client = dynamodb
        # "sent" evidence held back while a send batch runs (see EvidenceRecords.deferred_evidence)
        self._deferred: list[dict[str, Any]] | None = None
        self._claimed: dict[tuple[str, str], dict[str, Any]] = {}

    @property
    def db(self) -> Any:
        # an injected client (tests), or the process-wide one (created lazily, shared by adapters)
        return self._client if self._client is not None else client("dynamodb")

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        paginator = self.db.get_paginator("query")
        for page in paginator.paginate(TableName=self.name, **kwargs):
            for attributes in page["Items"]:
                yield from_attributes(attributes)

    def batch_put(self, items: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(items), BATCH_WRITE_LIMIT):
            requests = [{"PutRequest": {"Item": to_attributes(i)}} for i in items[start : start + BATCH_WRITE_LIMIT]]
            pending: dict[str, Any] = {self.name: requests}
            while pending:
                response = self.db.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}

    def _put_new(self, item: dict[str, Any]) -> bool:
        """Put the item unless one with its key is there already; False (nothing written) when it is."""
        try:
            self.db.put_item(
                TableName=self.name, Item=to_attributes(item), ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _transact(self, operations: list[dict[str, Any]]) -> list[str] | None:
        """None on success, else the cancellation reason code of each operation."""
        cancelled = self._transact_reasons(operations)
        return None if cancelled is None else [r.get("Code", "None") for r in cancelled]

    def _transact_reasons(self, operations: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """None on success, else the cancellation reason of each operation (with the item, where asked for)."""
        try:
            self.db.transact_write_items(TransactItems=operations)
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise
            reasons: list[dict[str, Any]] = [dict(r) for r in error.response.get("CancellationReasons", [])]
            return reasons
        return None

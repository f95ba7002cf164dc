"""Make moto's DynamoDB cost about what DynamoDB costs, so that a simulated month runs in minutes.

moto backs up every table a TransactWriteItems touches with a deep copy of the whole table, once per
operation, so a transaction on a table of a few thousand items takes a third of a second and a simulated
month would take hours. This patch keeps moto's own transaction logic and its all-or-nothing result, but
backs up only the items the transaction names and puts exactly those back when it is cancelled.
"""

from __future__ import annotations

import copy
import functools
import threading
import types
from datetime import datetime
from typing import Any

from propfee.domain import clock

_PATCHED = False


def _item_backup(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, Any]]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    saved = []
    for entry in transact_items:
        _, operation = next(iter(entry.items()))
        table = backend.tables.get(operation.get("TableName"))
        if table is None:
            continue
        key = operation.get("Key") or {
            name: operation["Item"][name]
            for name in (table.hash_key_attr, table.range_key_attr)
            if name and name in operation.get("Item", {})
        }
        if table.hash_key_attr not in key:
            continue
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr in key else None
        current = table.get_item(hash_value, range_value)
        saved.append((table, hash_value, range_value, copy.deepcopy(current)))
    return saved


def _restore(saved: list[tuple[Any, Any, Any, Any]]) -> None:
    for table, hash_value, range_value, item in reversed(saved):
        _restore_item(table, hash_value, range_value, item)
        _refresh_index(table, hash_value, range_value)


def _restore_item(table: Any, hash_value: Any, range_value: Any, item: Any) -> None:
    if range_value is None:
        if item is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = item
    elif item is None:
        table.items.get(hash_value, {}).pop(range_value, None)
    else:
        table.items[hash_value][range_value] = item


def install() -> None:
    """Idempotent; affects only this process's moto backends (the sandbox's server runs in-process)."""
    global _PATCHED
    if _PATCHED:
        return
    import moto.dynamodb.models as dynamodb_models
    from moto.dynamodb.models.table import Table

    def deepcopy_except_tables(value: Any, memo: Any = None) -> Any:
        # the whole-table backup becomes the table itself; _item_backup keeps what matters
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    original = dynamodb_models.DynamoDBBackend.transact_write_items

    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = _item_backup(self, transact_items)
        try:
            original(self, transact_items)
        except Exception:
            _restore(saved)
            raise

    dynamodb_models.copy = types.SimpleNamespace(deepcopy=deepcopy_except_tables, copy=copy.copy)  # type: ignore[attr-defined,assignment]
    dynamodb_models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    install_fast_dynamodb_responses()
    install_partition_query()
    install_fast_sqs_visibility()
    route_s3_notifications_to_sandbox()
    _PATCHED = True


# DynamoDB data-plane results are already in the wire format (attribute-value maps); moto's model-driven
# serializer walks every attribute of every item and costs more than the operation itself.
_FAST_OPERATIONS = frozenset(
    {
        "GetItem",
        "Query",
        "Scan",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "TransactGetItems",
    }
)


def install_fast_dynamodb_responses() -> None:
    import json

    from moto.dynamodb.responses import DynamoResult

    if getattr(DynamoResult, "_propfee_fast", False):
        return
    original = DynamoResult.execute_result

    def execute_result(self: Any, context: Any) -> Any:
        if context.operation_model.name in _FAST_OPERATIONS and isinstance(self.result, dict):
            try:
                body = json.dumps({k: v for k, v in self.result.items() if v is not None}, separators=(",", ":"))
            except TypeError:  # binary attributes: let moto encode them
                return original(self, context)
            return 200, {"Content-Type": "application/x-amz-json-1.0"}, body
        return original(self, context)

    DynamoResult.execute_result = execute_result  # type: ignore[method-assign]
    DynamoResult._propfee_fast = True  # type: ignore[attr-defined]


# S3 notifications to Lambda: moto would invoke the function through Docker; the sandbox invokes it
# in-process instead, from its drain loop, with the event moto built.
s3_lambda_invocations: list[tuple[str, dict[str, Any], datetime]] = []


def route_s3_notifications_to_sandbox() -> None:
    import moto.s3.notifications as notifications

    if getattr(notifications, "_propfee_routed", False):
        return

    def invoke(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        s3_lambda_invocations.append((fn_arn, event_body, clock.now()))

    notifications._invoke_awslambda = invoke
    notifications._propfee_routed = True  # type: ignore[attr-defined]


def install_fast_sqs_visibility() -> None:
    """moto works out which messages are visible by reading the clock twice per message, and does so for
    every message it receives or sends (the retention check and the queue attributes list every message):
    a queue of a thousand jobs becomes quadratic. Read the clock once per listing, as a real queue would."""
    import moto.sqs.models as sqs_models

    if getattr(sqs_models.Queue, "_propfee_fast", False):
        return
    queue = sqs_models.Queue

    def messages(self: Any) -> list[Any]:
        now = sqs_models.unix_time_millis()
        return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]

    def delayed_count(self: Any) -> int:
        now = sqs_models.unix_time_millis()
        return sum(1 for m in self._messages if now < m.delayed_until)

    def not_visible_count(self: Any) -> int:
        now = sqs_models.unix_time_millis()
        return sum(1 for m in self._messages if not now > m.visible_at)

    def retention_ok(self: Any, queue_name: str, message: Any) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)
        return bool(retention + message.sent_timestamp / 1000 > sqs_models.unix_time())

    queue.messages = property(messages)  # type: ignore[assignment,method-assign]
    queue.approximate_number_of_messages_delayed = property(delayed_count)  # type: ignore[assignment,method-assign]
    queue.approximate_number_of_messages_not_visible = property(not_visible_count)  # type: ignore[assignment,method-assign]
    sqs_models.SQSBackend.is_message_valid_based_on_retention_period = retention_ok  # type: ignore[method-assign]
    queue._moto_delete_message = queue.delete_message  # type: ignore[attr-defined]  # the tests compare with it
    queue.delete_message = _delete_message  # type: ignore[method-assign]
    queue._propfee_fast = True  # type: ignore[attr-defined]


def _delete_message(self: Any, receipt_handle: str) -> None:
    """moto's Queue.delete_message without its two passes over the whole queue per handle (it builds each
    message's list of handles twice and copies the queue): deleting a queue of 10,000 jobs took 12 s, quadratic
    in its depth, where SQS costs the same at any depth (the I/O floor's queue never holds more than 10,
    so it made busy days look slower against it the bigger they were). Same answers: an already
    deleted handle is accepted, a handle no message ever had is refused, any handle a message had (moto
    accepts old ones) deletes it. Receipt handles are unique, so the first message found is the only one;
    received messages sit near the front of the list, so the scan is short."""
    import moto.sqs.models as sqs_models

    if receipt_handle in self.deleted_messages:
        return
    found = next(
        (
            index
            for index, message in enumerate(self._messages)
            if message.receipt_handle == receipt_handle or receipt_handle in message._old_receipt_handles
        ),
        None,
    )
    if found is None:
        raise sqs_models.ReceiptHandleIsInvalid()
    message = self._messages.pop(found)
    self.pending_messages.discard(message)
    self.deleted_messages.update(message.all_receipt_handles)


# moto answers every Query by sorting every item of the table and then filtering them; real DynamoDB reads
# only the partition asked for. During a Query the table lists just that partition: the table's own, or
# for a global index the items whose index hash key matches, found through a map kept up to date on every
# write (unsorted: moto sorts what it keeps). The hourly tickets check, the collectors' lookups and the
# report reads then cost what they return, not what the table holds.
_query_scope = threading.local()


class _GlobalIndexPartitions:
    """For each global index's hash attribute: value -> {(hash, range): item}. Built on the first index
    Query of a table, then refreshed key by key by every write moto makes (put, update, delete, and a
    cancelled transaction's restore)."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self.attributes = {
            key["AttributeName"] for index in table.global_indexes for key in index.schema if key["KeyType"] == "HASH"
        }
        self.partitions: dict[str, dict[Any, dict[Any, Any]]] = {name: {} for name in self.attributes}
        self.values_of: dict[Any, dict[str, Any]] = {}
        for hash_set in table.items.values():
            for item in hash_set.values() if table.range_key_attr else (hash_set,):
                self._add((item.hash_key, item.range_key), item)

    def _add(self, key: Any, item: Any) -> None:
        values = {name: item.attrs[name] for name in self.attributes if item.attrs.get(name) is not None}
        for name, value in values.items():
            self.partitions[name].setdefault(value, {})[key] = item
        if values:
            self.values_of[key] = values

    def refresh(self, hash_value: Any, range_value: Any) -> None:
        key = (hash_value, range_value)
        for name, value in self.values_of.pop(key, {}).items():
            members = self.partitions[name].get(value)
            if members is not None:
                members.pop(key, None)
                if not members:
                    del self.partitions[name][value]
        item = self.table.get_item(hash_value, range_value)
        if item is not None:
            self._add(key, item)

    def items(self, name: str, value: Any) -> list[Any]:
        return list(self.partitions[name].get(value, {}).values())


def _refresh_index(table: Any, hash_value: Any, range_value: Any) -> None:
    partitions = getattr(table, "_propfee_gsi", None)
    if partitions is not None:
        partitions.refresh(hash_value, range_value)


def _equal(present: Any, wanted: Any) -> bool:
    return present is not None and present == wanted


def install_partition_query() -> None:
    import moto.dynamodb.models as dynamodb_models
    from moto.dynamodb.models.table import Table

    if getattr(Table, "_propfee_partition_query", False):
        return
    original_query = Table.query
    original_all_items = Table.all_items
    original_put = Table.put_item
    original_delete = Table.delete_item
    original_update = dynamodb_models.DynamoDBBackend.update_item

    @functools.wraps(original_query)
    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name") if "index_name" in kwargs else (args[6] if len(args) > 6 else None)
        conditions = kwargs.get("hash_key_conditions") or []
        if index_name:
            scope: Any = ("index", [(name, value) for name, value in conditions])
        elif hash_key is not None and self.range_key_attr:
            scope = ("table", hash_key)
        else:
            return original_query(self, hash_key, *args, **kwargs)
        _query_scope.value = scope
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            _query_scope.value = None

    def all_items(self: Any) -> Any:
        scope = getattr(_query_scope, "value", None)
        if scope is None:
            return original_all_items(self)
        kind, selector = scope
        if kind == "index" and len(selector) == 1 and selector[0][0] == self.hash_key_attr:
            kind, selector = "table", selector[0][1]  # a local index lives in the table's partition
        if kind == "table":
            partition = self.items.get(selector)
            return list(partition.values()) if partition else []
        if not selector:
            return original_all_items(self)
        if not hasattr(self, "_propfee_gsi"):
            self._propfee_gsi = _GlobalIndexPartitions(self)
        name, value = selector[0]
        if name not in self._propfee_gsi.attributes:
            return original_all_items(self)
        candidates = self._propfee_gsi.items(name, value)
        return [item for item in candidates if all(_equal(item.attrs.get(n), v) for n, v in selector)]

    def put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        item = original_put(self, *args, **kwargs)
        _refresh_index(self, item.hash_key, item.range_key)
        return item

    def delete_item(self: Any, hash_key: Any, range_key: Any = None) -> Any:
        try:
            return original_delete(self, hash_key, range_key)
        finally:
            _refresh_index(self, hash_key, range_key)

    def update_item(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        table = self.get_table(table_name)
        try:
            return original_update(self, table_name, key, *args, **kwargs)
        finally:  # an update changes the item in place, even one that fails half-way
            if hasattr(table, "_propfee_gsi"):
                hash_value, range_value = self.get_keys_value(table, key)
                _refresh_index(table, hash_value, range_value)

    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]
    Table.put_item = put_item  # type: ignore[method-assign]
    Table.delete_item = delete_item  # type: ignore[method-assign]
    dynamodb_models.DynamoDBBackend.update_item = update_item  # type: ignore[method-assign]
    Table._propfee_partition_query = True  # type: ignore[attr-defined]

"""Online payment orders and notifications in the propfee table, beside the ledger they settle."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from botocore.exceptions import ClientError

from propfee.aws import keys
from propfee.aws.clients import error_code
from propfee.aws.dynamo_table import from_attributes, to_attributes
from propfee.aws.dynamo_tasks import item_to_task
from propfee.aws.feedback import FeedbackTable
from propfee.domain.models import Task, Ticket
from propfee.payments.orders import OrderStatus, PaymentOrder


def order_to_item(order: PaymentOrder) -> dict[str, Any]:
    return {**keys.payment_order_item(order.out_trade_no), **order.model_dump(mode="json"), "kind": "payment_order"}


def item_to_order(item: dict[str, Any]) -> PaymentOrder:
    fields = {k: v for k, v in item.items() if k in PaymentOrder.model_fields}
    fields["periods"] = tuple(fields.get("periods") or ())
    fields["amount_fen"], fields["attempt"] = int(fields["amount_fen"]), int(fields["attempt"])
    return PaymentOrder.model_validate(fields)


class PaymentsTable(FeedbackTable):
    """The ledger, tickets and the payment orders: what the notification and checkout functions use."""

    def get_order(self, out_trade_no: str) -> PaymentOrder | None:
        response = self.db.get_item(
            TableName=self.name, Key=to_attributes(keys.payment_order_item(out_trade_no)), ConsistentRead=True
        )
        return item_to_order(from_attributes(response["Item"])) if "Item" in response else None

    def add_order(self, order: PaymentOrder) -> PaymentOrder:
        try:
            self.db.put_item(
                TableName=self.name,
                Item=to_attributes(order_to_item(order)),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            existing = self.get_order(order.out_trade_no)
            assert existing is not None
            return existing
        return order

    def tasks_by_id(self, task_ids: Sequence[str]) -> list[Task]:
        """The tasks of these ids that exist: one BatchGetItem per 100 (the API's limit), consistent reads."""
        found: list[Task] = []
        for start in range(0, len(task_ids), 100):
            wanted = {"Keys": [to_attributes(keys.task_item(i)) for i in task_ids[start : start + 100]]}
            pending: dict[str, Any] = {self.name: {**wanted, "ConsistentRead": True}}
            while pending:
                response = self.db.batch_get_item(RequestItems=pending)
                found.extend(item_to_task(from_attributes(i)) for i in response["Responses"].get(self.name, []))
                pending = response.get("UnprocessedKeys") or {}
        return found

    def settle_order(self, order: PaymentOrder, status: OrderStatus, transaction_id: str) -> None:
        self.db.update_item(
            TableName=self.name,
            Key=to_attributes(keys.payment_order_item(order.out_trade_no)),
            UpdateExpression="SET #status = :status, transaction_id = :tx",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=to_attributes({":status": status.value, ":tx": transaction_id}),
        )

    def claim_notification(self, provider: str, replay_key: str, expires_at: datetime) -> bool:
        try:
            self.db.put_item(
                TableName=self.name,
                Item=to_attributes(
                    {**keys.payment_notice_item(provider, replay_key), "expires_at": int(expires_at.timestamp())}
                ),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def hold_for_finance(self, ticket: Ticket, order: PaymentOrder | None, transaction_id: str) -> bool:
        operations: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.name,
                    "Item": to_attributes(self._ticket_item(ticket)),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        if order is not None:
            operations.append(
                {
                    "Update": {
                        "TableName": self.name,
                        "Key": to_attributes(keys.payment_order_item(order.out_trade_no)),
                        "UpdateExpression": "SET #status = :held, transaction_id = :tx, ticket_id = :ticket",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": to_attributes(
                            {":held": OrderStatus.HELD.value, ":tx": transaction_id, ":ticket": ticket.ticket_id}
                        ),
                    }
                }
            )
        return self._transact(operations) is None

    # ------------------------------------------------------------------ the nightly reconciliation
    def orders_by_number(self, numbers: Sequence[str]) -> dict[str, PaymentOrder]:
        """One BatchGetItem per 100 numbers (the API's limit), consistent reads, unprocessed keys retried."""
        found: dict[str, PaymentOrder] = {}
        for start in range(0, len(numbers), 100):
            wanted = [to_attributes(keys.payment_order_item(n)) for n in numbers[start : start + 100]]
            pending: dict[str, Any] = {self.name: {"Keys": wanted, "ConsistentRead": True}}
            while pending:
                response = self.db.batch_get_item(RequestItems=pending)
                for item in response["Responses"].get(self.name, []):
                    order = item_to_order(from_attributes(item))
                    found[order.out_trade_no] = order
                pending = response.get("UnprocessedKeys") or {}
        return found

    def note_reconciled(self, order: PaymentOrder, day: date) -> None:
        self.db.update_item(
            TableName=self.name,
            Key=to_attributes(keys.payment_order_item(order.out_trade_no)),
            UpdateExpression="SET reconciled_on = if_not_exists(reconciled_on, :day)",
            ExpressionAttributeValues=to_attributes({":day": day.isoformat()}),
        )

    def has_payment_reference(self, reference: str) -> bool:
        return self._reference_taken(reference)

    def keep_reconciliation(self, record: Mapping[str, object]) -> None:
        """The findings as JSON text (a list of maps of mixed types is awkward as DynamoDB attributes)."""
        day, provider = date.fromisoformat(str(record["day"])), str(record["provider"])
        summary = {k: v for k, v in record.items() if k != "findings"}
        self.db.put_item(
            TableName=self.name,
            Item=to_attributes(
                {
                    **keys.reconciliation_item(day, provider),
                    **summary,
                    "kind": "reconciliation",
                    "findings_json": json.dumps(record.get("findings", []), ensure_ascii=False, sort_keys=True),
                }
            ),
        )

    def reconciliations(self, day: date) -> list[dict[str, Any]]:
        """The reconciliations of a bill day, by provider (the daily report's section)."""
        items = self._query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_attributes({":pk": keys.reconciliations_pk(day)}),
            ConsistentRead=True,
        )
        records = []
        for item in items:
            record = {k: v for k, v in item.items() if k not in ("pk", "sk", "kind", "findings_json")}
            record["findings"] = json.loads(item.get("findings_json") or "[]")
            records.append(record)
        return sorted(records, key=lambda r: str(r["provider"]))

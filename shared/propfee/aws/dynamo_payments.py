"""Online payment orders and notifications in the propfee table, beside the ledger they settle."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from propfee.aws import keys
from propfee.aws.dynamo_paid import PaidRecords
from propfee.aws.dynamo_table import fields_of, from_attributes, plain, to_attributes
from propfee.aws.dynamo_tasks import item_to_task
from propfee.aws.feedback import FeedbackTable
from propfee.domain.models import Building, Community, Task, Ticket
from propfee.payments.orders import OrderStatus, PaymentOrder
from propfee.payments.receipts import Receipt


def order_to_item(order: PaymentOrder) -> dict[str, Any]:
    return {**keys.payment_order_item(order.out_trade_no), **order.model_dump(mode="json"), "kind": "payment_order"}


def item_to_order(item: dict[str, Any]) -> PaymentOrder:
    fields = {k: v for k, v in item.items() if k in PaymentOrder.model_fields}
    fields["periods"] = tuple(fields.get("periods") or ())
    fields["amount_fen"], fields["attempt"] = int(fields["amount_fen"]), int(fields["attempt"])
    return PaymentOrder.model_validate(fields)


class PaymentsTable(FeedbackTable, PaidRecords):
    """The ledger, tickets and the payment orders: what the notification and checkout functions use."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # communities and buildings change their names about never: read once per container (the receipts')
        self._places: dict[tuple[str, str], tuple[Community | None, Building | None]] = {}

    def get_order(self, out_trade_no: str) -> PaymentOrder | None:
        response = self.db.get_item(
            TableName=self.name, Key=to_attributes(keys.payment_order_item(out_trade_no)), ConsistentRead=True
        )
        return item_to_order(from_attributes(response["Item"])) if "Item" in response else None

    def add_order(self, order: PaymentOrder) -> PaymentOrder:
        if not self._put_new(order_to_item(order)):
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
        return self._put_new(
            {**keys.payment_notice_item(provider, replay_key), "expires_at": int(expires_at.timestamp())}
        )

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

    # ------------------------------------------------------------------------------------------ e-receipts
    def claim_receipt(self, receipt: Receipt) -> Receipt:
        """One transaction: the receipt by its transaction (the idempotency key) and by its token, and its token on
        the payment's ledger item (the bill page's history links it). A receipt kept before comes back instead."""
        facts = {**receipt.model_dump(mode="json"), "kind": "receipt"}
        by_transaction = keys.receipt_transaction_item(receipt.provider.value, receipt.transaction_id)
        claims: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.name,
                    "Item": to_attributes({**by_transaction, **facts}),
                    "ConditionExpression": "attribute_not_exists(pk)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {
                "Put": {
                    "TableName": self.name,
                    "Item": to_attributes({**keys.receipt_item(receipt.token), **facts}),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
        link = {
            "Update": {
                "TableName": self.name,
                "Key": to_attributes(keys.payment_item(receipt.unit_id, receipt.transaction_id)),
                "UpdateExpression": "SET receipt_token = :token",
                # the ledger item exists unless the payment came in an import under another serial
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": to_attributes({":token": receipt.token}),
            }
        }
        cancelled = self._transact_reasons([*claims, link])
        if cancelled is not None and cancelled[0].get("Code") != "ConditionalCheckFailed":
            cancelled = self._transact_reasons(claims)  # no ledger item of that reference to link it from
        if cancelled is None:
            return receipt
        if cancelled[0].get("Code") == "ConditionalCheckFailed" and cancelled[0].get("Item"):
            return item_to_receipt(from_attributes(cancelled[0]["Item"]))
        raise RuntimeError(f"receipt {receipt.number} not kept: {[r.get('Code') for r in cancelled]}")

    def receipt_by_token(self, token: str) -> Receipt | None:
        response = self.db.get_item(TableName=self.name, Key=to_attributes(keys.receipt_item(token)))
        return item_to_receipt(from_attributes(response["Item"])) if "Item" in response else None

    def claim_receipt_message(self, number: str, unit_id: str, at: datetime) -> bool:
        return self._put_new({**keys.receipt_message_item(number), "unit_id": unit_id, "claimed_at": at.isoformat()})

    def place_names(self, community_id: str, building_id: str) -> tuple[Community | None, Building | None]:
        if (community_id, building_id) not in self._places:
            self._places[(community_id, building_id)] = self._read_place_names(community_id, building_id)
        return self._places[(community_id, building_id)]

    def _read_place_names(self, community_id: str, building_id: str) -> tuple[Community | None, Building | None]:
        wanted = [keys.community_item(community_id), keys.building_item(community_id, building_id)]
        pending: dict[str, Any] = {self.name: {"Keys": [to_attributes(k) for k in wanted]}}
        items: list[dict[str, Any]] = []
        while pending:
            response = self.db.batch_get_item(RequestItems=pending)
            items.extend(from_attributes(i) for i in response["Responses"].get(self.name, []))
            pending = response.get("UnprocessedKeys") or {}
        community = next((i for i in items if str(i["sk"]).startswith("COMMUNITY#")), None)
        building = next((i for i in items if str(i["sk"]).startswith("BUILDING#")), None)
        return (
            Community.model_validate(fields_of(Community, community)) if community else None,
            Building.model_validate(fields_of(Building, building)) if building else None,
        )

    def payment_allocations(self, unit_id: str, reference: str) -> dict[str, int]:
        response = self.db.get_item(
            TableName=self.name,
            Key=to_attributes(keys.payment_item(unit_id, reference)),
            ProjectionExpression="allocations",
            ConsistentRead=True,
        )
        allocations = plain(from_attributes(response.get("Item") or {})).get("allocations") or {}
        return {str(period): int(amount) for period, amount in allocations.items()}

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


def item_to_receipt(item: dict[str, Any]) -> Receipt:
    return Receipt.model_validate(plain({k: v for k, v in item.items() if k in Receipt.model_fields}))

"""An online payment's one read and one transaction (payments/at_once.py), and the receipt messages it leaves
due for the hourly run."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from propfee.accounts import ledger
from propfee.aws import keys
from propfee.aws.dynamo_ledger import LedgerRecords
from propfee.aws.dynamo_table import TRANSACT_LIMIT, from_attributes, to_attributes
from propfee.aws.dynamo_tasks import TaskRecords, item_to_task, task_to_item
from propfee.aws.dynamo_units import item_to_unit
from propfee.domain.models import Payment, Task, Unit
from propfee.payments.at_once import PaidAtOnce, Written
from propfee.payments.orders import OrderStatus, PaymentOrder
from propfee.payments.receipt_messages import SENDING, MessagePlan
from propfee.payments.receipts import Receipt

RETRIED = "failed: ProviderUnavailable"  # the outcome that stays due: the provider may take it next time
RETRY_AFTER_SECONDS = 600  # a message due now is sent at once; still due 10 minutes on, the hourly run sends it


def _due_key(at: datetime, number: str) -> str:
    return f"{at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}#{number}"


def message_item(plan: MessagePlan, now: datetime) -> dict[str, Any]:
    """The receipt's message as planned with the payment: due (in the sparse index of due messages: at the window's
    opening, or, when due now, as a retry should the send not happen) or skipped with the reason."""
    item: dict[str, Any] = {
        **keys.receipt_message_item(plan.number),
        "kind": "receipt_message",
        "unit_id": plan.unit_id,
        "claimed_at": now.isoformat(),
    }
    if not plan.sendable:
        return {**item, "outcome": plan.outcome}
    assert plan.due_at is not None
    later = plan.due_at > now
    retry = plan.due_at if later else datetime.fromtimestamp(now.timestamp() + RETRY_AFTER_SECONDS, UTC)
    return {
        **item,
        "outcome": "scheduled" if later else "due",
        "channel": plan.channel,
        "due_at": plan.due_at.isoformat(),
        "to": plan.to,
        "subject": plan.subject,
        "body": plan.body,
        "inbox_pk": keys.RECEIPT_MESSAGES_DUE,
        "inbox_sk": _due_key(retry, plan.number),
    }


def item_to_plan(item: dict[str, Any]) -> MessagePlan:
    return MessagePlan(
        number=str(item["pk"]).removeprefix("RECEIPT#MSG#"),
        unit_id=str(item["unit_id"]),
        outcome="due",
        channel=str(item["channel"]),
        to=str(item.get("to", "")),
        subject=str(item.get("subject", "")),
        body=str(item.get("body", "")),
        due_at=datetime.fromisoformat(str(item["due_at"])),
        attempts=int(item.get("attempts") or 0),
        sending=item.get("outcome") == SENDING,
    )


class PaidRecords(LedgerRecords, TaskRecords):
    """What payments/at_once.py reads and writes."""

    def order_and_unit(
        self, out_trade_no: str, unit_id: str | None, task_ids: Sequence[str] = ()
    ) -> tuple[PaymentOrder | None, Unit | None, dict[str, Task | None]]:
        from propfee.aws.dynamo_payments import item_to_order

        wanted = [keys.payment_order_item(out_trade_no), *([keys.unit_item(unit_id)] if unit_id else [])]
        wanted += [keys.task_item(task_id) for task_id in task_ids]
        pending: dict[str, Any] = {self.name: {"Keys": [to_attributes(k) for k in wanted], "ConsistentRead": True}}
        items: list[dict[str, Any]] = []
        while pending:
            response = self.db.batch_get_item(RequestItems=pending)
            items.extend(from_attributes(i) for i in response["Responses"].get(self.name, []))
            pending = response.get("UnprocessedKeys") or {}
        order_key = keys.payment_order_item(out_trade_no)
        found = next((i for i in items if i["pk"] == order_key["pk"] and i["sk"] == order_key["sk"]), None)
        order = item_to_order(found) if found else None
        unit_item = self._unit_of(items, unit_id) if unit_id else None
        unit = item_to_unit(unit_item) if unit_item else None
        tasks: dict[str, Task | None] = dict.fromkeys(task_ids)
        for item in items:
            if item.get("kind") == "task":
                task = item_to_task(item)
                tasks[task.task_id] = task
        if order is not None and (unit is None or unit.unit_id != order.unit_id):
            unit = self.get_unit(order.unit_id)  # no merchant data echoed (or not this order's): read it apart
        return order, unit, tasks

    @staticmethod
    def _unit_of(items: list[dict[str, Any]], unit_id: str) -> dict[str, Any] | None:
        key = keys.unit_item(unit_id)
        return next((i for i in items if i["pk"] == key["pk"] and i["sk"] == key["sk"]), None)

    def allocate(self, unit: Unit, payment: Payment) -> ledger.Allocation:
        return ledger.allocate(unit, payment, self._allocation)

    def apply_paid(self, paid: PaidAtOnce) -> Written:
        extra = self._paid_extras(paid)
        token = {"receipt_token": paid.receipt.token} if paid.receipt is not None else {}
        payment_item, operations = self.payment_operations(
            paid.payment, paid.unit, paid.allocation, reserved=len(extra), **token
        )
        operations += [op for _, op in extra]
        if len(operations) > TRANSACT_LIMIT:
            raise ValueError(f"{len(operations)} actions for one transaction")
        cancelled = self._transact_reasons(operations)
        if cancelled is None:
            self._settle_pending(paid.payment, payment_item.get("pending_allocations", {}))
            return Written.APPLIED
        failed = {n for n, r in enumerate(cancelled) if r.get("Code") == "ConditionalCheckFailed"}
        roles = {len(operations) - len(extra) + n: role for n, (role, _) in enumerate(extra)}
        if any(roles.get(n) == "replay" for n in failed):
            return Written.REPLAYED
        if failed & {0, 1}:  # the payment, or its reference (an import under the same serial)
            return Written.DUPLICATE
        if failed or any(r.get("Code") == "TransactionConflict" for r in cancelled):
            return Written.CHANGED
        raise RuntimeError(f"payment not applied: {[r.get('Code') for r in cancelled]}")

    def _paid_extras(self, paid: PaidAtOnce) -> list[tuple[str, dict[str, Any]]]:
        """The transaction's actions beside the ledger's, each named by its role."""
        extra: list[tuple[str, dict[str, Any]]] = []
        if paid.replay is not None:
            provider, replay_key, forget_after = paid.replay
            claim = {**keys.payment_notice_item(provider, replay_key), "expires_at": int(forget_after.timestamp())}
            extra.append(("replay", self._transact_put_new(claim)))
        extra.append(
            (
                "order",
                {
                    "Update": {
                        "TableName": self.name,
                        "Key": to_attributes(keys.payment_order_item(paid.order.out_trade_no)),
                        "UpdateExpression": "SET #status = :paid, transaction_id = :tx",
                        "ConditionExpression": "#status = :open",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": to_attributes(
                            {
                                ":paid": OrderStatus.PAID.value,
                                ":open": OrderStatus.OPEN.value,
                                ":tx": paid.transaction_id,
                            }
                        ),
                    }
                },
            )
        )
        if paid.receipt is not None:
            extra += [("receipt", op) for op in self._receipt_puts(paid.receipt)]
        if paid.message is not None:
            extra.append(("message", self._transact_put_new(message_item(paid.message, paid.now))))
        for task in paid.tasks_done:
            extra.append(
                (
                    "task",
                    {
                        "Put": {
                            "TableName": self.name,
                            "Item": to_attributes(task_to_item(task, self._tz)),
                            "ConditionExpression": "#status = :open",
                            "ExpressionAttributeNames": {"#status": "status"},
                            "ExpressionAttributeValues": to_attributes({":open": "open"}),
                        }
                    },
                )
            )
        # one action per item: two tasks of one collector lower the load once, by two
        for collector_id, count in sorted(Counter(t.collector_id for t in paid.tasks_done).items()):
            extra.append(
                (
                    "collector",
                    {
                        "Update": {
                            "TableName": self.name,
                            "Key": to_attributes(keys.collector_item(collector_id)),
                            "UpdateExpression": "ADD open_tasks :minus",
                            "ExpressionAttributeValues": to_attributes({":minus": -count}),
                        }
                    },
                )
            )
        return extra

    def _transact_put_new(self, item: dict[str, Any]) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.name,
                "Item": to_attributes(item),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _receipt_puts(self, receipt: Receipt) -> list[dict[str, Any]]:
        facts = {**receipt.model_dump(mode="json"), "kind": "receipt"}
        by_transaction = keys.receipt_transaction_item(receipt.provider.value, receipt.transaction_id)
        return [
            self._transact_put_new({**by_transaction, **facts}),
            self._transact_put_new({**keys.receipt_item(receipt.token), **facts}),
        ]

    # ------------------------------------------------------------------ receipt messages due
    def receipt_messages_due(self, now: datetime) -> list[MessagePlan]:
        items = self._query(
            IndexName="inbox",
            KeyConditionExpression="inbox_pk = :pk AND inbox_sk <= :now",
            ExpressionAttributeValues=to_attributes({":pk": keys.RECEIPT_MESSAGES_DUE, ":now": _due_key(now, "~")}),
        )
        return [item_to_plan(item) for item in items]

    def finish_receipt_message(self, number: str, **fields: str) -> None:
        """Record what became of a receipt's message. Sent, skipped or refused by the provider: out of the messages
        due; scheduled: due at its time; sending (marked before the provider is asked) or the provider unreachable:
        left due as it was (the hourly run tries again, or records a send found "sending" as unconfirmed)."""
        names = sorted(fields)
        update = "SET " + ", ".join(f"#{n} = :{n}" for n in names)
        values: dict[str, Any] = {f":{n}": fields[n] for n in names}
        outcome = fields.get("outcome", "")
        if outcome == "scheduled" and "due_at" in fields:
            update += ", inbox_pk = :due_pk, inbox_sk = :due_sk"
            values |= {
                ":due_pk": keys.RECEIPT_MESSAGES_DUE,
                ":due_sk": _due_key(datetime.fromisoformat(fields["due_at"]), number),
            }
        elif outcome not in (RETRIED, SENDING):  # marked before the send, or to try again: still due
            update += " REMOVE inbox_pk, inbox_sk"
        self.db.update_item(
            TableName=self.name,
            Key=to_attributes(keys.receipt_message_item(number)),
            UpdateExpression=update,
            ExpressionAttributeNames={f"#{n}": n for n in names},
            ExpressionAttributeValues=to_attributes(values),
        )

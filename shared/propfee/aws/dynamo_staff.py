"""The console's staff records (assignments by Cognito sub) and the staff actions' audit trail in the table."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice
from typing import Any

from propfee.aws import keys
from propfee.aws.dynamo_table import TableBase, from_attributes, plain, to_attributes
from propfee.console.audit import StaffAction
from propfee.console.permissions import StaffRecord


def _staff_to_item(record: StaffRecord) -> dict[str, Any]:
    item: dict[str, Any] = {**keys.staff_item(record.sub), "kind": "staff", "sub": record.sub, "email": record.email}
    item["name"] = record.name
    # DynamoDB refuses an empty set: an empty scope is an absent attribute
    if record.communities:
        item["communities"] = set(record.communities)
    if record.departments:
        item["departments"] = set(record.departments)
    if record.collector_id:
        item["collector_id"] = record.collector_id
    return item


def _item_to_staff(item: dict[str, Any]) -> StaffRecord:
    return StaffRecord(
        sub=item["sub"],
        email=item["email"],
        name=item.get("name", ""),
        communities=frozenset(item.get("communities", ())),
        departments=frozenset(item.get("departments", ())),
        collector_id=item.get("collector_id"),
    )


class StaffRecords(TableBase):
    """STAFF/STAFF#<sub>: read by key on each console request, listed (a few dozen items) by the CLI."""

    def put_staff(self, record: StaffRecord) -> None:
        self.db.put_item(TableName=self.name, Item=to_attributes(_staff_to_item(record)))

    def staff(self, sub: str) -> StaffRecord | None:
        found = self.db.get_item(TableName=self.name, Key=to_attributes(keys.staff_item(sub))).get("Item")
        return _item_to_staff(from_attributes(found)) if found else None

    def all_staff(self) -> list[StaffRecord]:
        items = self._query(
            KeyConditionExpression="pk = :pk", ExpressionAttributeValues=to_attributes({":pk": keys.STAFF})
        )
        return [_item_to_staff(item) for item in items]


class AuditRecords(TableBase):
    """AUDIT#<unit>/ACTION#<at>#<id>: written once (condition attribute_not_exists), all records of an action in one
    transaction; they carry `at`, so the timeline index lists them with the unit's history (the evidence pack)."""

    def append(self, actions: Iterable[StaffAction]) -> None:
        operations = [
            {
                "Put": {
                    "TableName": self.name,
                    "Item": to_attributes(
                        {
                            **keys.audit_item(a.unit_id, a.at.isoformat(), a.action_id),
                            "kind": "staff_action",
                            **a.model_dump(mode="json"),
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for a in actions
        ]
        for start in range(0, len(operations), 100):  # TransactWriteItems takes at most 100 actions
            cancelled = self._transact(operations[start : start + 100])
            if cancelled is not None:
                raise RuntimeError(f"a staff action was recorded already: {cancelled}")

    def ticket_replies(self, unit_id: str, limit: int) -> list[dict[str, Any]]:
        """The clerks' replies on the unit's tickets, newest first: one query of the unit's audit (filtered to
        ticket.reply), without reading any ticket (the department's name is on the record)."""
        items = self._query(
            KeyConditionExpression="pk = :pk",
            FilterExpression="#action = :reply",
            ExpressionAttributeNames={"#action": "action"},
            ExpressionAttributeValues=to_attributes({":pk": keys.audit_pk(unit_id), ":reply": "ticket.reply"}),
            ScanIndexForward=False,
        )
        return [plain(item) for item in islice(items, limit)]

    def for_unit(self, unit_id: str) -> list[StaffAction]:
        items = self._query(
            KeyConditionExpression="pk = :pk", ExpressionAttributeValues=to_attributes({":pk": keys.audit_pk(unit_id)})
        )
        fields = set(StaffAction.model_fields)
        return [StaffAction.model_validate({k: plain(v) for k, v in i.items() if k in fields}) for i in items]

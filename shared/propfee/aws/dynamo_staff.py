"""The console's staff records (assignments by Cognito sub) and the staff actions' audit trail in the table."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from itertools import islice
from typing import Any

from propfee.aws import keys
from propfee.aws.dynamo_table import TRANSACT_LIMIT, TableBase, from_attributes, plain, to_attributes
from propfee.console.permissions import StaffRecord
from propfee.domain.staff_actions import StaffAction


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
    transaction; they carry `at`, so the timeline index lists them with the unit's history (the evidence pack).

    The day index: the first record of each action also carries activity_pk AUDITDAY#<local day> (and activity_sk
    <at>#<action id>), so the daily report reads the day's actions with one paged Query of the activity index. A
    sparse key on the record, rather than a second item under an AUDITDAY# partition, because it is cheaper: no
    second item to put (a transaction's write costs double, the index's copy does not), the same number of
    operations per transaction (the limit stays the records'), no new partition for the console's role to be allowed
    to put in (dynamodb:LeadingKeys), and no new index (the activity index is keyed by day already). One entry per
    action, not per unit it touched: the report counts actions."""

    def _item(self, action: StaffAction, first_of_action: bool) -> dict[str, Any]:
        item = {
            **keys.audit_item(action.unit_id, action.at.isoformat(), action.action_id),
            "kind": "staff_action",
            **action.model_dump(mode="json"),
        }
        if first_of_action:
            item["activity_pk"] = keys.audit_day_pk(action.at.astimezone(self._tz).date())
            item["activity_sk"] = f"{action.at.isoformat()}#{action.action_id}"
        return item

    def append(self, actions: Iterable[StaffAction]) -> None:
        indexed: set[str] = set()
        operations = []
        for a in actions:
            first = a.action_id not in indexed
            indexed.add(a.action_id)
            operations.append(
                {
                    "Put": {
                        "TableName": self.name,
                        "Item": to_attributes(self._item(a, first)),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        for start in range(0, len(operations), TRANSACT_LIMIT):
            cancelled = self._transact(operations[start : start + TRANSACT_LIMIT])
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
        return [_item_to_action(i) for i in items]

    def staff_actions_on(self, day: date, page_size: int | None = None) -> list[StaffAction]:
        """The company's staff actions of a local day (the company's time zone), in time order, one per action: a
        Query of the activity index, page after page (`page_size`: items per page, else DynamoDB's 1 MB pages).
        The index is eventually consistent: the report runs hours after the day's last action."""
        items = self._query(
            IndexName="activity",
            KeyConditionExpression="activity_pk = :pk",
            ExpressionAttributeValues=to_attributes({":pk": keys.audit_day_pk(day)}),
            **({"PaginationConfig": {"PageSize": page_size}} if page_size else {}),
        )
        return [_item_to_action(i) for i in items]


def _item_to_action(item: dict[str, Any]) -> StaffAction:
    fields = set(StaffAction.model_fields)
    return StaffAction.model_validate({k: plain(v) for k, v in item.items() if k in fields})

"""Collectors and their tasks (calls, visits, legal reviews) in the propfee table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from propfee.aws import keys
from propfee.aws.dynamo_table import fields_of, from_attributes, to_attributes
from propfee.aws.dynamo_units import UnitRecords
from propfee.domain.models import Collector, Task, Unit


def task_to_item(task: Task, tz: ZoneInfo) -> dict[str, Any]:
    item = {
        **keys.task_item(task.task_id),
        **task.model_dump(mode="json"),
        "kind": "task",
        "task_kind": task.kind.value,
        "inbox_pk": keys.task_inbox_pk(task.collector_id, task.status),
        "inbox_sk": f"{task.created_at.isoformat()}#{task.task_id}",
    }
    if task.done_at is not None:  # the day's activity lists the tasks closed that day, for the report
        item["activity_pk"] = keys.activity_pk(task.community_id, task.done_at.astimezone(tz).date())
        item["activity_sk"] = f"{task.done_at.isoformat()}#task#{task.task_id}"
    return item


def item_to_task(item: dict[str, Any]) -> Task:
    fields = fields_of(Task, {**item, "kind": item["task_kind"]})
    return Task.model_validate(fields)


class TaskRecords(UnitRecords):
    """Collectors (and their open-task load) and their task inboxes."""

    def put_collectors(self, collectors: Sequence[Collector]) -> None:
        self.batch_put([{**keys.collector_item(c.collector_id), **c.model_dump(mode="json")} for c in collectors])

    def save_collector(self, collector: Collector) -> None:
        """Add a collector or change their details (areas, phone, email) without touching the open-task load
        that the send function keeps with ADD meanwhile (a new collector starts at 0)."""
        fields = collector.model_dump(mode="json", exclude={"open_tasks"})
        names = {f"#f{n}": name for n, name in enumerate(fields)}
        values = {f":v{n}": value for n, value in enumerate(fields.values()) if value is not None}
        sets = ", ".join(f"#f{n} = :v{n}" for n in range(len(fields)) if f":v{n}" in values)
        removes = ", ".join(f"#f{n}" for n in range(len(fields)) if f":v{n}" not in values)  # a phone taken away
        self.db.update_item(
            TableName=self.name,
            Key=to_attributes(keys.collector_item(collector.collector_id)),
            UpdateExpression=f"SET {sets} ADD open_tasks :zero" + (f" REMOVE {removes}" if removes else ""),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_attributes({**values, ":zero": 0}),
        )

    def collectors(self) -> list[Collector]:
        items = self._query(
            KeyConditionExpression="pk = :pk", ExpressionAttributeValues=to_attributes({":pk": keys.COLLECTORS})
        )
        return [Collector.model_validate(fields_of(Collector, item)) for item in items]

    def get_task(self, task_id: str) -> Task | None:
        response = self.db.get_item(
            TableName=self.name, Key=to_attributes(keys.task_item(task_id)), ConsistentRead=True
        )
        return item_to_task(from_attributes(response["Item"])) if "Item" in response else None

    def tasks(self, collector_id: str, status: str = "open") -> list[Task]:
        """A collector's tasks of a status, oldest first (the inbox index)."""
        items = self._query(
            IndexName="inbox",
            KeyConditionExpression="inbox_pk = :pk",
            ExpressionAttributeValues=to_attributes({":pk": keys.task_inbox_pk(collector_id, status)}),
        )
        return [item_to_task(item) for item in items]

    def complete_task(self, done: Task, unit_after: Unit | None, unit_version: int) -> bool:
        """Close a task (only if still open), lower its collector's load, and change the unit as the outcome
        says, all at once; False when the task was closed meanwhile or the unit changed (try again)."""
        operations: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.name,
                    "Item": to_attributes(task_to_item(done, self._tz)),
                    "ConditionExpression": "#status = :open",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": to_attributes({":open": "open"}),
                }
            },
            {
                "Update": {
                    "TableName": self.name,
                    "Key": to_attributes(keys.collector_item(done.collector_id)),
                    "UpdateExpression": "ADD open_tasks :minus_one",
                    "ExpressionAttributeValues": to_attributes({":minus_one": -1}),
                }
            },
        ]
        if unit_after is not None:
            operations.append(self._put_unit_op(unit_after, unit_version))
        return self._transact(operations) is None

    # ------------------------------------------------------------------ the collectors' morning digest
    def claim_digest(self, collector_id: str, day: date, at: datetime) -> bool:
        """Claim a collector's digest of a day; False when it was claimed already (sent, or being sent)."""
        item = {
            **keys.digest_item(day, collector_id),
            "kind": "digest",
            "status": "claimed",
            "claimed_at": at.isoformat(),
        }
        return self._put_new(item)

    def digest_sent(self, collector_id: str, day: date, provider_message_id: str, tasks: int, at: datetime) -> None:
        self.db.update_item(
            TableName=self.name,
            Key=to_attributes(keys.digest_item(day, collector_id)),
            UpdateExpression="SET #status = :sent, provider_message_id = :id, tasks = :tasks, sent_at = :at",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=to_attributes(
                {":sent": "sent", ":id": provider_message_id, ":tasks": tasks, ":at": at.isoformat()}
            ),
        )

    def release_digest(self, collector_id: str, day: date) -> None:
        """Give the claim back: the provider did not take the message, the retry may send it."""
        self.db.delete_item(TableName=self.name, Key=to_attributes(keys.digest_item(day, collector_id)))

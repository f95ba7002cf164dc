"""The daily report's reads of the propfee table (a day's activity, the period totals) and its own snapshots."""

from __future__ import annotations

from datetime import date

from propfee.aws import keys
from propfee.aws.dynamo_table import TableBase, fields_of, from_attributes, to_attributes
from propfee.aws.dynamo_tasks import item_to_task
from propfee.domain.activity import DayActivity, LinkOpened, Skip, StartedOrder
from propfee.domain.day_snapshot import DaySnapshot
from propfee.domain.models import Payment, PeriodTotal, Reminder, Task


class ReportRecords(TableBase):
    """What the daily report reads, and the snapshot of each day it keeps (so that a rerun reports the same)."""

    def day_activity(self, community_id: str, day: date) -> DayActivity:
        payments: list[Payment] = []
        reminders: list[Reminder] = []
        skips: list[Skip] = []
        tasks_done: list[Task] = []
        openings: list[LinkOpened] = []
        orders: list[StartedOrder] = []
        for item in self._query(
            IndexName="activity",
            KeyConditionExpression="activity_pk = :pk",
            ExpressionAttributeValues=to_attributes({":pk": keys.activity_pk(community_id, day)}),
        ):
            kind = item.get("kind")
            if kind == "payment":
                payments.append(Payment.model_validate(fields_of(Payment, item)))
            elif kind == "reminder":
                reminders.append(Reminder.model_validate(fields_of(Reminder, item)))
            elif kind == "skip":
                skips.append(Skip.model_validate(fields_of(Skip, item)))
            elif kind == "task":
                tasks_done.append(item_to_task(item))
            elif kind == "link_opened":
                openings.append(LinkOpened.model_validate(fields_of(LinkOpened, item)))
            elif kind == "payment_order":
                orders.append(StartedOrder.model_validate(fields_of(StartedOrder, item)))
        return DayActivity(
            payments=tuple(payments),
            reminders=tuple(reminders),
            skips=tuple(skips),
            tasks_done=tuple(tasks_done),
            link_openings=tuple(openings),
            orders=tuple(orders),
        )

    def period_totals(self, community_id: str) -> list[PeriodTotal]:
        items = self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :period)",
            ExpressionAttributeValues=to_attributes({":pk": f"COMMUNITY#{community_id}", ":period": "PERIOD#"}),
        )
        return [PeriodTotal.model_validate(fields_of(PeriodTotal, item)) for item in items]

    # ------------------------------------------------------------------ the daily report's own memory
    def keep_report_snapshot(self, snapshot: DaySnapshot) -> DaySnapshot:
        """The day's snapshot as its first report saw it: a rerun of the report, later, finds it and keeps it,
        so that the trend and the phases' baselines do not change with when a day was rerun."""
        item = {
            **keys.report_snapshot_item(snapshot.community_id, snapshot.day),
            "kind": "report_snapshot",
            "figures": snapshot.model_dump_json(),
        }
        if not self._put_new(item):
            key = to_attributes(keys.report_snapshot_item(snapshot.community_id, snapshot.day))
            stored = self.db.get_item(TableName=self.name, Key=key, ConsistentRead=True)["Item"]
            return DaySnapshot.model_validate_json(str(from_attributes(stored)["figures"]))
        return snapshot

    def report_snapshot_before(self, community_id: str, day: date) -> DaySnapshot | None:
        """The latest snapshot of a day before `day` (a phase's baseline), however long ago."""
        response = self.db.query(
            TableName=self.name,
            KeyConditionExpression="pk = :pk AND sk < :day",
            ExpressionAttributeValues=to_attributes(
                {
                    ":pk": keys.report_snapshots_pk(community_id),
                    ":day": keys.report_snapshot_item(community_id, day)["sk"],
                }
            ),
            ScanIndexForward=False,
            Limit=1,
        )
        items = [from_attributes(item) for item in response.get("Items", [])]
        return DaySnapshot.model_validate_json(str(items[0]["figures"])) if items else None

    def report_snapshots(self, community_id: str, first: date, last: date) -> list[DaySnapshot]:
        items = self._query(
            KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :last",
            ExpressionAttributeValues=to_attributes(
                {
                    ":pk": keys.report_snapshots_pk(community_id),
                    ":first": keys.report_snapshot_item(community_id, first)["sk"],
                    ":last": keys.report_snapshot_item(community_id, last)["sk"],
                }
            ),
        )
        return [DaySnapshot.model_validate_json(str(item["figures"])) for item in items]

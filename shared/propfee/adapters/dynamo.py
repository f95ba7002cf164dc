"""The propfee DynamoDB table: ledger, reminders (claims and evidence) and report reads."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from propfee import ledger
from propfee.adapters import keys
from propfee.adapters.aws import client, error_code
from propfee.delivery import STATUS_RANK, DeliveryEvent, Disabled, Recorded, addresses_meant
from propfee.models import (
    Bill,
    Building,
    Channel,
    Collector,
    Community,
    DayActivity,
    Payment,
    PeriodTotal,
    Reminder,
    ReminderStatus,
    SendJob,
    Skip,
    Task,
    Unit,
)
from propfee.ports import ClaimResult
from propfee.report_history import DaySnapshot

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
MAX_OPTIMISTIC_RETRIES = 5
BATCH_WRITE_LIMIT = 25  # AWS rejects more per call (moto does not)
# DynamoDB API reference, TransactWriteItems: at most 100 actions. A payment's own transaction holds its item, its
# reference and the unit (3), then two updates per period it settles (the bill and the period's total).
TRANSACT_LIMIT = 100
PERIODS_WITH_PAYMENT = (TRANSACT_LIMIT - 3) // 2
PERIODS_PER_FOLLOW_UP = (TRANSACT_LIMIT - 1) // 2  # and the payment item, whose pending periods it removes
MESSAGE_LOOKUP_KEPT = timedelta(days=90)  # replies come within days; DynamoDB's TTL removes the lookup


def _message_lookup(job: SendJob, provider_message_id: str, at: datetime) -> dict[str, Any]:
    """An owner's reply names the message it answers, and an SES identity notification (no tags) only the
    message: this item finds the reminder (and the unit) again."""
    return {
        **keys.message_item(provider_message_id),
        "unit_id": job.unit_id,
        "claim": job.claim_key,
        "expires_at": int((at + MESSAGE_LOOKUP_KEPT).timestamp()),
    }


class ConcurrentUpdate(Exception):
    """Another writer kept changing the unit; the caller may retry."""


def to_attributes(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in item.items() if v is not None}


def from_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in attributes.items()}


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal: integral ones become int for the models."""
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return {_plain(v) for v in value}
    return value


def unit_to_item(unit: Unit) -> dict[str, Any]:
    data = unit.model_dump(mode="json", exclude={"area_m2", "rate_fen_per_m2", "steps_done"})
    item: dict[str, Any] = {**keys.unit_item(unit.unit_id), **data, "area_m2": unit.area_m2}
    if unit.rate_fen_per_m2 is not None:
        item["rate_fen_per_m2"] = unit.rate_fen_per_m2
    if unit.steps_done:
        item["steps_done"] = set(unit.steps_done)
    item["balance_fen"] = unit.balance_fen
    oldest = unit.oldest_due
    if oldest is not None:  # the sparse arrears index holds only units that owe money
        item["arrears_pk"] = keys.arrears_pk(unit.community_id)
        item["arrears_sk"] = keys.arrears_sk(oldest, unit.unit_id)
    return item


def item_to_unit(item: dict[str, Any]) -> Unit:
    fields = {k: v for k, v in item.items() if k in Unit.model_fields}
    area, rate = fields.pop("area_m2"), fields.pop("rate_fen_per_m2", None)
    fields = _plain(fields)
    fields["area_m2"], fields["rate_fen_per_m2"] = area, rate  # Decimals stay exact
    return Unit.model_validate(fields)


def bill_to_item(bill: Bill, paid_fen: int = 0) -> dict[str, Any]:
    return {
        **keys.bill_item(bill.unit_id, bill.period),
        **bill.model_dump(mode="json"),
        "at": bill.issued_at.isoformat(),
        "kind": "bill",
        "paid_fen": paid_fen,
    }


def payment_to_item(payment: Payment, allocation: ledger.Allocation, tz: ZoneInfo) -> dict[str, Any]:
    local_day = payment.paid_at.astimezone(tz).date()
    return {
        **keys.payment_item(payment.unit_id, payment.reference),
        **payment.model_dump(mode="json"),
        "kind": "payment",
        "at": payment.paid_at.isoformat(),
        "allocations": allocation.by_period,
        "credit_fen": allocation.credit_fen,
        "activity_pk": keys.activity_pk(payment.community_id, local_day),
        "activity_sk": f"{payment.paid_at.isoformat()}#payment#{payment.reference}",
    }


def period_total_to_item(total: PeriodTotal) -> dict[str, Any]:
    return {**keys.period_total(total.community_id, total.period), **total.model_dump(mode="json")}


def _model_fields(model: type[Any], item: dict[str, Any]) -> dict[str, Any]:
    return _plain({k: v for k, v in item.items() if k in model.model_fields})


class PropfeeTable:
    """One table, many item types (see adapters/keys.py). Implements the ledger, reminder and report ports."""

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
        self._deferred: list[dict[str, Any]] | None = None
        self._claimed: dict[tuple[str, str], dict[str, Any]] = {}

    @property
    def db(self) -> Any:
        # an injected client (tests), or the process-wide one (created lazily, shared by adapters)
        return self._client if self._client is not None else client("dynamodb")

    # ------------------------------------------------------------------ reading
    def get_unit(self, unit_id: str) -> Unit | None:
        response = self.db.get_item(
            TableName=self.name, Key=to_attributes(keys.unit_item(unit_id)), ConsistentRead=True
        )
        if "Item" not in response:
            return None
        return item_to_unit(from_attributes(response["Item"]))

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        paginator = self.db.get_paginator("query")
        for page in paginator.paginate(TableName=self.name, **kwargs):
            for attributes in page["Items"]:
                yield from_attributes(attributes)

    def communities(self) -> list[Community]:
        items = self._query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_attributes({":pk": keys.COMMUNITIES}),
        )
        return [Community.model_validate(_model_fields(Community, item)) for item in items]

    def units_owing(self, community_id: str, due_before: date) -> Iterator[Unit]:
        """Units whose oldest unpaid bill fell due before the given day (the sparse arrears index)."""
        items = self._query(
            IndexName="arrears",
            KeyConditionExpression="arrears_pk = :pk AND arrears_sk < :before",
            ExpressionAttributeValues=to_attributes(
                {":pk": keys.arrears_pk(community_id), ":before": due_before.isoformat()}
            ),
        )
        for item in items:
            yield item_to_unit(item)

    def unit_history(self, unit_id: str) -> list[dict[str, Any]]:
        """Every dated record of a unit (bills, payments, skips, messages, and its reminders from the evidence
        partition) in time order: the LSI of each partition, merged."""
        records = [
            item
            for pk in (keys.unit_item(unit_id)["pk"], keys.evidence_pk(unit_id))
            for item in self._query(
                IndexName="timeline",
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues=to_attributes({":pk": pk}),
            )
        ]
        return sorted(records, key=lambda record: str(record.get("at", "")))

    def units_by_phone(self, phone_e164: str) -> list[str]:
        items = self._query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_attributes({":pk": f"PHONE#{phone_e164}"}),
        )
        return [str(item["unit_id"]) for item in items]

    def day_activity(self, community_id: str, day: date) -> DayActivity:
        payments: list[Payment] = []
        reminders: list[Reminder] = []
        skips: list[Skip] = []
        tasks_done: list[Task] = []
        for item in self._query(
            IndexName="activity",
            KeyConditionExpression="activity_pk = :pk",
            ExpressionAttributeValues=to_attributes({":pk": keys.activity_pk(community_id, day)}),
        ):
            kind = item.get("kind")
            if kind == "payment":
                payments.append(Payment.model_validate(_model_fields(Payment, item)))
            elif kind == "reminder":
                reminders.append(Reminder.model_validate(_model_fields(Reminder, item)))
            elif kind == "skip":
                skips.append(Skip.model_validate(_model_fields(Skip, item)))
            elif kind == "task":
                tasks_done.append(self._item_to_task(item))
        return DayActivity(
            payments=tuple(payments), reminders=tuple(reminders), skips=tuple(skips), tasks_done=tuple(tasks_done)
        )

    def period_totals(self, community_id: str) -> list[PeriodTotal]:
        items = self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :period)",
            ExpressionAttributeValues=to_attributes({":pk": f"COMMUNITY#{community_id}", ":period": "PERIOD#"}),
        )
        return [PeriodTotal.model_validate(_model_fields(PeriodTotal, item)) for item in items]

    # ------------------------------------------------------------------ the daily report's own memory
    def keep_report_snapshot(self, snapshot: DaySnapshot) -> DaySnapshot:
        """The day's snapshot as its first report saw it: a rerun of the report, later, finds it and keeps it,
        so that the trend and the phases' baselines do not change with when a day was rerun."""
        item = {
            **keys.report_snapshot_item(snapshot.community_id, snapshot.day),
            "kind": "report_snapshot",
            "figures": snapshot.model_dump_json(),
        }
        try:
            self.db.put_item(
                TableName=self.name, Item=to_attributes(item), ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
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

    # ------------------------------------------------------------------ ledger writes
    def put_community(self, community: Community) -> None:
        item = {**keys.community_item(community.community_id), **community.model_dump(mode="json")}
        self.db.put_item(TableName=self.name, Item=to_attributes(item))

    def _reference_taken(self, reference: str) -> bool:
        key = to_attributes(keys.payment_reference_item(reference))
        return "Item" in self.db.get_item(TableName=self.name, Key=key, ConsistentRead=True)

    def paid_bills(self, unit_id: str) -> list[ledger.PaidBill]:
        items = self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :bill)",
            ExpressionAttributeValues=to_attributes({":pk": keys.unit_item(unit_id)["pk"], ":bill": "BILL#"}),
            ConsistentRead=True,
        )
        return [
            ledger.PaidBill(
                period=str(i["period"]),
                due=date.fromisoformat(str(i["due"])),
                amount_fen=int(i["amount_fen"]),
                paid_fen=int(i.get("paid_fen", 0)),
            )
            for i in items
        ]

    def unit_in_room(self, building_id: str, room: str) -> Unit | None:
        response = self.db.get_item(TableName=self.name, Key=to_attributes(keys.room_item(building_id, room)))
        return self.get_unit(str(from_attributes(response["Item"])["unit_id"])) if "Item" in response else None

    def unit_ids(self, community_id: str) -> list[str]:
        """Every unit of a community (the monthly billing run), from the community's directory items."""
        items = self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :unit)",
            ExpressionAttributeValues=to_attributes({":pk": f"COMMUNITY#{community_id}", ":unit": "UNIT#"}),
        )
        return [str(item["unit_id"]) for item in items]

    def buildings(self, community_id: str) -> list[Building]:
        items = self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :building)",
            ExpressionAttributeValues=to_attributes(
                {":pk": keys.building_item(community_id, "")["pk"], ":building": "BUILDING#"}
            ),
        )
        return [Building.model_validate(_model_fields(Building, item)) for item in items]

    def load_snapshot(self, snapshot: ledger.LedgerSnapshot) -> None:
        """Initial load of a ledger computed elsewhere (a migration or the simulation), in batches of 25."""
        for community in snapshot.communities:
            self.put_community(community)
        items: list[dict[str, Any]] = []
        items.extend(bill_to_item(bill, paid) for bill, paid in snapshot.bills)
        items.extend(payment_to_item(payment, allocation, self._tz) for payment, allocation in snapshot.payments)
        items.extend(
            {**keys.payment_reference_item(payment.reference), "unit_id": payment.unit_id}
            for payment, _ in snapshot.payments
        )
        items.extend(period_total_to_item(total) for total in snapshot.period_totals)
        self.batch_put(items)
        self.put_buildings_and_units(snapshot.buildings, snapshot.units)

    def put_buildings_and_units(self, buildings: Sequence[Building], units: Sequence[Unit]) -> None:
        """Buildings, units and their lookup items (room, phone number, email), in batches of 25."""
        items: list[dict[str, Any]] = []
        for building in buildings:
            items.append(
                {**keys.building_item(building.community_id, building.building_id), **building.model_dump(mode="json")}
            )
        for unit in units:
            items.append(unit_to_item(unit))
            items.append({**keys.room_item(unit.building_id, unit.room), "unit_id": unit.unit_id})
            items.append({**keys.community_unit_item(unit.community_id, unit.unit_id), "unit_id": unit.unit_id})
            for owner in unit.owners:
                if owner.phone:
                    items.append({**keys.phone_item(owner.phone, unit.unit_id), "unit_id": unit.unit_id})
                if owner.email:  # owners' emails to the feedback address (直通车) find their units
                    items.append({**keys.email_item(owner.email, unit.unit_id), "unit_id": unit.unit_id})
        self.batch_put(items)

    def batch_put(self, items: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(items), BATCH_WRITE_LIMIT):
            requests = [{"PutRequest": {"Item": to_attributes(i)}} for i in items[start : start + BATCH_WRITE_LIMIT]]
            pending: dict[str, Any] = {self.name: requests}
            while pending:
                response = self.db.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}

    def _put_unit_op(self, unit: Unit, expected_version: int) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.name,
                "Item": to_attributes(unit_to_item(unit)),
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": to_attributes({":v": expected_version}),
            }
        }

    def _add_to_period(self, community_id: str, period: str, **amounts: int) -> dict[str, Any]:
        names = sorted(amounts)
        return {
            "Update": {
                "TableName": self.name,
                "Key": to_attributes(keys.period_total(community_id, period)),
                "UpdateExpression": "SET community_id = :c, period = :p ADD " + ", ".join(f"{n} :{n}" for n in names),
                "ExpressionAttributeValues": to_attributes(
                    {":c": community_id, ":p": period, **{f":{n}": amounts[n] for n in names}}
                ),
            }
        }

    def issue_bill(self, bill: Bill) -> bool:
        """Add a bill to its unit; False when that period was already billed (idempotent)."""
        for _attempt in range(MAX_OPTIMISTIC_RETRIES):
            unit = self.get_unit(bill.unit_id)
            if unit is None:
                raise LookupError(f"unknown unit {bill.unit_id}")
            if bill.period in unit.open_bills:
                return False
            after = ledger.with_bill(unit, bill)
            paid_from_credit = unit.credit_fen - after.credit_fen
            bill_item = bill_to_item(bill, paid_fen=paid_from_credit)
            operations = [
                {
                    "Put": {
                        "TableName": self.name,
                        "Item": to_attributes(bill_item),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                self._put_unit_op(after, unit.version),
                self._add_to_period(
                    bill.community_id, bill.period, billed_fen=bill.amount_fen, bills=1, paid_fen=paid_from_credit
                ),
            ]
            reasons = self._transact(operations)
            if reasons is None:
                return True
            if reasons[0] == "ConditionalCheckFailed":
                return False
        raise ConcurrentUpdate(bill.unit_id)

    def record_payment(self, payment: Payment, unit: Unit | None = None) -> ledger.Allocation | None:
        """Apply a payment oldest bill first; None when its reference was already applied. `unit`, when the
        caller has just read it, saves a read (a stale one only costs a retry)."""
        for _attempt in range(MAX_OPTIMISTIC_RETRIES):
            unit = unit if unit is not None and unit.unit_id == payment.unit_id else self.get_unit(payment.unit_id)
            if unit is None:
                raise LookupError(f"unknown unit {payment.unit_id}")
            if payment.is_refund:  # re-opens the latest bills paid: their paid amounts are on the bill items
                if self._reference_taken(payment.reference):  # applied before: its money is no longer there
                    return None
                allocation = ledger.refund(unit, self.paid_bills(unit.unit_id), payment)
            else:
                allocation = ledger.allocate(unit, payment, self._allocation)
            payment_item = payment_to_item(payment, allocation, self._tz)
            periods = sorted(allocation.by_period.items())
            if len(periods) > PERIODS_WITH_PAYMENT:  # the rest follow, each period once (see _settle_pending)
                payment_item["pending_allocations"] = dict(periods[PERIODS_WITH_PAYMENT:])
            operations = [
                {
                    "Put": {
                        "TableName": self.name,
                        "Item": to_attributes(payment_item),
                        "ConditionExpression": "attribute_not_exists(pk)",
                        # a payment applied before comes back with what it may have left pending
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
                {
                    "Put": {
                        "TableName": self.name,
                        "Item": to_attributes(
                            {**keys.payment_reference_item(payment.reference), "unit_id": unit.unit_id}
                        ),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                self._put_unit_op(allocation.unit_after, unit.version),
            ]
            for period, amount in periods[:PERIODS_WITH_PAYMENT]:
                operations += self._settle_period(payment, period, amount)
            cancelled = self._transact_reasons(operations)
            if cancelled is None:
                self._settle_pending(payment, payment_item.get("pending_allocations", {}))
                return allocation
            reasons = [r.get("Code", "None") for r in cancelled]
            if "ConditionalCheckFailed" in reasons[:2]:  # this payment, or its reference for another unit
                before = from_attributes(cancelled[0].get("Item") or {})
                self._settle_pending(payment, before.get("pending_allocations") or {})  # a run stopped half-way
                return None
            unit = None  # changed meanwhile: read it again
        raise ConcurrentUpdate(payment.unit_id)

    def _settle_period(self, payment: Payment, period: str, amount: int) -> list[dict[str, Any]]:
        """The bill's paid amount and the period's total, moved by what the payment settles of that period."""
        return [
            {
                "Update": {
                    "TableName": self.name,
                    "Key": to_attributes(keys.bill_item(payment.unit_id, period)),
                    "UpdateExpression": "ADD paid_fen :a",
                    "ExpressionAttributeValues": to_attributes({":a": amount}),
                }
            },
            self._add_to_period(payment.community_id, period, paid_fen=amount),
        ]

    def _settle_pending(self, payment: Payment, pending: dict[str, Any]) -> None:
        """Settle the periods a payment of more than PERIODS_WITH_PAYMENT periods left on its item, in transactions
        that each remove the periods they settle (on condition they are still there): each period once, also when a
        run stopped half-way and the payment comes again."""
        if not pending:
            return
        key = to_attributes(keys.payment_item(payment.unit_id, payment.reference))
        payment_periods = dict(pending)
        for _attempt in range(MAX_OPTIMISTIC_RETRIES + len(payment_periods) // PERIODS_PER_FOLLOW_UP + 1):
            chunk = sorted(payment_periods.items())[:PERIODS_PER_FOLLOW_UP]
            if not chunk:
                return
            names = {f"#p{n}": period for n, (period, _) in enumerate(chunk)}
            operations = [op for period, amount in chunk for op in self._settle_period(payment, period, int(amount))]
            operations.append(
                {
                    "Update": {
                        "TableName": self.name,
                        "Key": key,
                        "UpdateExpression": "REMOVE " + ", ".join(f"pending_allocations.{n}" for n in names),
                        "ConditionExpression": " AND ".join(
                            f"attribute_exists(pending_allocations.{n})" for n in names
                        ),
                        "ExpressionAttributeNames": names,
                    }
                }
            )
            if self._transact(operations) is None:
                payment_periods = dict(sorted(payment_periods.items())[PERIODS_PER_FOLLOW_UP:])
            else:  # another run settled some meanwhile
                payment_periods = self._pending_allocations(key)
        raise ConcurrentUpdate(payment.unit_id)

    def _pending_allocations(self, key: dict[str, Any]) -> dict[str, Any]:
        item = self.db.get_item(
            TableName=self.name, Key=key, ProjectionExpression="pending_allocations", ConsistentRead=True
        ).get("Item")
        return dict(from_attributes(item).get("pending_allocations") or {}) if item else {}

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

    # ------------------------------------------------------------------ reminders
    def claim(
        self, job: SendJob, reminder: Reminder, recent_contacts: tuple[datetime, ...], task: Task | None = None
    ) -> ClaimResult:
        """Claim (unit, step, occurrence) and record the evidence in one transaction; the unit's recent
        contacts become the given ones (the claim holds only while the unit is as planned)."""
        evidence = self._reminder_item(job, reminder)
        operations = [
            {
                "Update": {
                    "TableName": self.name,
                    "Key": to_attributes(keys.unit_item(job.unit_id)),
                    "UpdateExpression": "ADD steps_done :step "
                    "SET recent_contacts = :contacts, version = version + :one",
                    "ConditionExpression": "version = :v AND NOT contains(steps_done, :step_id)",
                    "ExpressionAttributeValues": to_attributes(
                        {
                            ":step": {job.step},
                            ":step_id": job.step,
                            ":contacts": [c.isoformat() for c in recent_contacts],
                            ":one": 1,
                            ":v": job.unit_version,
                        }
                    ),
                }
            },
            {
                "Put": {
                    "TableName": self.name,
                    "Item": to_attributes(evidence),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
        if task is not None:  # the task and the collector's load, in the same all-or-nothing write
            operations += [
                {
                    "Put": {
                        "TableName": self.name,
                        "Item": to_attributes(self._task_item(task)),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Update": {
                        "TableName": self.name,
                        "Key": to_attributes(keys.collector_item(task.collector_id)),
                        "UpdateExpression": "ADD open_tasks :one",
                        "ExpressionAttributeValues": to_attributes({":one": 1}),
                    }
                },
            ]
        reasons = self._transact(operations)
        if reasons is None:
            if self._deferred is not None:
                self._claimed[(job.unit_id, job.claim_key)] = evidence
            return ClaimResult.CLAIMED
        if reasons[1] == "ConditionalCheckFailed":
            return ClaimResult.ALREADY_CLAIMED
        return ClaimResult.UNIT_CHANGED

    # ------------------------------------------------------------------ collectors and tasks
    def put_collectors(self, collectors: Sequence[Collector]) -> None:
        self.batch_put([{**keys.collector_item(c.collector_id), **c.model_dump(mode="json")} for c in collectors])

    def collectors(self) -> list[Collector]:
        items = self._query(
            KeyConditionExpression="pk = :pk", ExpressionAttributeValues=to_attributes({":pk": keys.COLLECTORS})
        )
        return [Collector.model_validate(_model_fields(Collector, item)) for item in items]

    def _task_item(self, task: Task) -> dict[str, Any]:
        item = {
            **keys.task_item(task.task_id),
            **task.model_dump(mode="json"),
            "kind": "task",
            "task_kind": task.kind.value,
            "inbox_pk": keys.task_inbox_pk(task.collector_id, task.status),
            "inbox_sk": f"{task.created_at.isoformat()}#{task.task_id}",
        }
        if task.done_at is not None:  # the day's activity lists the tasks closed that day, for the report
            item["activity_pk"] = keys.activity_pk(task.community_id, task.done_at.astimezone(self._tz).date())
            item["activity_sk"] = f"{task.done_at.isoformat()}#task#{task.task_id}"
        return item

    @staticmethod
    def _item_to_task(item: dict[str, Any]) -> Task:
        fields = _model_fields(Task, {**item, "kind": item["task_kind"]})
        return Task.model_validate(fields)

    def get_task(self, task_id: str) -> Task | None:
        response = self.db.get_item(
            TableName=self.name, Key=to_attributes(keys.task_item(task_id)), ConsistentRead=True
        )
        return self._item_to_task(from_attributes(response["Item"])) if "Item" in response else None

    def tasks(self, collector_id: str, status: str = "open") -> list[Task]:
        """A collector's tasks of a status, oldest first (the inbox index)."""
        items = self._query(
            IndexName="inbox",
            KeyConditionExpression="inbox_pk = :pk",
            ExpressionAttributeValues=to_attributes({":pk": keys.task_inbox_pk(collector_id, status)}),
        )
        return [self._item_to_task(item) for item in items]

    def complete_task(self, done: Task, unit_after: Unit | None, unit_version: int) -> bool:
        """Close a task (only if still open), lower its collector's load, and change the unit as the outcome
        says, all at once; False when the task was closed meanwhile or the unit changed (try again)."""
        operations: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.name,
                    "Item": to_attributes(self._task_item(done)),
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

    def _reminder_item(self, job: SendJob, reminder: Reminder) -> dict[str, Any]:
        local_day = reminder.claimed_at.astimezone(self._tz).date()
        return {
            **keys.reminder_item(job.unit_id, job.claim_key),
            **reminder.model_dump(mode="json"),
            "kind": "reminder",
            "at": reminder.claimed_at.isoformat(),
            "timeline": [{"status": "claimed", "at": reminder.claimed_at.isoformat()}],
            "activity_pk": keys.activity_pk(job.community_id, local_day),
            "activity_sk": f"{reminder.claimed_at.isoformat()}#reminder#{job.unit_id}#{job.claim_key}",
        }

    @contextmanager
    def deferred_evidence(self) -> Iterator[None]:
        """Within this block, "sent" evidence is written in batches when the block ends, one call per 25
        reminders instead of one each. A crash before the end leaves those records "claimed" (never
        resent); the provider's delivery event, which carries the claim, fills in the rest."""
        self._deferred, self._claimed = [], {}
        try:
            yield
        finally:
            pending, self._deferred, self._claimed = self._deferred, None, {}
            self.batch_put(pending)

    def _update_reminder(self, job: SendJob, status: ReminderStatus, at: datetime, **fields: str) -> None:
        names = sorted(fields)
        sets = ", ".join(f"{n} = :{n}" for n in names)
        self.db.update_item(
            TableName=self.name,
            Key=to_attributes(keys.reminder_item(job.unit_id, job.claim_key)),
            UpdateExpression="SET #status = :status, timeline = list_append(timeline, :event)"
            + (f", {sets}" if sets else ""),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=to_attributes(
                {
                    ":status": status.value,
                    ":event": [{"status": status.value, "at": at.isoformat(), **fields}],
                    **{f":{n}": fields[n] for n in names},
                }
            ),
        )

    def mark_sent(self, job: SendJob, provider_message_id: str, at: datetime) -> None:
        claimed = self._claimed.pop((job.unit_id, job.claim_key), None) if self._deferred is not None else None
        lookup = _message_lookup(job, provider_message_id, at)
        if claimed is None:
            self._update_reminder(
                job, ReminderStatus.SENT, at, provider_message_id=provider_message_id, sent_at=at.isoformat()
            )
            if job.channel.is_message:
                self.db.put_item(TableName=self.name, Item=to_attributes(lookup))
            return
        sent = {"status": ReminderStatus.SENT.value, "at": at.isoformat(), "provider_message_id": provider_message_id}
        assert self._deferred is not None
        self._deferred.append(
            {
                **claimed,
                "status": ReminderStatus.SENT.value,
                "sent_at": at.isoformat(),
                "provider_message_id": provider_message_id,
                "timeline": [*claimed["timeline"], sent],
            }
        )
        if job.channel.is_message:
            self._deferred.append(lookup)

    def mark_failed(self, job: SendJob, reason: str, at: datetime) -> None:
        self._update_reminder(job, ReminderStatus.FAILED, at, failure_reason=reason)

    def reminder(self, unit_id: str, claim_key: str) -> Reminder | None:
        """A reminder's evidence record as it stands (a consistent read: a claim just written is seen)."""
        response = self.db.get_item(
            TableName=self.name, Key=to_attributes(keys.reminder_item(unit_id, claim_key)), ConsistentRead=True
        )
        if "Item" not in response:
            return None
        return Reminder.model_validate(_model_fields(Reminder, from_attributes(response["Item"])))

    def release(self, job: SendJob) -> None:
        """Give a claim back after the provider did not accept the message: the step and the last
        contact are as they were when the job was planned (the claim required that version)."""
        self._transact(
            [
                {
                    "Delete": {
                        "TableName": self.name,
                        "Key": to_attributes(keys.reminder_item(job.unit_id, job.claim_key)),
                    }
                },
                {
                    "Update": {
                        "TableName": self.name,
                        "Key": to_attributes(keys.unit_item(job.unit_id)),
                        "UpdateExpression": "DELETE steps_done :step "
                        "SET recent_contacts = :contacts, version = version + :one",
                        "ExpressionAttributeValues": to_attributes(
                            {":step": {job.step}, ":one": 1, ":contacts": [c.isoformat() for c in job.recent_contacts]}
                        ),
                    }
                },
            ]
        )

    # ------------------------------------------------------------------ unconfirmed claims, settled by a person
    def confirm_claim(self, job: SendJob, provider_message_id: str, at: datetime, note: str) -> bool:
        """The provider's log shows the message of a claim that was never confirmed: record it as sent, with the
        provider's id (replies to it find the unit again). False when the claim is no longer "claimed"."""
        step = {"status": ReminderStatus.SENT.value, "at": at.isoformat(), "reason": note[:300]}
        confirmed = self._add_to_timeline(
            job.unit_id,
            job.claim_key,
            step,
            sets="provider_message_id = :message_id, sent_at = :at",
            condition="#status = :claimed",
            values={
                ":claimed": ReminderStatus.CLAIMED.value,
                ":message_id": provider_message_id,
                ":at": at.isoformat(),
            },
        )
        if not confirmed:
            return False
        if job.channel.is_message:
            self.db.put_item(TableName=self.name, Item=to_attributes(_message_lookup(job, provider_message_id, at)))
        return True

    def withdraw_claim(self, job: SendJob) -> bool:
        """The provider's log shows no message for a claim that was never confirmed: remove the claim and its step,
        so that the next plan decides the unit again (it may have paid meanwhile). The unit's recent contacts are
        left as they are (other reminders may have been sent since). False when the claim is no longer "claimed"."""
        reasons = self._transact(
            [
                {
                    "Delete": {
                        "TableName": self.name,
                        "Key": to_attributes(keys.reminder_item(job.unit_id, job.claim_key)),
                        "ConditionExpression": "#status = :claimed",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": to_attributes({":claimed": ReminderStatus.CLAIMED.value}),
                    }
                },
                {
                    "Update": {
                        "TableName": self.name,
                        "Key": to_attributes(keys.unit_item(job.unit_id)),
                        "UpdateExpression": "DELETE steps_done :step SET version = version + :one",
                        "ExpressionAttributeValues": to_attributes({":step": {job.step}, ":one": 1}),
                    }
                },
            ]
        )
        return reasons is None

    def reminder_of_message(self, provider_message_id: str) -> tuple[str, str] | None:
        """(unit, claim) of the reminder sent as this provider message (the `MSG#` lookup written with it)."""
        response = self.db.get_item(TableName=self.name, Key=to_attributes(keys.message_item(provider_message_id)))
        item = from_attributes(response["Item"]) if "Item" in response else None
        return (str(item["unit_id"]), str(item["claim"])) if item else None

    def record_delivery(self, event: DeliveryEvent) -> Recorded:
        """Add the provider's word to the evidence record (and the provider id, if a crash lost it): once per
        provider event, the status only forward (see propfee.delivery.STATUS_RANK). An event that would move it
        back is kept in the timeline with the conflict, and the status stays."""
        if event.unit_id is None or event.claim_key is None or event.status is None:
            return Recorded.UNKNOWN_REMINDER
        key = to_attributes(keys.reminder_item(event.unit_id, event.claim_key))
        for _attempt in range(MAX_OPTIMISTIC_RETRIES):
            response = self.db.get_item(
                TableName=self.name,
                Key=key,
                ConsistentRead=True,
                ProjectionExpression="#status, delivery_events",
                ExpressionAttributeNames={"#status": "status"},
            )
            if "Item" not in response:
                return Recorded.UNKNOWN_REMINDER
            item = from_attributes(response["Item"])
            if event.event_id in item.get("delivery_events", set()):
                return Recorded.DUPLICATE
            current = ReminderStatus(str(item["status"]))
            now_rank, new_rank = STATUS_RANK.get(current, len(STATUS_RANK)), STATUS_RANK[event.status]
            outcome = Recorded.RECORDED if new_rank > now_rank else Recorded.KEPT
            step: dict[str, str] = {"status": event.status.value, "at": event.at.isoformat(),
                                    "reason": event.reason[:300], "event_id": event.event_id[:300]}  # fmt: skip
            if new_rank < now_rank:
                outcome = Recorded.CONFLICT
                step["conflict"] = f"{event.status.value} reported after {current.value}: kept {current.value}"
            elif outcome is Recorded.KEPT:
                step["kept"] = current.value
            status_set = "#status = :status, " if outcome is Recorded.RECORDED else ""
            try:
                self.db.update_item(
                    TableName=self.name,
                    Key=key,
                    UpdateExpression=f"SET {status_set}timeline = list_append(timeline, :event), "
                    "provider_message_id = if_not_exists(provider_message_id, :message_id) ADD delivery_events :ids",
                    # nobody changed the status meanwhile, and this event is not in yet (a copy of it racing this one)
                    ConditionExpression="#status = :seen AND NOT contains(delivery_events, :id)",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues=to_attributes(
                        {
                            ":seen": current.value,
                            ":event": [step],
                            ":message_id": event.provider_message_id,
                            ":ids": {event.event_id},
                            ":id": event.event_id,
                            **({":status": event.status.value} if status_set else {}),
                        }
                    ),
                )
            except ClientError as error:
                if error_code(error) == "ConditionalCheckFailedException":
                    continue  # look again: the status moved, or the copy was recorded
                raise
            return outcome
        raise ConcurrentUpdate(f"{event.unit_id} {event.claim_key}")

    def _add_to_timeline(
        self, unit_id: str, claim_key: str, step: dict[str, str], sets: str, condition: str, values: dict[str, Any]
    ) -> bool:
        """A reminder's new status, appended to its timeline, if `condition` holds (else False)."""
        try:
            self.db.update_item(
                TableName=self.name,
                Key=to_attributes(keys.reminder_item(unit_id, claim_key)),
                UpdateExpression=f"SET #status = :status, timeline = list_append(timeline, :event), {sets}",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_attributes({":status": step["status"], ":event": [step], **values}),
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def disable_addresses(self, unit_id: str, channel: Channel, addresses: tuple[str, ...], reason: str) -> Disabled:
        """Stop using addresses that bounced or do not exist (email: see propfee.delivery.addresses_meant)."""
        for _attempt in range(MAX_OPTIMISTIC_RETRIES):
            unit = self.get_unit(unit_id)
            if unit is None:
                return Disabled.UNKNOWN_UNIT
            if channel is Channel.SMS:
                meant = set(addresses) & {o.phone for o in unit.owners if o.phone}
            else:
                meant = addresses_meant((o.email for o in unit.owners if o.email), addresses)
            if not meant:
                return Disabled.NOT_ON_UNIT
            field = "sms_disabled" if channel is Channel.SMS else "email_disabled"
            owners = tuple(
                owner.model_copy(update={field: reason})
                if (owner.phone if channel is Channel.SMS else owner.email) in meant and not getattr(owner, field)
                else owner
                for owner in unit.owners
            )
            if owners == unit.owners:
                return Disabled.ALREADY
            after = unit.model_copy(update={"owners": owners, "version": unit.version + 1})
            if self._transact([self._put_unit_op(after, unit.version)]) is None:
                return Disabled.DISABLED
        raise ConcurrentUpdate(unit_id)

    def record_skip(self, job: SendJob, reason: str, at: datetime) -> None:
        local_day = at.astimezone(self._tz).date()
        skip = Skip(unit_id=job.unit_id, community_id=job.community_id, step=job.step, reason=reason, at=at)
        item = {
            **keys.skip_item(job.unit_id, local_day, job.step),
            **skip.model_dump(mode="json"),
            "kind": "skip",
            "activity_pk": keys.activity_pk(job.community_id, local_day),
            "activity_sk": f"{at.isoformat()}#skip#{job.unit_id}#{job.step}",
        }
        self.db.put_item(TableName=self.name, Item=to_attributes(item))

"""The ledger in the propfee table: bills, payments (each reference once), refunds and the period totals."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from propfee.accounts import ledger
from propfee.aws import keys
from propfee.aws.dynamo_table import (
    MAX_OPTIMISTIC_RETRIES,
    TRANSACT_LIMIT,
    ConcurrentUpdate,
    from_attributes,
    to_attributes,
)
from propfee.aws.dynamo_units import UnitRecords
from propfee.domain.models import Bill, Payment, PeriodTotal, Unit

# A payment's own transaction holds its item, its reference and the unit (3), then two updates per period it
# settles (the bill and the period's total).
PERIODS_WITH_PAYMENT = (TRANSACT_LIMIT - 3) // 2
PERIODS_PER_FOLLOW_UP = (TRANSACT_LIMIT - 1) // 2  # and the payment item, whose pending periods it removes


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
        # a promise to pay kept by this payment (the reports and the collector's history read it here)
        **(
            {"promises_kept": [h.model_dump(mode="json") for h in allocation.promises_kept]}
            if allocation.promises_kept
            else {}
        ),
        "activity_pk": keys.activity_pk(payment.community_id, local_day),
        "activity_sk": f"{payment.paid_at.isoformat()}#payment#{payment.reference}",
    }


def period_total_to_item(total: PeriodTotal) -> dict[str, Any]:
    return {**keys.period_total(total.community_id, total.period), **total.model_dump(mode="json")}


class LedgerRecords(UnitRecords):
    """Bills and payments written with their unit and the period totals, all or nothing."""

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
            payment_item, operations = self.payment_operations(payment, unit, allocation)
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

    def payment_operations(
        self, payment: Payment, unit: Unit, allocation: ledger.Allocation, reserved: int = 0, **extra: Any
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """A payment's item and the transaction that applies it: the item (first; ALL_OLD when it exists), its
        reference (second), the unit, and each period it settles, as many as fit beside `reserved` actions of
        the caller's; the rest are left on the item as pending (see _settle_pending). `extra`: more attributes
        of the payment's item (its receipt's token)."""
        payment_item = {**payment_to_item(payment, allocation, self._tz), **extra}
        periods = sorted(allocation.by_period.items())
        fitting = (TRANSACT_LIMIT - 3 - reserved) // 2
        if len(periods) > fitting:  # the rest follow, each period once (see _settle_pending)
            payment_item["pending_allocations"] = dict(periods[fitting:])
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
                    "Item": to_attributes({**keys.payment_reference_item(payment.reference), "unit_id": unit.unit_id}),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            self._put_unit_op(allocation.unit_after, unit.version),
        ]
        for period, amount in periods[:fitting]:
            operations += self._settle_period(payment, period, amount)
        return payment_item, operations

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

"""Owners' messages, tickets and department inboxes in the propfee table (see docs/data-model.md)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from propfee.aws import keys
from propfee.aws.clients import error_code
from propfee.aws.dynamo import PropfeeTable
from propfee.aws.dynamo_table import from_attributes, to_attributes
from propfee.domain.models import InboundMessage, Ticket, Unit
from propfee.feedback.responses import Response

COUNTER_DAYS = 2  # message counters (flood limits) expire with DynamoDB's TTL


class RecordResult(StrEnum):
    RECORDED = "recorded"
    DUPLICATE = "duplicate"  # the same inbound message was recorded before (a redelivery)
    UNITS_CHANGED = "units_changed"  # a unit changed since it was read: decide again
    TICKET_ID_TAKEN = "ticket_id_taken"  # another message of the day has this ticket id: salt it


def opted_out_by(unit: Unit, response: Response | None) -> list[str]:
    """The opt-out flags ("sms_opt_out", "email_opt_out") the response switched on for one of the unit's owners."""
    after = next((u for u in response.units_after if u.unit_id == unit.unit_id), None) if response else None
    if after is None:
        return []
    pairs = list(zip(unit.owners, after.owners, strict=False))  # a response changes owners' flags, never their order
    return [f for f in ("sms_opt_out", "email_opt_out") if any(getattr(a, f) and not getattr(b, f) for b, a in pairs)]


class FeedbackTable(PropfeeTable):
    # ------------------------------------------------------------------ who wrote, about what
    def units_by_contact(self, sender: str) -> list[Unit]:
        """The units of a phone number or an email address (an owner may hold several)."""
        if sender.startswith("wechat:"):  # an owner's WeChat, bound to units from their bill pages
            unit_ids = self.units_by_wechat(sender.removeprefix("wechat:"))
        elif "@" in sender:
            items = self._query(
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues=to_attributes({":pk": keys.email_item(sender, "-")["pk"]}),
            )
            unit_ids = [str(item["unit_id"]) for item in items]
        else:
            unit_ids = self.units_by_phone(sender)
        units = (self.get_unit(unit_id) for unit_id in unit_ids)
        return [u for u in units if u is not None]

    def reminder_answered(self, provider_message_id: str | None) -> tuple[str, str] | None:
        """(unit, claim) of the reminder whose provider id an owner's reply names."""
        return self.reminder_of_message(provider_message_id) if provider_message_id else None

    def count_message(self, sender: str, at: datetime) -> tuple[int, int]:
        """Count one more message from a sender: (this hour's count, today's count), UTC buckets."""
        counts = []
        for bucket in (f"{at.astimezone(UTC):%Y-%m-%dT%H}", f"{at.astimezone(UTC):%Y-%m-%d}"):
            response = self.db.update_item(
                TableName=self.name,
                Key=to_attributes(keys.sender_count_item(sender, bucket)),
                UpdateExpression="ADD messages :one SET expires_at = :expires",
                ExpressionAttributeValues=to_attributes(
                    {":one": 1, ":expires": int((at + timedelta(days=COUNTER_DAYS)).timestamp())}
                ),
                ReturnValues="UPDATED_NEW",
            )
            counts.append(int(from_attributes(response["Attributes"])["messages"]))
        return counts[0], counts[1]

    # ------------------------------------------------------------------ recording a message and its effects
    def get_inbound(self, source_id: str) -> dict[str, Any] | None:
        response = self.db.get_item(
            TableName=self.name, Key=to_attributes(keys.inbound_item(source_id)), ConsistentRead=True
        )
        return from_attributes(response["Item"]) if "Item" in response else None

    def record_message(
        self, message: InboundMessage, units: list[Unit], response: Response | None, outcome: str, pending: list[str]
    ) -> RecordResult:
        """The message (once: its provider id is the key), a copy in each unit's history, the ticket and
        the units as the response leaves them, all in one transaction. `pending` lists what is still to do
        after it (notify the department, acknowledge), so that a redelivery after a crash finishes it."""
        received = message.received_at.isoformat()
        local_day = message.received_at.astimezone(self._tz).date()
        community = units[0].community_id if units else "UNKNOWN"
        record: dict[str, Any] = {
            **keys.inbound_item(message.source_id),
            **message.model_dump(mode="json"),
            "kind": "inbound",
            "outcome": outcome,
            "community_id": community,
            "unit_ids": [u.unit_id for u in units],
            "pending": pending,
            "activity_pk": keys.activity_pk(community, local_day),
            "activity_sk": f"{received}#inbound#{message.source_id}",
        }
        if response is not None:
            record |= {
                "classification": response.classification.model_dump(mode="json"),
                "changes": list(response.changes),
                "ticket_id": response.ticket.ticket_id if response.ticket else None,
            }
            if response.acknowledgement is not None:
                ack = response.acknowledgement
                record["ack"] = {"template": ack.template, "language": ack.language, "context": ack.context}
        operations: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.name,
                    "Item": to_attributes(record),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        for unit in units:  # the evidence export and the unit's timeline show what the owner wrote
            copy = {
                **keys.unit_inbound_item(unit.unit_id, received, message.source_id),
                **message.model_dump(mode="json"),
                "kind": "inbound",
                "at": received,
                "outcome": outcome,
                "intent": response.classification.intent.value if response else None,
                # the collector's card lists the tickets a unit's replies opened
                "ticket_id": response.ticket.ticket_id if response and response.ticket else None,
            }
            switched_off = opted_out_by(unit, response)
            if switched_off:  # the managers' list of opt-outs (the inbox index, sparse)
                copy |= {"opted_out": switched_off, "inbox_pk": keys.opt_outs_pk(unit.community_id),
                         "inbox_sk": f"{received}#{unit.unit_id}#{message.source_id}"}  # fmt: skip
            operations.append({"Put": {"TableName": self.name, "Item": to_attributes(copy)}})
        ticket_at = None
        if response is not None:
            if response.ticket is not None:
                ticket_at = len(operations)
                operations.append(
                    {
                        "Put": {
                            "TableName": self.name,
                            "Item": to_attributes(self._ticket_item(response.ticket)),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    }
                )
            operations += [self._put_unit_op(unit, unit.version - 1) for unit in response.units_after]
        reasons = self._transact(operations)
        if reasons is None:
            return RecordResult.RECORDED
        if reasons[0] == "ConditionalCheckFailed":
            return RecordResult.DUPLICATE
        if ticket_at is not None and reasons[ticket_at] == "ConditionalCheckFailed":
            return RecordResult.TICKET_ID_TAKEN
        return RecordResult.UNITS_CHANGED

    def finish_step(self, source_id: str, step: str, **fields: Any) -> None:
        """One pending step done (or given up), with what it produced."""
        names = sorted(fields)
        sets = "".join(f", {n} = :{n}" for n in names)
        item = from_attributes(
            self.db.get_item(TableName=self.name, Key=to_attributes(keys.inbound_item(source_id)))["Item"]
        )
        pending = [p for p in item.get("pending", []) if p != step]
        remove = " REMOVE inbox_pk, inbox_sk" if step == "ack" else ""
        self.db.update_item(
            TableName=self.name,
            Key=to_attributes(keys.inbound_item(source_id)),
            UpdateExpression=f"SET pending = :pending{sets}{remove}",
            ExpressionAttributeValues=to_attributes({":pending": pending, **{f":{n}": fields[n] for n in names}}),
        )

    def defer_ack(self, source_id: str, received_at: datetime) -> None:
        """Outside the contact window: the hourly run sends it once the window opens (the inbox index)."""
        self.db.update_item(
            TableName=self.name,
            Key=to_attributes(keys.inbound_item(source_id)),
            UpdateExpression="SET inbox_pk = :pk, inbox_sk = :sk",
            ExpressionAttributeValues=to_attributes(
                {":pk": keys.PENDING_ACKS, ":sk": f"{received_at.isoformat()}#{source_id}"}
            ),
        )

    def deferred_acks(self) -> list[dict[str, Any]]:
        return list(
            self._query(
                IndexName="inbox",
                KeyConditionExpression="inbox_pk = :pk",
                ExpressionAttributeValues=to_attributes({":pk": keys.PENDING_ACKS}),
            )
        )

    def claim_ack(self, sender: str, now: datetime, every: timedelta, ticket_id: str | None = None) -> bool:
        """At most one acknowledgement per sender per period (a bot answering our answers gets one), except
        that each new ticket gets its own, once: a second, different complaint is answered too (the hourly and
        daily message limits stop floods before a ticket opens)."""
        expires = int((now + every + timedelta(days=1)).timestamp())
        stamp = {":now": now.astimezone(UTC).isoformat(), ":expires": expires}
        sender_item = keys.sender_ack_item(sender)
        if ticket_id is None:
            since = {":since": (now - every).astimezone(UTC).isoformat()}
            return self._stamp_ack(sender_item, stamp | since, "attribute_not_exists(acked_at) OR acked_at < :since")
        if not self._stamp_ack(keys.ticket_ack_item(sender, ticket_id), stamp, "attribute_not_exists(acked_at)"):
            return False
        # and the period starts again, so that a non-ticket answer does not follow within it
        return self._stamp_ack(sender_item, stamp)

    def _stamp_ack(self, key: dict[str, str], values: dict[str, Any], condition: str | None = None) -> bool:
        """Stamp an acknowledgement item; False when the condition (if any) refuses it."""
        request: dict[str, Any] = {
            "TableName": self.name,
            "Key": to_attributes(key),
            "UpdateExpression": "SET acked_at = :now, expires_at = :expires",
            "ExpressionAttributeValues": to_attributes(values),
        }
        try:
            self.db.update_item(**request, **({"ConditionExpression": condition} if condition else {}))
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def day_messages(self, community_id: str, day: date) -> list[dict[str, Any]]:
        """Owners' messages of one community's local day, with how each was understood (the activity index)."""
        return list(
            self._query(
                IndexName="activity",
                KeyConditionExpression="activity_pk = :pk",
                FilterExpression="kind = :inbound",
                ExpressionAttributeValues=to_attributes(
                    {":pk": keys.activity_pk(community_id, day), ":inbound": "inbound"}
                ),
            )
        )

    # ------------------------------------------------------------------ tickets
    @staticmethod
    def _ticket_item(ticket: Ticket) -> dict[str, Any]:
        return {
            **keys.ticket_item(ticket.ticket_id),
            **ticket.model_dump(mode="json"),
            "kind": "ticket",
            "inbox_pk": keys.ticket_inbox_pk(ticket.department, ticket.status.value),
            "inbox_sk": f"{ticket.due_by.astimezone(UTC).isoformat()}#{ticket.ticket_id}",
        }

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        response = self.db.get_item(
            TableName=self.name, Key=to_attributes(keys.ticket_item(ticket_id)), ConsistentRead=True
        )
        return _ticket(from_attributes(response["Item"])) if "Item" in response else None

    def tickets_by_id(self, ticket_ids: Sequence[str]) -> list[Ticket]:
        """The tickets of these ids that exist (batched, consistent reads)."""
        return [_ticket(i) for i in self._batch_get([keys.ticket_item(t) for t in ticket_ids])]

    def tickets(self, department: str, status: str = "open", due_before: datetime | None = None) -> list[Ticket]:
        """A department's tickets of a status, the nearest deadline first (the inbox index)."""
        condition, values = "inbox_pk = :pk", {":pk": keys.ticket_inbox_pk(department, status)}
        if due_before is not None:
            condition += " AND inbox_sk < :before"
            values[":before"] = due_before.astimezone(UTC).isoformat()
        items = self._query(
            IndexName="inbox", KeyConditionExpression=condition, ExpressionAttributeValues=to_attributes(values)
        )
        return [_ticket(item) for item in items]

    def tickets_with_queued_replies(self) -> list[Ticket]:
        """The tickets whose markers are in the index (keys.QUEUED_REPLIES): one query, then each ticket."""
        markers = self._query(
            IndexName="inbox",
            KeyConditionExpression="inbox_pk = :pk",
            ExpressionAttributeValues=to_attributes({":pk": keys.QUEUED_REPLIES}),
        )
        found = (self.get_ticket(str(marker["inbox_sk"])) for marker in markers)
        return [ticket for ticket in found if ticket is not None and ticket.queued_replies]

    def save_ticket(self, before: Ticket, after: Ticket, units_after: list[Unit]) -> bool:
        """Write a ticket's new state if it is still as read, with the units it changes (holds released);
        False when something changed meanwhile (read again and retry)."""
        operations: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.name,
                    "Item": to_attributes(self._ticket_item(after)),
                    "ConditionExpression": "#status = :status AND attribute_not_exists(escalated_at) OR "
                    "#status = :status AND escalated_at = :escalated",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": to_attributes(
                        {
                            ":status": before.status.value,
                            ":escalated": before.model_dump(mode="json")["escalated_at"] or "-",
                        }
                    ),
                }
            },
            *(self._put_unit_op(unit, unit.version - 1) for unit in units_after),
        ]
        if bool(before.queued_replies) != bool(after.queued_replies):
            # the marker is put either way (no delete needed): in the index while an answer waits, out of it after
            marker = {**keys.ticket_queue_item(after.ticket_id), "kind": "ticket_queue"}
            if after.queued_replies:
                marker |= {"inbox_pk": keys.QUEUED_REPLIES, "inbox_sk": after.ticket_id}
            operations.append({"Put": {"TableName": self.name, "Item": to_attributes(marker)}})
        return self._transact(operations) is None


def _ticket(item: dict[str, Any]) -> Ticket:
    fields = {k: v for k, v in item.items() if k in Ticket.model_fields}
    fields["unit_ids"] = tuple(fields.get("unit_ids") or ())
    return Ticket.model_validate(fields)

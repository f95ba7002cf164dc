"""Reminders in the propfee table: claims, their evidence records and delivery events, message lookups and skips."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from propfee.aws import keys
from propfee.aws.clients import error_code
from propfee.aws.dynamo_links import link_to_item
from propfee.aws.dynamo_table import (
    MAX_OPTIMISTIC_RETRIES,
    ConcurrentUpdate,
    TableBase,
    fields_of,
    from_attributes,
    to_attributes,
)
from propfee.aws.dynamo_tasks import task_to_item
from propfee.collection.delivery import STATUS_RANK, DeliveryEvent, Recorded
from propfee.domain.activity import Skip
from propfee.domain.models import Reminder, ReminderStatus, SendJob, Task, UnitBillLink
from propfee.domain.ports import ClaimResult
from propfee.payments.links import BillLink

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


class EvidenceRecords(TableBase):
    """A step claimed once with its evidence record, whose status then moves only forward."""

    def claim(
        self,
        job: SendJob,
        reminder: Reminder,
        recent_contacts: tuple[datetime, ...],
        task: Task | None = None,
        new_link: UnitBillLink | None = None,
    ) -> ClaimResult:
        """Claim (unit, step, occurrence) and record the evidence in one transaction; the unit's recent
        contacts become the given ones (the claim holds only while the unit is as planned). A new bill link
        named by the message is written in the same transaction and becomes the unit's."""
        evidence = self._reminder_item(job, reminder)
        values: dict[str, Any] = {
            ":step": {job.step},
            ":step_id": job.step,
            ":contacts": [c.isoformat() for c in recent_contacts],
            ":one": 1,
            ":v": job.unit_version,
        }
        sets = "SET recent_contacts = :contacts, version = version + :one"
        if new_link is not None:
            sets += ", bill_link = :link"
            values[":link"] = new_link.model_dump(mode="json")
        operations = [
            {
                "Update": {
                    "TableName": self.name,
                    "Key": to_attributes(keys.unit_item(job.unit_id)),
                    "UpdateExpression": f"ADD steps_done :step {sets}",
                    "ConditionExpression": "version = :v AND NOT contains(steps_done, :step_id)",
                    "ExpressionAttributeValues": to_attributes(values),
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
        if new_link is not None:
            link = BillLink.of_unit(job.unit_id, job.community_id, new_link)
            operations.append(
                {
                    "Put": {
                        "TableName": self.name,
                        "Item": to_attributes(link_to_item(link)),
                        "ConditionExpression": "attribute_not_exists(pk)",  # a token is never reissued
                    }
                }
            )
        if task is not None:  # the task and the collector's load, in the same all-or-nothing write
            operations += [
                {
                    "Put": {
                        "TableName": self.name,
                        "Item": to_attributes(task_to_item(task, self._tz)),
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
        return Reminder.model_validate(fields_of(Reminder, from_attributes(response["Item"])))

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
        provider event, the status only forward (see propfee.collection.delivery.STATUS_RANK). An event that would
        move it back is kept in the timeline with the conflict, and the status stays."""
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

    def unit_history(self, unit_id: str) -> list[dict[str, Any]]:
        """Every dated record of a unit (bills, payments, skips, messages, its reminders from the evidence
        partition, the staff's actions from the audit partition) in time order: the LSI of each partition, merged."""
        records = [
            item
            for pk in (keys.unit_item(unit_id)["pk"], keys.evidence_pk(unit_id), keys.audit_pk(unit_id))
            for item in self._query(
                IndexName="timeline",
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues=to_attributes({":pk": pk}),
            )
        ]
        return sorted(records, key=lambda record: str(record.get("at", "")))

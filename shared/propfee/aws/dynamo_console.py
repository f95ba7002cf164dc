"""What the managers' and finance's console pages read and settle in the propfee table: a community's claims still
"claimed" on a day (the unconfirmed ones among them), a person's word on one of them, and the owners who opted out
(a sparse marker the receive flow writes on the unit's copy of the message that did it, in the inbox index)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from botocore.exceptions import ClientError

from propfee.aws import keys
from propfee.aws.clients import error_code
from propfee.aws.dynamo_table import TableBase, fields_of, to_attributes
from propfee.domain.models import Reminder, ReminderStatus

MESSAGE_LOOKUP_SECONDS = 90 * 86400  # as aws.dynamo_evidence keeps a sent message's lookup for the owner's reply


class ConsoleRecords(TableBase):
    def claimed_reminders(self, community_id: str, day: date) -> list[Reminder]:
        """The reminders claimed on a community's local day that are still only "claimed" (the activity index)."""
        items = self._query(
            IndexName="activity",
            KeyConditionExpression="activity_pk = :pk",
            FilterExpression="kind = :reminder AND #status = :claimed",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=to_attributes(
                {":pk": keys.activity_pk(community_id, day), ":reminder": "reminder", ":claimed": "claimed"}
            ),
        )
        return [Reminder.model_validate(fields_of(Reminder, item)) for item in items]

    def settle_claim(
        self, reminder: Reminder, sent: bool, at: datetime, note: str, provider_message_id: str | None = None
    ) -> bool:
        """A person's word on an unconfirmed claim, appended to its timeline while it is still "claimed" (else
        False): sent (with the provider's id, so that a reply finds the unit), or not sent, which spends the step
        as a provider's refusal does (status failed; the ladder moves on). The record is never deleted here."""
        claim_key = f"REMINDER#{reminder.step}#{reminder.occurrence}"
        status = ReminderStatus.SENT if sent else ReminderStatus.FAILED
        event = {"status": status.value, "at": at.isoformat(), "reason": note[:300]}
        values: dict[str, Any] = {":status": status.value, ":event": [event], ":claimed": ReminderStatus.CLAIMED.value}
        if sent:
            sets = ", provider_message_id = :message_id, sent_at = :at"
            values |= {":message_id": provider_message_id, ":at": at.isoformat()}
        else:
            sets, values[":why"] = ", failure_reason = :why", note[:300]
        try:
            self.db.update_item(
                TableName=self.name,
                Key=to_attributes(keys.reminder_item(reminder.unit_id, claim_key)),
                UpdateExpression=f"SET #status = :status, timeline = list_append(timeline, :event){sets}",
                ConditionExpression="#status = :claimed",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_attributes(values),
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        if sent and provider_message_id and reminder.channel.is_message:
            lookup = {
                **keys.message_item(provider_message_id),
                "unit_id": reminder.unit_id,
                "claim": claim_key,
                "expires_at": int(at.timestamp()) + MESSAGE_LOOKUP_SECONDS,
            }
            self.db.put_item(TableName=self.name, Item=to_attributes(lookup))
        return True

    def opt_outs(self, community_id: str) -> list[dict[str, Any]]:
        """The messages that switched an owner's SMS or email off in a community, newest first: each the unit's copy
        of the message (its sender, words, when), with `opted_out` naming the flags it set."""
        return list(
            self._query(
                IndexName="inbox",
                KeyConditionExpression="inbox_pk = :pk",
                ExpressionAttributeValues=to_attributes({":pk": keys.opt_outs_pk(community_id)}),
                ScanIndexForward=False,
            )
        )

"""Bill links and the web pages' rate counters in the propfee table (keys.bill_link_item, keys.rate_count_item)."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from propfee.aws import keys
from propfee.aws.clients import error_code
from propfee.aws.dynamo_table import TableBase, from_attributes, plain, to_attributes
from propfee.domain.models import UnitBillLink
from propfee.payments.links import BillLink, LinkScope

log = logging.getLogger(__name__)
# DynamoDB deletes an expired item within days; the page checks the expiry itself, TTL only tidies up
LINK_KEPT_AFTER_EXPIRY = timedelta(days=7)
# a day's opening is read by the reports of the following week (the reminders' cohorts); TTL removes it after
OPENING_KEPT = timedelta(days=62)


def link_to_item(link: BillLink) -> dict[str, Any]:
    return {
        **keys.bill_link_item(link.token),
        "kind": "bill_link",
        "unit_id": link.unit_id,
        "community_id": link.community_id,
        "scope": link.scope.value,
        "issued_at": link.issued_at.isoformat(),
        "valid_until": link.expires_at.isoformat(),
        "revoked": link.revoked,
        "expires_at": int((link.expires_at + LINK_KEPT_AFTER_EXPIRY).timestamp()),  # TTL
    }


def item_to_link(token: str, item: dict[str, Any]) -> BillLink:
    return BillLink(
        token=token,
        unit_id=item["unit_id"],
        community_id=item["community_id"],
        scope=LinkScope(item["scope"]),
        issued_at=datetime.fromisoformat(item["issued_at"]),
        expires_at=datetime.fromisoformat(item["valid_until"]),
        revoked=bool(item.get("revoked", False)),
        opened_on=date.fromisoformat(item["opened_on"]) if item.get("opened_on") else None,
    )


class LinkRecords(TableBase):
    """Implements payments.links.BillLinkStore and web.limits.RateCounter."""

    def link(self, token: str) -> BillLink | None:
        response = self.db.get_item(TableName=self.name, Key=to_attributes(keys.bill_link_item(token)))
        item = response.get("Item")
        return item_to_link(token, from_attributes(item)) if item else None

    def current_link(self, unit_id: str) -> BillLink | None:
        """The unit item's `bill_link` (the send path's claims write it too): one read of two attributes."""
        response = self.db.get_item(
            TableName=self.name,
            Key=to_attributes(keys.unit_item(unit_id)),
            ProjectionExpression="bill_link, community_id",
        )
        item = plain(from_attributes(response.get("Item", {})))
        if not item.get("bill_link"):
            return None
        return BillLink.of_unit(unit_id, item["community_id"], UnitBillLink.model_validate(item["bill_link"]))

    def save_link(self, link: BillLink) -> None:
        """The link, and the unit's `bill_link` naming it, in one transaction (the unit's version is not
        touched: no plan or claim in flight has to start again for it)."""
        current = UnitBillLink(token=link.token, issued_at=link.issued_at, valid_until=link.expires_at)
        self.db.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self.name,
                        "Item": to_attributes(link_to_item(link)),
                        "ConditionExpression": "attribute_not_exists(pk)",  # a token is never reissued
                    }
                },
                {
                    "Update": {
                        "TableName": self.name,
                        "Key": to_attributes(keys.unit_item(link.unit_id)),
                        "UpdateExpression": "SET bill_link = :link",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeValues": to_attributes({":link": current.model_dump(mode="json")}),
                    }
                },
            ]
        )

    def revoke_link(self, token: str) -> bool:
        """Revoked for good; the unit stops naming it, so that its next reminder gets a new link."""
        try:
            response = self.db.update_item(
                TableName=self.name,
                Key=to_attributes(keys.bill_link_item(token)),
                UpdateExpression="SET revoked = :yes",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=to_attributes({":yes": True}),
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        unit_id = from_attributes(response["Attributes"])["unit_id"]
        try:
            self.db.update_item(
                TableName=self.name,
                Key=to_attributes(keys.unit_item(unit_id)),
                UpdateExpression="REMOVE bill_link",
                ConditionExpression="bill_link.#token = :token",
                ExpressionAttributeNames={"#token": "token"},
                ExpressionAttributeValues=to_attributes({":token": token}),
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":  # the unit names a newer link already
                raise
        return True

    def note_opening(self, link: BillLink, day: date, at: datetime) -> bool:
        """One transaction, on the first opening of the day only (the page's read of the link saw `opened_on`):
        the day's opening, in the activity index under the link's community and day, and the link's `opened_on`.
        Nothing of who opened it (no address, no browser). False when that day's opening was kept already."""
        opening = {
            **keys.link_opening_item(link.token, day),
            "kind": "link_opened",
            "unit_id": link.unit_id,
            "community_id": link.community_id,
            "at": at.isoformat(),
            "activity_pk": keys.activity_pk(link.community_id, day),
            "activity_sk": f"{at.isoformat()}#link_opened#{link.unit_id}",
            "expires_at": int((at + OPENING_KEPT).timestamp()),  # TTL
        }
        try:
            self.db.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.name,
                            "Item": to_attributes(opening),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.name,
                            "Key": to_attributes(keys.bill_link_item(link.token)),
                            "UpdateExpression": "SET opened_on = :day",
                            "ConditionExpression": "attribute_exists(pk)",
                            "ExpressionAttributeValues": to_attributes({":day": day.isoformat()}),
                        }
                    },
                ]
            )
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":  # else: kept by another opening meanwhile
                # a figure of the report is not worth the owner's page: logged, and the page is served
                log.warning("link opening not kept", extra={"error": error_code(error)})
            return False
        return True

    def count_request(self, subject: str, window: str, limit: int, expires: datetime) -> bool:
        """Counts one request in the window; False (nothing counted) once the window holds `limit` already."""
        try:
            self.db.update_item(
                TableName=self.name,
                Key=to_attributes(keys.rate_count_item(subject, window)),
                UpdateExpression="ADD requests :one SET expires_at = if_not_exists(expires_at, :expires)",
                ConditionExpression="attribute_not_exists(requests) OR requests < :limit",
                ExpressionAttributeValues=to_attributes(
                    {":one": 1, ":limit": limit, ":expires": int(expires.timestamp())}
                ),
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def unit_payments(self, unit_id: str, limit: int) -> list[dict[str, Any]]:
        """The unit's latest payments (the bill page's history): one Query of its partition's PAYMENT# items."""
        response = self.db.query(
            TableName=self.name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :payment)",
            ExpressionAttributeValues=to_attributes({":pk": keys.unit_item(unit_id)["pk"], ":payment": "PAYMENT#"}),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [plain(from_attributes(item)) for item in response.get("Items", [])]

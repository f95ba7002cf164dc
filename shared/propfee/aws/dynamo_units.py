"""Units and their directory in the propfee table: communities, buildings, units, their room, phone, email lookups."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from propfee.aws import keys
from propfee.aws.dynamo_table import (
    MAX_OPTIMISTIC_RETRIES,
    ConcurrentUpdate,
    TableBase,
    fields_of,
    from_attributes,
    plain,
    to_attributes,
)
from propfee.collection.delivery import Disabled, addresses_meant
from propfee.domain.models import Building, Channel, Community, Unit, WechatBinding


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
    fields = plain(fields)
    fields["area_m2"], fields["rate_fen_per_m2"] = area, rate  # Decimals stay exact
    return Unit.model_validate(fields)


class UnitRecords(TableBase):
    """Reads and writes of units (with an optimistic version) and of the directory that finds them."""

    def get_unit(self, unit_id: str) -> Unit | None:
        response = self.db.get_item(
            TableName=self.name, Key=to_attributes(keys.unit_item(unit_id)), ConsistentRead=True
        )
        if "Item" not in response:
            return None
        return item_to_unit(from_attributes(response["Item"]))

    def units_by_id(self, unit_ids: Sequence[str]) -> dict[str, Unit]:
        """The units of these ids that exist, by id (batched, consistent reads)."""
        units = (item_to_unit(i) for i in self._batch_get([keys.unit_item(u) for u in unit_ids]))
        return {u.unit_id: u for u in units}

    def communities(self) -> list[Community]:
        items = self._query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_attributes({":pk": keys.COMMUNITIES}),
        )
        return [Community.model_validate(fields_of(Community, item)) for item in items]

    def put_community(self, community: Community) -> None:
        item = {**keys.community_item(community.community_id), **community.model_dump(mode="json")}
        self.db.put_item(TableName=self.name, Item=to_attributes(item))

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

    def units_by_phone(self, phone_e164: str) -> list[str]:
        items = self._query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_attributes({":pk": f"PHONE#{phone_e164}"}),
        )
        return [str(item["unit_id"]) for item in items]

    def units_by_wechat(self, openid: str) -> list[str]:
        items = self._query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_attributes({":pk": keys.wechat_item(openid, "-")["pk"]}),
        )
        return [str(item["unit_id"]) for item in items]

    def bind_wechat(self, unit_id: str, openid: str, at: datetime) -> bool:
        """The owner's WeChat bound to the unit (and the look-up from the openid), once: False when it already is.
        Binding again after an opt-out does not undo the opt-out (the owner says 恢复 for that); after the account
        reported the openid unreachable it does (the owner followed again and asks for the messages)."""
        for _attempt in range(MAX_OPTIMISTIC_RETRIES):
            unit = self.get_unit(unit_id)
            if unit is None:
                return False
            known = next((b for b in unit.wechat if b.openid == openid), None)
            if known is not None and not known.disabled:
                return False
            # bound anew after the account reported it unreachable (unfollowed, blocked): the owner asks for it again
            binding = WechatBinding(openid=openid, bound_at=at, opt_out=known.opt_out if known else False)
            others = tuple(b for b in unit.wechat if b.openid != openid)
            after = unit.model_copy(update={"wechat": (*others, binding), "version": unit.version + 1})
            lookup = {**keys.wechat_item(openid, unit_id), "unit_id": unit_id, "bound_at": at.isoformat()}
            put_lookup = {"Put": {"TableName": self.name, "Item": to_attributes(lookup)}}
            if self._transact([self._put_unit_op(after, unit.version), put_lookup]) is None:
                return True
        raise ConcurrentUpdate(unit_id)

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
        return [Building.model_validate(fields_of(Building, item)) for item in items]

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

    def _put_unit_op(self, unit: Unit, expected_version: int) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.name,
                "Item": to_attributes(unit_to_item(unit)),
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": to_attributes({":v": expected_version}),
            }
        }

    def disable_addresses(self, unit_id: str, channel: Channel, addresses: tuple[str, ...], reason: str) -> Disabled:
        """Stop using addresses that bounced or do not exist (email: propfee.collection.delivery.addresses_meant)."""
        for _attempt in range(MAX_OPTIMISTIC_RETRIES):
            unit = self.get_unit(unit_id)
            if unit is None:
                return Disabled.UNKNOWN_UNIT
            if channel is Channel.WECHAT:  # the account says it cannot reach this openid (blocked, unfollowed)
                bound = tuple(
                    b.model_copy(update={"disabled": reason}) if b.openid in addresses and not b.disabled else b
                    for b in unit.wechat
                )
                if not any(b.openid in addresses for b in unit.wechat):
                    return Disabled.NOT_ON_UNIT
                if bound == unit.wechat:
                    return Disabled.ALREADY
                after = unit.model_copy(update={"wechat": bound, "version": unit.version + 1})
                if self._transact([self._put_unit_op(after, unit.version)]) is None:
                    return Disabled.DISABLED
                continue
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

"""Bill links in the propfee table (moto): a token is one GetItem, a reminder reuses the unit's link, TTL tidies."""

from datetime import timedelta

import boto3
import pytest
from moto import mock_aws

from propfee.aws import keys
from propfee.aws.dynamo import PropfeeTable
from propfee.aws.dynamo_table import from_attributes, to_attributes
from propfee.local.sandbox import default_template_path
from propfee.local.sandbox.template import load_template
from propfee.payments.links import BillLinks, new_token
from tests.support import SHANGHAI, at, create_table_from_template

NOW = at("2026-11-11 09:30")


@pytest.fixture()
def table():
    with mock_aws():
        client = boto3.client("dynamodb")
        yield PropfeeTable(create_table_from_template(client), SHANGHAI, client)


def calls_of(client):
    made: list[str] = []
    client.meta.events.register("before-call.dynamodb.*", lambda model, **_: made.append(model.name))
    return made


def test_a_link_is_stored_read_back_by_one_get_and_revoked(table):
    links = BillLinks(table, "https://jxwy.cn")
    link = links.issue("C01-B01-0101", "C01", NOW)
    made = calls_of(table.db)
    assert links.resolve(link.token, NOW + timedelta(days=1)) == link
    assert made == ["GetItem"]  # never a query or a scan
    assert links.revoke(link.token)
    assert links.resolve(link.token, NOW) is None
    assert not links.revoke(new_token())  # no item is created for an unknown token
    assert table.link(new_token()) is None


def test_the_stored_item_holds_no_personal_data_and_expires_by_ttl(table):
    link = BillLinks(table, "https://jxwy.cn", lifetime=timedelta(days=45)).issue("C01-B01-0101", "C01", NOW)
    key = to_attributes(keys.bill_link_item(link.token))
    item = from_attributes(table.db.get_item(TableName=table.name, Key=key)["Item"])
    assert set(item) == {"pk", "sk", "kind", "unit_id", "community_id", "scope", "issued_at", "valid_until", "revoked",
                         "expires_at"}  # fmt: skip
    ttl = load_template(default_template_path())["Resources"]["PropfeeTable"]["Properties"]["TimeToLiveSpecification"]
    assert ttl == {"AttributeName": "expires_at", "Enabled": True}  # moto ignores TTL: the template declares it
    assert item["expires_at"] >= int((NOW + timedelta(days=45)).timestamp())
    assert item["valid_until"] == (NOW + timedelta(days=45)).isoformat()


def test_a_reminder_reuses_the_units_link_with_one_read(table):
    links = BillLinks(table, "https://jxwy.cn")
    first = links.bill_url("C01-B01-0101", "C01", NOW)
    made = calls_of(table.db)
    assert links.bill_url("C01-B01-0101", "C01", NOW + timedelta(days=3)) == first
    assert made == ["GetItem"]


def test_the_rate_counter_stops_at_its_limit_per_window(table):
    expires = NOW + timedelta(minutes=2)
    assert [table.count_request("ip-abc", "2026-11-11T09:30", 3, expires) for _ in range(5)] == [
        True, True, True, False, False]  # fmt: skip
    assert table.count_request("ip-abc", "2026-11-11T09:31", 3, expires)  # the next minute starts afresh
    assert table.count_request("ip-other", "2026-11-11T09:30", 3, expires)

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
from tests.support import SHANGHAI, at, create_table_from_template, unit

NOW = at("2026-11-11 09:30")


@pytest.fixture()
def table():
    with mock_aws():
        client = boto3.client("dynamodb")
        table = PropfeeTable(create_table_from_template(client), SHANGHAI, client)
        table.put_buildings_and_units([], [unit("C01-B01-0101")])  # a link is issued for a unit the table has
        yield table


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


def test_the_units_current_link_is_on_the_unit_item_and_a_revoked_one_is_taken_off(table):
    links = BillLinks(table, "https://jxwy.cn")
    first = links.issue("C01-B01-0101", "C01", NOW)
    assert table.get_unit("C01-B01-0101").bill_link.token == first.token
    made = calls_of(table.db)
    assert links.issue("C01-B01-0101", "C01", NOW + timedelta(days=3)) == first
    assert made == ["GetItem"]
    assert links.revoke(first.token)
    assert table.get_unit("C01-B01-0101").bill_link is None
    assert links.issue("C01-B01-0101", "C01", NOW).token != first.token


def test_the_rate_counter_stops_at_its_limit_per_window(table):
    expires = NOW + timedelta(minutes=2)
    assert [table.count_request("ip-abc", "2026-11-11T09:30", 3, expires) for _ in range(5)] == [
        True, True, True, False, False]  # fmt: skip
    assert table.count_request("ip-abc", "2026-11-11T09:31", 3, expires)  # the next minute starts afresh
    assert table.count_request("ip-other", "2026-11-11T09:30", 3, expires)


def test_a_reminders_link_costs_the_send_no_call_of_its_own(table):
    """A new link is written inside the reminder's claim transaction, a carried one needs no read: with links the
    send makes exactly the calls it makes without them, and the page then finds the link by its token."""
    from propfee.collection.ladder import DEFAULT_LADDER, decide
    from propfee.collection.planning import job_for
    from propfee.collection.sending import Outcome, Sender
    from propfee.domain.config import Settings
    from propfee.rules import load_rules
    from tests.unit.collection.test_sending import NOW as SEND_AT
    from tests.unit.collection.test_sending import TODAY, Provider, overdue_unit

    table.put_buildings_and_units([], [overdue_unit(unit_id="C01-B01-0101"), overdue_unit(unit_id="C01-B01-0102")])
    settings, rules, links = Settings(table=table.name), load_rules(), BillLinks(table, "https://jxwy.cn")  # type: ignore[call-arg]
    now, made = SEND_AT, calls_of(table.db)

    def send(unit_id, bill_links):
        current = table.get_unit(unit_id)
        job = job_for(current, decide(current, TODAY, SHANGHAI, DEFAULT_LADDER).action, TODAY)
        sms, before = Provider(), len(made)
        sent = Sender(settings, table, sms, Provider(), rules, bill_links=bill_links).send(job, now)
        assert sent.outcome is Outcome.SENT
        return made[before:], sms.sent[0][1]

    without, _ = send("C01-B01-0102", None)
    first, body = send("C01-B01-0101", links)
    assert first == without
    link = table.get_unit("C01-B01-0101").bill_link
    assert f"https://jxwy.cn/b/{link.token}" in body
    assert links.resolve(link.token, now).unit_id == "C01-B01-0101"

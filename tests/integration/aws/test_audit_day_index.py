"""The audit trail's day index in the table the template declares (moto): every staff action is found by the company's
local day with one paged Query of the activity index, once per action however many units it touched, and the
writes stay within what DynamoDB takes per call (no BatchWriteItem over 25, no transaction over 100)."""

from datetime import date, timedelta

import boto3
import pytest
from moto import mock_aws

from propfee.aws.dynamo import PropfeeTable
from propfee.console import audit
from propfee.console.permissions import Role, StaffMember
from tests.support import SHANGHAI, at, create_table_from_template

DAY = date(2026, 11, 11)
CLERK = StaffMember(sub="sub-c1", email="c1@example.com", roles=frozenset({Role.DEPARTMENT_CLERK}))


@pytest.fixture()
def calls():
    """The items per write call, by operation, and the number of Query calls (pages)."""
    return {"TransactWriteItems": [], "BatchWriteItem": [], "Query": 0}


@pytest.fixture()
def table(calls):
    with mock_aws():
        client = boto3.client("dynamodb")
        name = create_table_from_template(client)

        def seen(params, **_):
            calls["TransactWriteItems"].append(len(params["TransactItems"]))

        def batch(params, **_):
            calls["BatchWriteItem"].append(sum(len(r) for r in params["RequestItems"].values()))

        def query(params, **_):
            calls["Query"] += 1

        client.meta.events.register("provide-client-params.dynamodb.TransactWriteItems", seen)
        client.meta.events.register("provide-client-params.dynamodb.BatchWriteItem", batch)
        client.meta.events.register("provide-client-params.dynamodb.Query", query)
        yield PropfeeTable(name, SHANGHAI, client)


def test_an_action_is_found_on_its_local_day_not_the_utc_one_and_in_time_order(table):
    late = audit.record(table, CLERK, "ticket.claim", "ticket", "T1", ["C01-B01-0101"], at("2026-11-11 23:50"))
    early = audit.record(table, CLERK, "ticket.resolve", "ticket", "T1", ["C01-B01-0101"], at("2026-11-11 08:05"))
    next_day = audit.record(table, CLERK, "ticket.claim", "ticket", "T2", ["C01-B01-0102"], at("2026-11-12 00:10"))

    # 23:50 in Shanghai is 15:50 UTC the same day; 00:10 on the 12th is 16:10 UTC on the 11th
    assert [a.action_id for a in table.staff_actions_on(DAY)] == [early[0].action_id, late[0].action_id]
    assert [a.action_id for a in table.staff_actions_on(DAY + timedelta(days=1))] == [next_day[0].action_id]
    assert table.staff_actions_on(DAY - timedelta(days=1)) == []
    assert table.staff_actions_on(DAY)[0] == early[0]  # the record as written: who, when, before and after


def test_the_days_actions_come_page_after_page(table, calls):
    recorded = [
        audit.record(table, CLERK, "ticket.claim", "ticket", f"T{n}", [f"C01-B01-01{n:02d}"], at("2026-11-11 09:00"))
        for n in range(1, 6)
    ]
    calls["Query"] = 0

    found = table.staff_actions_on(DAY, page_size=2)

    assert [a.action_id for a in found] == [r[0].action_id for r in recorded]
    assert calls["Query"] == 3  # 2 + 2 + 1: each page asked for by the last one's key


def test_an_action_on_many_units_is_indexed_once_and_written_in_transactions_of_at_most_100(table, calls):
    units = [f"C01-B{n // 100:02d}-{n:04d}" for n in range(130)]  # a ticket about a whole estate's leak
    [first, *_] = audit.record(table, CLERK, "ticket.resolve", "ticket", "T9", units, at("2026-11-11 10:00"))

    assert calls["TransactWriteItems"] == [100, 30]
    assert all(n <= 25 for n in calls["BatchWriteItem"])  # none: the index needs no second item
    assert [a.action_id for a in table.staff_actions_on(DAY)] == [first.action_id]
    # every unit's evidence still has the action
    assert [a.action_id for a in table.for_unit(units[-1])] == [first.action_id]
    assert len({a.unit_id for u in units[:3] for a in table.for_unit(u)}) == 3

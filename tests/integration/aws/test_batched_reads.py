"""The console's batched reads in the table the template declares (moto): units, tasks and tickets by id, 100 keys
a BatchGetItem, a key named twice asked once, a key of nothing left out."""

from datetime import timedelta

import boto3
import pytest
from moto import mock_aws

from propfee.aws.dynamo_tasks import task_to_item
from propfee.aws.feedback import FeedbackTable
from tests.support import SHANGHAI, at, create_table_from_template, unit
from tests.support.console import call_task
from tests.unit.console.test_clerk_http import ticket


class CountingClient:
    """The boto3 client, with its BatchGetItem calls counted."""

    def __init__(self, client):
        self._client = client
        self.batches = 0

    def batch_get_item(self, **kwargs):
        self.batches += 1
        assert len(kwargs["RequestItems"][next(iter(kwargs["RequestItems"]))]["Keys"]) <= 100
        return self._client.batch_get_item(**kwargs)

    def __getattr__(self, name):
        return getattr(self._client, name)


@pytest.fixture()
def table():
    with mock_aws():
        client = CountingClient(boto3.client("dynamodb"))
        yield FeedbackTable(create_table_from_template(client._client), SHANGHAI, client)


def test_250_units_come_back_in_three_batches_and_duplicates_or_missing_keys_cost_nothing(table):
    units = [unit(f"C01-B{n // 100 + 1:02d}-{n % 100 + 1:04d}") for n in range(250)]
    table.put_buildings_and_units([], units)
    wanted = [u.unit_id for u in units] + [units[0].unit_id, "C09-B01-0101"]
    found = table.units_by_id(wanted)
    assert found == {u.unit_id: u for u in units}
    assert table.db.batches == 3
    assert table.units_by_id([]) == {}


def test_tasks_and_tickets_by_id(table):
    tasks = [call_task(f"C01-B01-01{n:02d}", n=n, due_by=at("2026-11-13 09:30") + timedelta(hours=n)) for n in (1, 2)]
    table.batch_put([task_to_item(t, SHANGHAI) for t in tasks])  # as the send path's transaction writes them
    assert sorted(t.task_id for t in table.tasks_by_id([t.task_id for t in tasks] + ["C01-B01-0199.call_d30.1"])) == [
        t.task_id for t in tasks
    ]
    made = ticket("T20261111-0A1B2C3D", "C01-B01-0101")
    table.batch_put([FeedbackTable._ticket_item(made)])
    assert table.tickets_by_id(["T20261111-0A1B2C3D", "T20261111-0FFFFFFF"]) == [made]

"""The sandbox with a small community in arrears, shared by the e2e tests."""

from datetime import datetime

import pytest

from propfee.adapters.dynamo import PropfeeTable
from propfee.ladder import decide
from propfee.ledger import with_bill
from propfee.planning import job_for
from propfee.sandbox import Sandbox
from tests.support import SHANGHAI, bill, community, unit

START = datetime(2026, 11, 11, 0, 0, tzinfo=SHANGHAI)


def job_body(table: PropfeeTable, unit_id: str) -> str:
    current = table.get_unit(unit_id)
    today = START.date()
    return job_for(current, decide(current, today, SHANGHAI).action, today).model_dump_json()


@pytest.fixture()
def sandbox():
    with Sandbox(start=START) as running:
        table = PropfeeTable(running.resources["PropfeeTable"], SHANGHAI)
        table.put_community(community())
        owing = [with_bill(unit(f"C01-B01-01{n:02d}"), bill(f"C01-B01-01{n:02d}", "2026-10")) for n in range(1, 8)]
        table.put_buildings_and_units([], owing)
        running.table = table
        yield running


def dead_letters(sandbox, logical_id="SendDeadLetterQueue"):
    messages = (
        sandbox.client("sqs")
        .receive_message(QueueUrl=sandbox.resources[logical_id], MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        .get("Messages", [])
    )
    return messages

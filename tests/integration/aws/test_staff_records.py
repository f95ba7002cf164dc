"""The staff records and the staff actions' audit trail in the table the template declares (moto)."""

from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from propfee.aws.dynamo import PropfeeTable
from propfee.console import audit
from propfee.console.permissions import Role, StaffMember, StaffRecord
from tests.support import SHANGHAI, create_table_from_template

AT = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
CLERK = StaffMember(sub="sub-clerk", email="c@example.com", roles=frozenset({Role.DEPARTMENT_CLERK}))


@pytest.fixture()
def table():
    with mock_aws():
        client = boto3.client("dynamodb")
        yield PropfeeTable(create_table_from_template(client), SHANGHAI, client)


def test_a_staff_record_is_read_back_by_sub_and_listed(table):
    clerk = StaffRecord(sub="s-1", email="li@example.com", name="李娜", departments=frozenset({"engineering"}))
    admin = StaffRecord(sub="s-2", email="boss@example.com")  # no scope at all: DynamoDB takes no empty set
    table.put_staff(clerk)
    table.put_staff(admin)
    assert table.staff("s-1") == clerk
    assert table.staff("s-2") == admin
    assert table.staff("s-3") is None
    assert sorted(r.sub for r in table.all_staff()) == ["s-1", "s-2"]
    table.put_staff(clerk.model_copy(update={"departments": frozenset({"security"})}))
    assert table.staff("s-1").departments == {"security"}


def test_a_staff_action_is_in_each_units_history_once_and_cannot_be_written_again(table):
    actions = audit.record(
        table, CLERK, "ticket.resolve", "ticket", "T20260302-0000ABCD", ["C01-B01-0101", "C01-B01-0102"], AT,
        before={"status": "open"}, after={"status": "resolved"}, note="已修好",
    )  # fmt: skip
    assert table.for_unit("C01-B01-0101") == [actions[0]]
    assert table.for_unit("C01-B01-0102") == [actions[1]]
    [history] = [r for r in table.unit_history("C01-B01-0101") if r["kind"] == "staff_action"]
    assert (history["action"], history["after"], history["actor_sub"]) == (
        "ticket.resolve", {"status": "resolved"}, "sub-clerk",
    )  # fmt: skip
    with pytest.raises(RuntimeError, match="recorded already"):
        table.append(actions[:1])  # append-only: the same record is never overwritten
    assert table.for_unit("C01-B01-0101") == [actions[0]]


def test_the_bill_pages_answers_are_the_units_ticket_replies_newest_first_in_one_query(table):
    from datetime import timedelta

    unit = "C01-B01-0101"
    for hours, action, note in (
        (0, "ticket.reply", "明天上门"),
        (1, "ticket.claim", ""),
        (2, "ticket.reply", "已修好"),
    ):
        audit.record(table, CLERK, action, "ticket", "T20260302-0000ABCD", [unit], AT + timedelta(hours=hours),
                     after={"reply": "sent", "department_name": "工程部"}, note=note)  # fmt: skip
    audit.record(table, CLERK, "ticket.reply", "ticket", "T20260302-0000ABCE", ["C01-B01-0102"], AT, note="别家")
    calls = []
    table.db.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))

    replies = table.ticket_replies(unit, 10)

    assert [r["note"] for r in replies] == ["已修好", "明天上门"] and calls == ["Query"]
    assert replies[0]["after"] == {"reply": "sent", "department_name": "工程部"}
    assert [r["note"] for r in table.ticket_replies(unit, 1)] == ["已修好"]

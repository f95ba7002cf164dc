"""Staff actions recorded: who, when, what, before and after, one record per unit, in the unit's evidence pack."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

from propfee.collection.evidence import bundle_files
from propfee.console.audit import COMPANY, MemoryAuditStore, changed_fields, evidence_record, record
from tests.support.builders import make_unit
from tests.unit.console.test_permissions import PEOPLE

AT = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


def test_an_action_keeps_who_when_what_and_only_the_fields_it_changed() -> None:
    store = MemoryAuditStore()
    before = {"status": "open", "outcome": None, "balance_fen": 21044}
    after = {"status": "done", "outcome": "promised", "balance_fen": 21044, "promised_date": "2026-03-10"}
    [action] = record(
        store, PEOPLE["collector_k1"], "task.outcome", "task", "C01-B01-0101.call.1", ["C01-B01-0101"], AT,
        before=before, after=after, note="业主说下周一交",
    )  # fmt: skip
    assert (action.actor_sub, action.actor_roles, action.at, action.unit_id) == (
        "sub-collector", ("collector",), AT, "C01-B01-0101",
    )  # fmt: skip
    assert action.before == {"status": "open", "outcome": None, "promised_date": None}
    assert action.after == {"status": "done", "outcome": "promised", "promised_date": "2026-03-10"}
    assert store.for_unit("C01-B01-0101") == [action]


def test_an_action_on_a_ticket_of_two_units_is_in_both_units_records_with_one_id() -> None:
    store = MemoryAuditStore()
    actions = record(
        store, PEOPLE["clerk_repairs"], "ticket.resolve", "ticket", "T20260302-0000ABCD", ["U1", "U2", "U1"], AT,
        before={"status": "open"}, after={"status": "resolved"},
    )  # fmt: skip
    assert [a.unit_id for a in actions] == ["U1", "U2"]
    assert len({a.action_id for a in actions}) == 1
    assert store.for_unit("U2") == [actions[1]]


def test_an_action_on_no_unit_is_the_companys() -> None:
    [action] = record(MemoryAuditStore(), PEOPLE["admin"], "staff.assign", "staff", "sub-x", [], AT)
    assert action.unit_id == COMPANY


def test_changed_fields_ignores_what_stayed_the_same() -> None:
    assert changed_fields({"a": 1, "b": 2}, {"a": 1, "b": 3}) == ({"b": 2}, {"b": 3})
    assert changed_fields({}, {}) == ({}, {})


def test_the_units_evidence_pack_lists_its_staff_actions() -> None:
    store = MemoryAuditStore()
    [action] = record(
        store, PEOPLE["collector_k1"], "task.outcome", "task", "C01-B03-1502.call.1", ["C01-B03-1502"], AT,
        before={"outcome": None}, after={"outcome": "promised"}, note="=HYPERLINK(1)",
    )  # fmt: skip
    files = bundle_files(make_unit(), [evidence_record(action)], AT)
    rows = list(csv.DictReader(io.StringIO(files["staff_actions.csv"].decode("utf-8-sig"))))
    assert rows == [
        {
            "at": "2026-03-02T01:30:00Z",
            "staff": "sub-collector",
            "roles": "collector",
            "action": "task.outcome",
            "target_kind": "task",
            "target_id": "C01-B03-1502.call.1",
            "before": '{"outcome": null}',
            "after": '{"outcome": "promised"}',
            "note": "'=HYPERLINK(1)",  # a spreadsheet must not run a staff member's note
            "action_id": action.action_id,
        }
    ]
    assert "staff_actions.csv" in json.loads(files["manifest.json"])["files"]
    assert "task.outcome" in files["timeline.jsonl"].decode()

"""Call tasks for collectors, end to end: planned, assigned by building and load, worked, and a promise
that holds the ladder until its date."""

import json
from datetime import date

import pytest

from propfee import cli
from propfee.domain.models import Collector
from tests.support import at, bill, unit

pytestmark = pytest.mark.e2e


@pytest.fixture()
def staffed(sandbox):
    table = sandbox.table
    table.put_collectors(
        [
            Collector(collector_id="K1", name="张伟", communities=("C01",), buildings=("C01-B05",)),
            Collector(collector_id="K2", name="李娜", communities=("C01",)),
            Collector(collector_id="PM", name="赵敏", role="site_manager", communities=("C01",)),
        ]
    )
    # 17 days overdue on 11-11: the call step; one in K1's building, one elsewhere, one key customer
    units = [unit("C01-B05-0501"), unit("C01-B06-0601"), unit("C01-B06-0602", key_customer=True)]
    table.put_buildings_and_units([], units)
    for u in units:
        table.issue_bill(bill(u.unit_id, "2026-10", due=date(2026, 10, 25)))
    return sandbox


def _lines(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_a_call_step_becomes_a_task_for_the_right_collector_and_a_promise_pauses_the_ladder(staffed, capsys):
    sandbox = staffed
    sandbox.advance(at("2026-11-11 09:45"))
    table = sandbox.table.name
    assert cli.main(["task", "list", "--json", "--full", "--table", table]) == 0
    tasks = {t["unit"]: t for t in _lines(capsys)}
    assert tasks["B05-0501"]["collector"] == "K1" and tasks["B05-0501"]["kind"] == "call"
    assert tasks["B06-0601"]["collector"] == "K2" and tasks["B06-0601"]["call"] == "+8613812345678"
    assert tasks["B06-0602"]["collector"] == "PM" and tasks["B06-0602"]["kind"] == "visit"  # key customer
    assert {c.collector_id: c.open_tasks for c in sandbox.table.collectors()} == {"K1": 1, "K2": 1, "PM": 1}
    # the other units (the fixture's, 32 days overdue) got their SMS; no SMS to these three
    assert len(sandbox.sent_sms()) == 7

    task_id = tasks["B06-0601"]["task_id"]
    assert cli.main(["task", "done", task_id, "--outcome", "promised", "--date", "2026-11-25", "--table", table]) == 0
    assert _lines(capsys)[0]["status"] == "done"
    assert cli.main(["task", "done", task_id, "--outcome", "refused", "--table", table]) == 1  # closed once
    capsys.readouterr()
    assert {c.collector_id: c.open_tasks for c in sandbox.table.collectors()}["K2"] == 0

    # held until the promised date; the ladder resumes the day after
    for day, expected in (("2026-11-24", "on_hold_promise_to_pay"), ("2026-11-26", "sms_d30")):
        assert cli.main(["plan", "--date", day, "--dry-run", "--community", "C01", "--table", table]) == 0
        [line] = [u for u in _lines(capsys)[:-1] if u["unit_id"] == "C01-B06-0601"]
        assert line.get("skipped", line.get("action")) == expected

"""A collector records a promise through the console's HTTP route, the office closes another task with `propfee task
done`, both on the table the template declares (moto): that evening's report has them in its collectors' figures
(JSON, CSV, both pages), the company's and the community's, read through the audit trail's day index."""

import csv
import io
import json
from datetime import date
from urllib.parse import urlencode

import boto3
import pytest
from moto import mock_aws

from propfee import cli
from propfee.aws.feedback import FeedbackTable
from propfee.console.permissions import Role, StaffRecord
from propfee.domain import clock
from propfee.domain.models import Collector
from propfee.reports.publishing import publish_daily_report
from propfee.web.security import csrf_token
from tests.integration.aws.test_report_snapshots import _assign_call
from tests.support import SHANGHAI, at, community, create_table_from_template, unit
from tests.support.console import SECRET, MemoryReports, claims, console, event, request_of

DAY = date(2026, 11, 11)
ASSIGNED = at("2026-11-11 09:30")
RECORDED = at("2026-11-11 15:20")
EVENING = at("2026-11-11 21:30")
K1 = claims("sub-k1", Role.COLLECTOR)


class NoDeadLetters:
    def depths(self) -> dict[str, int]:
        return {}


@pytest.fixture()
def table(monkeypatch):
    with mock_aws():
        client = boto3.client("dynamodb")
        store = FeedbackTable(create_table_from_template(client), SHANGHAI, client)
        store.put_community(community())
        store.put_buildings_and_units([], [unit("C01-B01-0101"), unit("C01-B01-0102")])
        store.put_collectors([Collector(collector_id="K1", name="张伟", communities=("C01",))])
        store.put_staff(StaffRecord(sub="sub-k1", email="k1@example.com", name="张伟",
                                    communities=frozenset({"C01"}), collector_id="K1"))  # fmt: skip
        monkeypatch.setenv("USER", "office")  # the command's operator: cli:office
        previous = clock.install(clock.SimulatedClock(RECORDED))
        try:
            yield store
        finally:
            clock.install(previous)


def _csv(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def test_a_promise_recorded_in_the_console_and_a_task_done_at_the_office_are_in_that_evenings_report(table, capsys):
    promised, refused = _assign_call(table, "C01-B01-0101", ASSIGNED), _assign_call(table, "C01-B01-0102", ASSIGNED)
    form = urlencode({"csrf": csrf_token(SECRET, "console:sub-k1", RECORDED), "outcome": "promised",
                      "promised_date": "2026-11-25", "note": "月底发工资后缴"})  # fmt: skip
    path = f"/console/tasks/{promised.task_id}/outcome"
    answer = console(table).outcome(request_of(event("POST", path, K1, form), RECORDED), promised.task_id)
    assert answer.status in (200, 303), answer.body
    assert cli.main(["task", "done", refused.task_id, "--outcome", "refused", "--table", table.name]) == 0
    capsys.readouterr()

    reports = MemoryReports()
    publish_daily_report(DAY, EVENING, table, reports, NoDeadLetters(), SHANGHAI, staff=table)

    for prefix in ("reports/2026-11-11/", "reports/2026-11-11/communities/C01/"):
        figures = json.loads(reports.files[prefix + "summary.json"])["totals"]["staff_actions"]
        assert figures["by_action"] == {"task.outcome": 2}, prefix
        assert figures["collectors"] == [
            {"collector_id": "K1", "collector": "张伟", "recorded_by": "cli:office", "where": "cli", "recorded": 1,
             "outcomes": {"refused": 1}, "notes": 0},
            {"collector_id": "K1", "collector": "张伟", "recorded_by": "张伟", "where": "console", "recorded": 1,
             "outcomes": {"promised": 1}, "notes": 1},
        ], prefix  # fmt: skip
        rows = _csv(reports.files[prefix + "collector_actions.csv"])
        assert [(r["recorded_by"], r["outcome_promised"], r["outcome_refused"]) for r in rows] == [
            ("cli:office", "0", "1"), ("张伟", "1", "0"),
        ]  # fmt: skip
        assert "命令行" in reports.files[prefix + "report.html"].decode()
    # the day after has none of them
    publish_daily_report(date(2026, 11, 12), at("2026-11-12 21:30"), table, reports, NoDeadLetters(), SHANGHAI,
                         staff=table)  # fmt: skip
    later = json.loads(reports.files["reports/2026-11-12/summary.json"])["totals"]["staff_actions"]
    assert (later["count"], later["collectors"]) == (0, [])

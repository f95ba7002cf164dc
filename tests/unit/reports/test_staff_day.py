"""The day's staff actions in the report, from fakes: each collector's recorded outcomes by where (console or the
command) with their notes, each department's ticket actions by whom, one count per action, the people named as the
console names them (never a number), a community's set with only its own, and a summary before schema 7 read."""

import csv
import io
import json
from dataclasses import replace
from datetime import datetime

from propfee.console import audit
from propfee.console.permissions import Role, StaffMember, StaffRecord
from propfee.domain.activity import DayActivity
from propfee.domain.models import Collector
from propfee.reports.publishing import community_report_files, report_files
from propfee.reports.staff_day import staff_actions_section, staff_labels
from propfee.reports.staff_day_tables import staff_action_tables
from propfee.reports.summary import build_summary
from tests.support import SHANGHAI
from tests.support.console import call_task
from tests.support.report_day import DAY, GENERATED_AT, company, entries, tickets

K1 = StaffMember(sub="sub-k1", email="k1@example.com", roles=frozenset({Role.COLLECTOR}), collector_id="K1")
MANAGER = StaffMember(sub="sub-m1", email="wang.manager@example.com", roles=frozenset({Role.COMMUNITY_MANAGER}))
CLERK = StaffMember(sub="sub-c1", email="c1@example.com", roles=frozenset({Role.DEPARTMENT_CLERK}))
OFFICE = StaffMember(sub="cli:zhang", email="", roles=frozenset({Role.COMPANY_ADMIN}))
RECORDS = [
    StaffRecord(sub="sub-k1", email="k1@example.com", name="张伟", collector_id="K1"),
    StaffRecord(sub="sub-m1", email="wang.manager@example.com"),  # no name: the masked email, as the console
    StaffRecord(sub="sub-c1", email="c1@example.com", name="李娜"),
]
COLLECTORS = (Collector(collector_id="K1", name="张伟", communities=("C01",)),)
C01_TASKS = {n: call_task(f"C01-B01-01{n:02d}", "K1") for n in range(1, 6)}
C02_TASK = call_task("C02-B01-0101", "K1")
ENGINEERING = tickets("C01")[0]  # an engineering ticket of C01


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, 5, hour, minute, tzinfo=SHANGHAI)


def outcome(member: StaffMember, n: int, value: str, note: str = "", task=None) -> list[audit.StaffAction]:
    task = task or C01_TASKS[n]
    return audit.staff_actions(
        member, "task.outcome", "task", task.task_id, [task.unit_id], at(10, n),
        before={"status": "open", "outcome": None}, after={"status": "done", "outcome": value}, note=note,
    )  # fmt: skip


def on_ticket(member: StaffMember, action: str, after: dict | None = None, ticket=ENGINEERING, note: str = ""):
    return audit.staff_actions(member, action, "ticket", ticket.ticket_id, ("C01-B06-0001", "C01-B06-0002"),
                               at(14), after=after, note=note)  # fmt: skip


def the_days_actions() -> list[audit.StaffAction]:
    return [
        *outcome(K1, 1, "promised", note="月底发工资后缴"),
        *outcome(K1, 2, "refused", note="  "),  # blank: not a note
        *outcome(K1, 3, "wrong_number"),
        *outcome(MANAGER, 4, "visited", note="上门见到业主"),  # a manager recording for K1
        *outcome(OFFICE, 5, "paid"),  # `propfee task done` at the office
        *on_ticket(CLERK, "ticket.claim", {"assigned_to": "sub-c1"}),
        *on_ticket(CLERK, "ticket.reply", {"reply": "sent"}, note="师傅明天上午到"),
        *on_ticket(CLERK, "ticket.reply", {"reply": "queued"}, note="晚上不打扰，明早发"),
        *on_ticket(CLERK, "ticket.reply", {"reply": "failed"}, note="号码停机"),
        *on_ticket(MANAGER, "ticket.reassign", {"assigned_to": "sub-c2"}),
        *on_ticket(CLERK, "ticket.resolve", {"status": "resolved"}, note="已修好"),
        *audit.staff_actions(MANAGER, "evidence.export", "unit", "C01-B01-0101", ["C01-B01-0101"], at(16)),
    ]


def section(actions=None):
    return staff_actions_section(
        actions if actions is not None else the_days_actions(),
        staff_labels(RECORDS),
        COLLECTORS,
        {t.task_id: t for t in C01_TASKS.values()},
        {ENGINEERING.ticket_id: ENGINEERING},
    )


def test_each_collectors_outcomes_are_counted_by_who_recorded_them_where_and_with_how_many_notes():
    rows = section()["collectors"]

    assert rows == [
        {"collector_id": "K1", "collector": "张伟", "recorded_by": "cli:zhang", "where": "cli", "recorded": 1,
         "outcomes": {"paid": 1}, "notes": 0},
        {"collector_id": "K1", "collector": "张伟", "recorded_by": "w***@example.com", "where": "console",
         "recorded": 1, "outcomes": {"visited": 1}, "notes": 1},
        {"collector_id": "K1", "collector": "张伟", "recorded_by": "张伟", "where": "console", "recorded": 3,
         "outcomes": {"promised": 1, "refused": 1, "wrong_number": 1}, "notes": 1},
    ]  # fmt: skip


def test_each_departments_ticket_actions_are_counted_once_per_action_by_whom():
    figures = section()

    # every ticket action touched two units (two records each): counted once
    assert figures["tickets"] == [
        {"department": "engineering", "staff": "w***@example.com", "where": "console", "claimed": 0,
         "reassigned": 1, "replied_sent": 0, "replied_queued": 0, "replied_not_sent": 0, "resolved": 0, "total": 1},
        {"department": "engineering", "staff": "李娜", "where": "console", "claimed": 1, "reassigned": 0,
         "replied_sent": 1, "replied_queued": 1, "replied_not_sent": 1, "resolved": 1, "total": 5},
    ]  # fmt: skip
    assert figures["count"] == 12
    assert figures["by_action"] == {"evidence.export": 1, "task.outcome": 5, "ticket.claim": 1,
                                    "ticket.reassign": 1, "ticket.reply": 3, "ticket.resolve": 1}  # fmt: skip


def test_a_ticket_the_report_did_not_read_and_a_removed_staff_member_are_still_counted():
    gone = StaffMember(sub="0f1e2d3c-aaaa-bbbb", email="", roles=frozenset({Role.DEPARTMENT_CLERK}))
    other = ENGINEERING.model_copy(update={"ticket_id": "T20250305-000000FF"})
    [row] = section(on_ticket(gone, "ticket.claim", ticket=other)[:1])["tickets"]

    assert (row["department"], row["staff"], row["claimed"]) == ("unknown", "0f1e2d3c…", 1)


def _company_with_actions():
    days = entries()
    days[0] = replace(days[0], activity=days[0].activity.model_copy(update={"tasks_done": tuple(C01_TASKS.values())}))
    days[1] = replace(days[1], activity=DayActivity(tasks_done=(C02_TASK,)))
    actions = (*the_days_actions(), *outcome(K1, 9, "unreachable", task=C02_TASK))
    return days, replace(company(), collectors=COLLECTORS, staff_actions=actions, staff=staff_labels(RECORDS))


def _csv(files: dict[str, bytes], stem: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(files[f"{stem}.csv"].decode("utf-8-sig"))))


def test_the_figures_are_in_the_json_the_csv_tables_and_both_pages_and_never_a_phone_number():
    days, with_actions = _company_with_actions()
    files = report_files(DAY, GENERATED_AT, days, with_actions)

    summary = json.loads(files["summary.json"])
    assert summary["schema_version"] == 7
    mine = next(r for r in summary["totals"]["staff_actions"]["collectors"] if r["recorded_by"] == "张伟")
    assert mine["outcomes"] == {"promised": 1, "refused": 1, "unreachable": 1, "wrong_number": 1}  # C01 and C02
    rows = _csv(files, "collector_actions")
    assert [(r["recorded_by"], r["where"], r["outcome_promised"], r["notes"]) for r in rows] == [
        ("cli:zhang", "cli", "0", "0"), ("w***@example.com", "console", "0", "1"), ("张伟", "console", "1", "1"),
    ]  # fmt: skip
    [_, engineering] = _csv(files, "ticket_actions")
    assert (engineering["staff"], engineering["replied_sent"], engineering["replied_queued"]) == ("李娜", "1", "1")
    zh, en = files["report.html"].decode(), files["report.en.html"].decode()
    assert 'id="collector_actions"' in zh and "催缴员记录" in zh and "命令行" in zh and "回复待发送" in zh
    assert "Recorded outcomes" in en and "Ticket actions by staff" in en and "command line" in en
    for name, content in files.items():
        if not name.endswith(".xlsx"):
            assert "+8613812345678" not in content.decode("utf-8"), name  # the tasks' numbers to dial
            assert "月底发工资后缴" not in content.decode("utf-8"), name  # a note is counted, not shown


def test_a_communitys_own_set_counts_only_the_actions_on_its_tasks_and_tickets():
    days, with_actions = _company_with_actions()
    files = community_report_files(DAY, GENERATED_AT, days[1], SHANGHAI, with_actions)

    figures = json.loads(files["summary.json"])["totals"]["staff_actions"]
    assert figures["count"] == 1 and figures["tickets"] == []
    [row] = figures["collectors"]
    assert (row["recorded_by"], row["outcomes"]) == ("张伟", {"unreachable": 1})


def test_a_summary_before_schema_7_renders_with_empty_staff_tables():
    old = build_summary(DAY, GENERATED_AT, entries(), company())
    del old["totals"]["staff_actions"]
    old["schema_version"] = 6

    assert [t.rows for t in staff_action_tables(old)] == [(), ()]

"""The daily summary meeting's pages with in-memory ports: each collector's standing against the phase's targets as
the daily report's summary.json has it (built here by the report's own code), and the day's difficult cases
(refused twice, broken promises, disputes past their deadline, leftover issues), each linking to its unit; 403
route by route outside the manager's community."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from propfee.console.permissions import Role
from propfee.domain.activity import DayActivity
from propfee.domain.day_snapshot import CollectorDay, DaySnapshot
from propfee.domain.models import Collector, Community, HoldKind, TaskOutcome
from propfee.reports.history import Phase
from propfee.reports.summary import CommunityDay, CompanyDay, build_summary
from tests.support import at
from tests.support.console import NOW, MemoryReports, call_task, claims, collectors_estate, console, event, request_of
from tests.support.console import staff as staff_record
from tests.support.report_day import payment
from tests.unit.console.test_clerk_http import ticket

MANAGER_C01 = claims("sub-m1", Role.COMMUNITY_MANAGER)
MANAGER_C02 = claims("sub-m2", Role.COMMUNITY_MANAGER)
FINANCE_C01 = claims("sub-f1", Role.FINANCE)
K1 = claims("sub-k1", Role.COLLECTOR)
ADMIN = claims("sub-admin", Role.COMPANY_ADMIN)
TODAY = date(2026, 11, 12)  # NOW's local day
REPORT_DAY = TODAY - timedelta(days=1)  # the latest report: made last night
TARGETS = {"K1": {"tasks_done": 40, "promises": 10}, "K2": {"tasks_done": 20}}
PHASE = Phase(name="冬季清欠", start=date(2026, 11, 1), end=date(2026, 12, 31), collection_rate=0.95,
              back_arrears_fen=500_000, collectors=TARGETS)  # fmt: skip


def snapshot(day: date, paid_fen: int, collectors: dict[str, CollectorDay]) -> DaySnapshot:
    return DaySnapshot(community_id="C01", day=day, period="2026-11", billed_fen=1_000_000, paid_fen=paid_fen,
                       cohort_day=day - timedelta(days=7), collectors=collectors)  # fmt: skip


def report_summary() -> dict:
    history = (
        snapshot(date(2026, 10, 31), 0, {}),
        snapshot(date(2026, 11, 5), 400_000, {"K1": CollectorDay(done={"promised": 3, "refused": 2})}),
        snapshot(REPORT_DAY, 850_000, {"K1": CollectorDay(done={"promised": 2, "unreachable": 3}),
                                       "K2": CollectorDay(done={"visited": 4})}),
    )  # fmt: skip
    entry = CommunityDay(Community(community_id="C01", name="锦绣花园"), DayActivity(), [], history=history,
                         phase=PHASE)  # fmt: skip
    company = CompanyDay(collectors=(Collector(collector_id="K1", name="张伟", communities=("C01",)),
                                     Collector(collector_id="K2", name="李娜", communities=("C01",))))  # fmt: skip
    return build_summary(REPORT_DAY, at("2026-11-12 00:15"), [entry], company)


@pytest.fixture()
def store():
    store = collectors_estate(tasks=5)
    store.staff_records["sub-f1"] = staff_record("sub-f1", communities=frozenset({"C01"}))
    done = lambda unit_id, n, outcome, when, **more: call_task(  # noqa: E731
        unit_id, n=n, status="done", outcome=outcome, done_at=at(when), **more
    )
    refused = [done("C01-B01-0101", 7, TaskOutcome.REFUSED, "2026-10-20 10:00"),
               done("C01-B01-0101", 8, TaskOutcome.REFUSED, "2026-11-10 15:00"),
               done("C01-B01-0102", 7, TaskOutcome.REFUSED, "2026-11-10 16:00")]  # fmt: skip
    promised = [
        done("C01-B01-0103", 7, TaskOutcome.PROMISED, "2026-11-01 10:00", promised_date=date(2026, 11, 8)),  # broken
        done("C01-B01-0104", 7, TaskOutcome.PROMISED, "2026-11-01 11:00", promised_date=date(2026, 11, 8)),  # paid
        done("C01-B01-0105", 7, TaskOutcome.PROMISED, "2026-11-10 11:00", promised_date=date(2026, 11, 20)),  # not yet
    ]
    for task in (*refused, *promised):
        day = task.done_at.date()
        before = store.activity.get(("C01", day), DayActivity())
        store.activity[("C01", day)] = before.model_copy(update={"tasks_done": (*before.tasks_done, task)})
    paid = payment("C01", 4, 25000, 10)
    store.activity[("C01", date(2026, 11, 7))] = DayActivity(payments=(paid.model_copy(
        update={"unit_id": "C01-B01-0104", "paid_at": at("2026-11-07 10:00")}),))  # fmt: skip
    store.ticket_items.update({
        "T20261101-0A000001": ticket("T20261101-0A000001", "C01-B01-0102", department="finance", intent="bill_dispute",
                                     hold=HoldKind.DISPUTE, due_by=at("2026-11-04 18:00")),
        "T20261105-0A000002": ticket("T20261105-0A000002", "C01-B01-0105", due_by=at("2026-11-08 18:00")),
        "T20261111-0A000003": ticket("T20261111-0A000003", "C01-B01-0101", due_by=at("2026-11-13 18:00")),  # in time
        "T20261101-0A000004": ticket("T20261101-0A000004", "C02-B01-0101", due_by=at("2026-11-04 18:00")),  # C02
    })  # fmt: skip
    return store


@pytest.fixture()
def reports():
    reports = MemoryReports()
    key = f"reports/{REPORT_DAY.isoformat()}/communities/C01/summary.json"
    reports.files[key] = json.dumps(report_summary(), ensure_ascii=False).encode()
    return reports


@pytest.fixture()
def http(store, reports):
    return console(store, reports=reports)


def get(http, route, who, **query):
    return getattr(http, route)(request_of(event("GET", f"/console/{route}", who, query=query or None)))


def test_the_standing_is_the_latest_reports_own_figures_per_collector_against_the_phase(http):
    html = str(get(http, "standing", MANAGER_C01).body)
    figures = report_summary()["communities"][0]["targets"]
    k1 = figures["collectors"]["K1"]
    assert (k1["tasks_done"]["actual"], k1["promises"]["actual"]) == (10, 5)  # the report's count since 11-01
    assert "冬季清欠" in html and "2026-12-31 (50 天)" in html and "日报 2026-11-11" in html
    assert '<th scope="row">张伟 <span class="muted">K1</span></th><td>10 / 40 <strong>25%</strong></td>' in html
    assert "<td>5 / 10 <strong>50%</strong></td>" in html
    assert (
        '<th scope="row">李娜 <span class="muted">K2</span></th><td>4 / 20 <strong>20%</strong></td><td>0 / —</td>'
        in html
    )
    assert "85.0% / 95.0% <strong>89%</strong>" in html  # the community's rate, the report's
    english = str(get(http, "standing", MANAGER_C01, lang="en").body)
    assert "Collectors&#39; standing" in english and "Tasks done" in english


def test_without_a_report_in_the_last_week_the_standing_says_so(http, reports):
    assert "日报 2026-11-11" in str(get(http, "standing", MANAGER_C01, date="2026-11-19").body)  # a week back
    assert "近一周没有日报" in str(get(http, "standing", MANAGER_C01, date="2026-11-20").body)
    reports.files.clear()
    assert "近一周没有日报" in str(get(http, "standing", MANAGER_C01).body)


def test_the_days_difficult_cases_each_link_to_their_units_page(http):
    html = str(get(http, "cases", MANAGER_C01).body)
    sections = {kind: html.split(f'id="case-{kind}"')[1].split("</section>")[0]
                for kind in ("refused_twice", "broken_promise", "dispute_overdue", "leftover")}  # fmt: skip
    assert 'href="/console/units/C01-B01-0101?lang=zh-CN">C01-B01-0101</a> · <time' in sections["refused_twice"]
    assert "C01-B01-0102" not in sections["refused_twice"]  # refused once
    assert "C01-B01-0103" in sections["broken_promise"] and "2026-11-08 · K1" in sections["broken_promise"]
    assert "C01-B01-0104" not in sections["broken_promise"]  # paid after the promise
    assert "C01-B01-0105" not in sections["broken_promise"]  # its date has not come
    assert (
        "C01-B01-0102" in sections["dispute_overdue"] and "T20261101-0A000001 · finance" in sections["dispute_overdue"]
    )
    assert "T20261105-0A000002" in sections["leftover"] and "T20261111-0A000003" not in html  # still in time
    assert "C02-B01-0101" not in html  # another community's ticket


def test_the_meetings_pages_answer_403_outside_the_managers_community(http):
    for route in ("standing", "cases"):
        assert get(http, route, MANAGER_C01).status == 200 and get(http, route, ADMIN, community="C01").status == 200
        assert get(http, route, MANAGER_C02, community="C01").status == 403, route
        assert get(http, route, MANAGER_C02).status == 200  # their own
        assert get(http, route, FINANCE_C01).status == 403, route  # the standing is the manager's
        assert get(http, route, K1).status == 403, route
        assert get(http, route, None).status == 401
        assert get(http, route, MANAGER_C01, date="11/12").status == 400
    today = str(http.today(request_of(event("GET", "/console/today", MANAGER_C01))).body)
    assert 'href="/console/cases?community=C01&lang=zh-CN"' in today  # in the managers' pages' links
    assert NOW.date() == TODAY

"""The managers' and finance's routes with in-memory ports: a community's today (planned, sent, skipped by reason,
failed, online payments, the collection rate), the day's report files with presigned links, and 403 for another
community's today, report, task (its unit) and ticket."""

from __future__ import annotations

from datetime import date

import pytest

from propfee.console.permissions import Role
from propfee.domain.activity import DayActivity
from propfee.domain.models import Channel, PaymentSource, ReminderStatus
from tests.support.console import MemoryReports, claims, collectors_estate, console, event, request_of, staff
from tests.support.report_day import payment, period, reminder, skip
from tests.unit.console.test_clerk_http import LEAK, ticket

MANAGER_C01 = claims("sub-m1", Role.COMMUNITY_MANAGER)
MANAGER_C02 = claims("sub-m2", Role.COMMUNITY_MANAGER)
FINANCE_C01 = claims("sub-f1", Role.FINANCE)
ADMIN = claims("sub-admin", Role.COMPANY_ADMIN)
COLLECTOR = claims("sub-k1", Role.COLLECTOR)
CLERK = claims("sub-e1", Role.DEPARTMENT_CLERK)
DAY = date(2026, 11, 12)  # NOW's local day
FILES = [
    "reports/2026-11-12/report.html",
    "reports/2026-11-12/summary.json",
    "reports/2026-11-12/communities/C01/report.html",
    "reports/2026-11-12/communities/C01/report.xlsx",
    "reports/2026-11-12/communities/C02/report.html",
]


@pytest.fixture()
def store():
    store = collectors_estate()
    store.staff_records["sub-f1"] = staff("sub-f1", communities=frozenset({"C01"}))
    store.staff_records["sub-e1"] = staff(
        "sub-e1", communities=frozenset({"C01"}), departments=frozenset({"engineering"})
    )
    # paid on the bill page: online by its source (an imported "wechat_pay" payment is not)
    online = payment("C01", 1, 25000, 10, method="wechat_pay").model_copy(update={"source": PaymentSource.PROVIDER})
    store.activity[("C01", DAY)] = DayActivity(
        reminders=(
            reminder("C01", 1, Channel.SMS, ReminderStatus.DELIVERED, 9),
            reminder("C01", 2, Channel.SMS, ReminderStatus.SENT, 9),
            reminder("C01", 3, Channel.EMAIL, ReminderStatus.FAILED, 9),
        ),
        skips=(skip("C01", 1, "on_hold_complaint", 9), skip("C01", 2, "on_hold_complaint", 9),
               skip("C01", 3, "opted_out", 9)),
        # the third came in the billing system's export: paid in its app, not from the link
        payments=(online, payment("C01", 2, 10000, 11, method="cash"),
                  payment("C01", 3, 5000, 12, method="wechat_pay")),
    )  # fmt: skip
    store.periods["C01"] = [period("C01", "2026-11", 100000, 62500), period("C01", "2026-10", 100000, 90000)]
    store.ticket_items[LEAK] = ticket(LEAK, "C01-B01-0102")
    return store


@pytest.fixture()
def reports():
    return MemoryReports(FILES)


@pytest.fixture()
def http(store, reports):
    return console(store, reports=reports)


def today(http, who, **query):
    return http.today(request_of(event("GET", "/console/today", who, query=query or None)))


def reports_of(http, who, community_id, **query):
    made = event("GET", f"/console/reports/{community_id}", who, query=query or None)
    return http.reports(request_of(made), community_id)


def test_the_managers_today_counts_the_days_reminders_skips_payments_and_the_collection_rate(http):
    page = today(http, MANAGER_C01)
    html = str(page.body)
    assert page.status == 200
    for row, value in (("计划发送", "6"), ("已发送", "2"), ("失败", "1"), ("收缴率", "62.5%")):
        assert f'<th scope="row">{row}</th><td>{value}</td>' in html, row
    assert "on_hold_complaint 2" in html and "opted_out 1" in html
    assert "1 · ¥250.00" in html  # one payment online (WeChat Pay), the cash one is not
    assert 'href="/console/reports/C01?date=2026-11-12&lang=zh-CN"' in html
    english = str(today(http, FINANCE_C01, lang="en").body)
    assert "Collection rate" in english and "62.5%" in english


def test_home_opens_today_for_a_manager_and_finance(http):
    assert "今日概况" in str(http.home(request_of(event("GET", "/console/home", MANAGER_C01))).body)
    assert "今日概况" in str(http.home(request_of(event("GET", "/console/home", FINANCE_C01))).body)


def test_a_manager_downloads_their_communitys_report_and_only_theirs(http, reports):
    page = reports_of(http, MANAGER_C01, "C01")
    html = str(page.body)
    assert page.status == 200
    assert "https://reports.example.com/reports/2026-11-12/communities/C01/report.xlsx?expires=900" in html
    assert "propfee-2026-11-12-C01-report.html" in html and 'hx-boost="false"' in html
    assert "communities/C02" not in html and "reports/2026-11-12/report.html" not in html
    assert reports_of(http, FINANCE_C01, "C01").status == 200
    reports.listed.clear()
    for who, community in ((MANAGER_C02, "C01"), (FINANCE_C01, "C02"), (MANAGER_C01, "company"),
                           (COLLECTOR, "C01"), (CLERK, "C01")):  # fmt: skip
        assert reports_of(http, who, community).status == 403, (who["sub"], community)
    assert reports.listed == []  # refused before anything is listed
    company = str(reports_of(http, ADMIN, "company").body)
    assert "reports/2026-11-12/summary.json" in company and "communities/" not in company
    assert "暂无日报" in str(reports_of(http, MANAGER_C01, "C01", date="2026-11-11").body)
    assert reports_of(http, MANAGER_C01, "C01", date="11/12").status == 400


def test_a_manager_of_one_community_gets_403_on_anothers_today_unit_ticket_and_report(http):
    assert today(http, MANAGER_C02, community="C01").status == 403
    assert today(http, MANAGER_C02).status == 200  # their own
    task_id = "C01-B01-0101.call_d30.1"  # a unit's page in the console is its task's
    assert http.task(request_of(event("GET", f"/console/tasks/{task_id}", MANAGER_C02)), task_id).status == 403
    assert http.ticket(request_of(event("GET", f"/console/tickets/{LEAK}", MANAGER_C02)), LEAK).status == 403
    assert reports_of(http, MANAGER_C02, "C01").status == 403
    assert http.task(request_of(event("GET", f"/console/tasks/{task_id}", MANAGER_C01)), task_id).status == 200
    assert today(http, COLLECTOR).status == 403 and today(http, CLERK, community="C01").status == 403
    assert today(http, None).status == 401


# every page the managers' nav can link to: its path, and the route's (method, path) in http.ROUTES
NAV_PAGES = {"/console/today", "/console/plan", "/console/legal-reviews", "/console/claims", "/console/opt-outs",
             "/console/standing", "/console/cases", "/console/reports/C01"}  # fmt: skip


def _open(http, who, path):
    import re

    from propfee.console.http import ROUTES

    for method, pattern, name in ROUTES:
        regex = "^" + re.sub(r"<\w+>", "([^/]+)", pattern) + "$"
        if method == "GET" and (found := re.match(regex, path)):
            made = event("GET", path, who, query={"community": "C01"})
            return getattr(http, name)(request_of(made), *found.groups())
    raise AssertionError(f"no route {path}")


@pytest.mark.parametrize(
    ("who", "shown"),
    [
        (MANAGER_C01, NAV_PAGES),
        (ADMIN, NAV_PAGES),
        (FINANCE_C01, {"/console/today", "/console/legal-reviews", "/console/claims", "/console/reports/C01"}),
    ],
    ids=["community_manager", "company_admin", "finance"],
)
def test_the_nav_shows_only_the_pages_the_members_roles_open(http, who, shown):
    import re

    page = str(today(http, who, community="C01").body)
    nav = page.split('class="tools manage"', 1)[1].split("</nav>", 1)[0]
    linked = {href.split("?")[0] for href in re.findall(r'href="([^"]+)"', nav)}
    assert linked == shown
    for path in NAV_PAGES:  # each link shown opens; each left out would have answered 403
        assert (_open(http, who, path).status == 200) == (path in shown), path

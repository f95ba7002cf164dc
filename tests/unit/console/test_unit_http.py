"""The unit's page and its evidence pack with in-memory ports: balance and open bills, reminders, replies, tickets,
tasks and their outcomes, holds and the staff's actions, each with its time; the number in full only for the
collector calling; the pack (the staff actions in it, its own export audited) for the admin and the manager; 403
route by route outside the reader's scope."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta
from urllib.parse import urlencode

import pytest

from propfee.console.permissions import Role
from propfee.domain.models import Hold, HoldKind
from propfee.web.security import csrf_token
from tests.support.console import (
    NOW,
    SECRET,
    MemoryReports,
    claims,
    collectors_estate,
    console,
    event,
    request_of,
    staff,
)
from tests.unit.console.test_clerk_http import LEAK, ticket
from tests.unit.console.test_http import outcome_form, post_outcome

K1 = claims("sub-k1", Role.COLLECTOR)
K2 = claims("sub-k2", Role.COLLECTOR)
MANAGER_C01 = claims("sub-m1", Role.COMMUNITY_MANAGER)
MANAGER_C02 = claims("sub-m2", Role.COMMUNITY_MANAGER)
FINANCE_C01 = claims("sub-f1", Role.FINANCE)
CLERK = claims("sub-e1", Role.DEPARTMENT_CLERK)
ADMIN = claims("sub-admin", Role.COMPANY_ADMIN)
UNIT = "C01-B01-0101"
TASK = f"{UNIT}.call_d30.1"


def history_of(unit_id: str) -> list[dict]:
    return [
        {"kind": "reminder", "at": (NOW - timedelta(days=14)).isoformat(), "channel": "sms", "step": "sms_d14",
         "occurrence": 1, "status": "delivered", "text": "您的物业费已逾期", "subject": ""},
        {"kind": "inbound", "at": (NOW - timedelta(days=6)).isoformat(), "channel": "sms", "intent": "complaint",
         "body": "<b>楼上漏水</b>修好再交", "ticket_id": LEAK},
        {"kind": "reminder", "at": (NOW - timedelta(days=1)).isoformat(), "channel": "call", "step": "call_d30",
         "occurrence": 1, "status": "assigned"},
    ]  # fmt: skip


@pytest.fixture()
def store():
    store = collectors_estate()
    store.staff_records["sub-f1"] = staff("sub-f1", communities=frozenset({"C01"}))
    store.staff_records["sub-e1"] = staff(
        "sub-e1", communities=frozenset({"C01"}), departments=frozenset({"engineering"})
    )
    store.histories[UNIT] = history_of(UNIT)
    store.ticket_items[LEAK] = ticket(LEAK, UNIT)
    held = store.units[UNIT]
    hold = Hold(kind=HoldKind.COMPLAINT, reason="complaint", ticket=LEAK)
    store.units[UNIT] = held.model_copy(update={"holds": (hold,)})
    return store


@pytest.fixture()
def reports():
    return MemoryReports()


@pytest.fixture()
def http(store, reports):
    return console(store, reports=reports)


def unit_page(http, who, unit_id=UNIT, **query):
    return http.unit(request_of(event("GET", f"/console/units/{unit_id}", who, query=query or None)), unit_id)


def export(http, who, unit_id=UNIT, sub=None):
    form = urlencode({"csrf": csrf_token(SECRET, f"console:{sub or (who or {}).get('sub')}", NOW)})
    return http.evidence(request_of(event("POST", f"/console/units/{unit_id}/evidence", who, form)), unit_id)


def test_the_unit_page_shows_bills_reminders_replies_tickets_tasks_holds_and_staff_actions_with_their_times(
    http, store
):
    # a promise recorded from the task: an outcome and its staff action on the unit page
    promised = (NOW + timedelta(days=5)).date().isoformat()
    assert post_outcome(http, K1, TASK, outcome_form("sub-k1", "promised", promised_date=promised)).status == 200
    store.histories[UNIT] += [{"kind": "staff_action", **a.model_dump(mode="json")} for a in store.for_unit(UNIT)]
    page = unit_page(http, K1, **{"from": TASK})
    html = str(page.body)
    assert page.status == 200
    assert "¥250.00" in html and "2026-10" in html  # the open bill, its period and what is owed
    assert '<time datetime="2026-10-29T10:00:00+08:00">2026-10-29 10:00</time> sms sms_d14 (delivered)' in html
    assert "&lt;b&gt;楼上漏水&lt;/b&gt;修好再交" in html and "<b>" not in html  # the owner's words escaped
    assert f"{LEAK} · engineering · open" in html
    assert f"call_d30 · K1 · 承诺缴费 → {promised} (<time" in html  # the task and its outcome
    assert f"promise_to_pay → {promised}" in html and "complaint → 直至解除" in html
    assert "task.outcome · task " + TASK + " · sub-k1" in html  # the staff action, who did it
    assert 'href="tel:+8613812345678"' not in html  # the task is closed: no one is calling any more
    assert f'href="/console/tasks/{TASK}?lang=zh-CN"' in html  # back to the task it was opened from
    assert "/evidence" not in html  # the pack is not a collector's


def test_only_the_collector_calling_sees_the_number_in_full(http):
    html = str(unit_page(http, K1).body)
    assert 'href="tel:+8613812345678"' in html
    for who in (MANAGER_C01, ADMIN, FINANCE_C01):
        other = str(unit_page(http, who).body)
        assert "+8613812345678" not in other and "138****5678" in other, who["sub"]


def test_the_unit_page_is_reached_from_a_task_the_task_list_and_a_managers_ticket(http):
    task_page = str(http.task(request_of(event("GET", f"/console/tasks/{TASK}", K1)), TASK).body)
    assert f'href="/console/units/{UNIT}?from={TASK}&lang=zh-CN"' in task_page
    tasks = str(http.tasks(request_of(event("GET", "/console/tasks", K1))).body)
    assert f'href="/console/units/{UNIT}?from={TASK}&lang=zh-CN"' in tasks
    ticket_page = str(http.ticket(request_of(event("GET", f"/console/tickets/{LEAK}", MANAGER_C01)), LEAK).body)
    assert f'href="/console/units/{UNIT}?lang=zh-CN"' in ticket_page
    clerk_page = str(http.ticket(request_of(event("GET", f"/console/tickets/{LEAK}", CLERK)), LEAK).body)
    assert "/console/units/" not in clerk_page  # a clerk's unit context is the ticket's own


def test_the_unit_page_answers_403_outside_the_readers_scope(http):
    assert unit_page(http, K1).status == 200 and unit_page(http, MANAGER_C01).status == 200
    assert unit_page(http, FINANCE_C01).status == 200 and unit_page(http, ADMIN).status == 200
    for who in (K2, MANAGER_C02, CLERK):
        assert unit_page(http, who).status == 403, who["sub"]
    assert unit_page(http, K1, "C01-B01-0102").status == 403  # no task of K1's on it
    assert unit_page(http, K2, "C02-B01-0101").status == 403  # K2's task exists, but no reminder names it
    assert unit_page(http, None).status == 401
    assert unit_page(http, ADMIN, "C09-B01-0101").status == 404


def test_a_manager_downloads_the_units_evidence_pack_with_the_staff_actions_in_it(http, store, reports):
    promised = (NOW + timedelta(days=5)).date().isoformat()
    post_outcome(http, K1, TASK, outcome_form("sub-k1", "promised", promised_date=promised, note="月底前交"))
    store.histories[UNIT] += [{"kind": "staff_action", **a.model_dump(mode="json")} for a in store.for_unit(UNIT)]
    assert "/evidence" in str(unit_page(http, MANAGER_C01).body)
    page = export(http, MANAGER_C01)
    html = str(page.body)
    assert page.status == 200
    [key] = [k for k in reports.files if k.startswith(f"evidence/{UNIT}/")]
    assert f"https://reports.example.com/{key}?expires=900" in html and 'hx-boost="false"' in html
    archive = zipfile.ZipFile(io.BytesIO(reports.files[key]))
    rows = list(csv.DictReader(io.StringIO(archive.read("staff_actions.csv").decode("utf-8-sig"))))
    assert [r["action"] for r in rows] == ["task.outcome", "evidence.export"]
    assert rows[0]["staff"] == "sub-k1" and rows[0]["note"] == "月底前交" and promised in rows[0]["after"]
    assert rows[1]["staff"] == "sub-m1"
    assert "staff_actions.csv" in json.loads(archive.read("manifest.json"))["files"]
    assert "sms_d14.1.txt" in " ".join(archive.namelist())  # the reminder's words, as sent
    # the export is itself a staff action on the unit
    assert [a.action for a in store.for_unit(UNIT)] == ["task.outcome", "evidence.export"]


def test_the_evidence_pack_is_the_admins_and_the_managers_only_and_needs_the_forms_token(http, reports):
    for who in (K1, FINANCE_C01, MANAGER_C02, CLERK):
        assert export(http, who).status == 403, who["sub"]
    assert export(http, MANAGER_C01, sub="sub-m2").status == 403  # another person's form token
    assert export(http, None).status == 401
    assert reports.files == {}  # nothing made for a refusal
    assert export(http, ADMIN).status == 200
    assert export(http, ADMIN, "C09-B01-0101").status == 404

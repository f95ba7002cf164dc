"""The console's routes with in-memory ports: sign-in, the collector's tasks by priority with the number to dial,
the task page and its one-tap outcomes (CSRF, the audit, a promise holding the ladder), and 403 route by route."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

import pytest

from propfee.collection.ladder import decide
from propfee.console.permissions import Role
from propfee.domain.models import Hold, HoldKind, Ticket, TicketStatus
from propfee.web.security import csrf_token
from tests.support import SHANGHAI, at
from tests.support.console import (
    NOW,
    PASSWORD,
    SECRET,
    FakeSignIn,
    claims,
    collectors_estate,
    console,
    event,
    request_of,
)

K1 = claims("sub-k1", Role.COLLECTOR)
K2 = claims("sub-k2", Role.COLLECTOR)
MANAGER_C01 = claims("sub-m1", Role.COMMUNITY_MANAGER)
MANAGER_C02 = claims("sub-m2", Role.COMMUNITY_MANAGER)
ADMIN = claims("sub-admin", Role.COMPANY_ADMIN)
TASK = "C01-B01-0101.call_d30.1"


@pytest.fixture()
def store():
    return collectors_estate()


@pytest.fixture()
def http(store):
    return console(store)


def outcome_form(sub: str, outcome: str, **fields: str) -> str:
    return urlencode({"csrf": csrf_token(SECRET, f"console:{sub}", NOW), "outcome": outcome, **fields})


def post_outcome(http, who, task_id=TASK, form=""):
    return http.outcome(request_of(event("POST", f"/console/tasks/{task_id}/outcome", who, form)), task_id)


# ---------------------------------------------------------------------------------------------- sign-in
def test_signing_in_hands_the_id_token_to_the_page_script_and_a_wrong_password_is_refused():
    signer = FakeSignIn()
    http = console(sign_in=signer)
    good = http.sign_in(request_of(event("POST", "/console/sign-in", form=urlencode(
        {"email": "K1@example.com", "password": PASSWORD}))))  # fmt: skip
    html = str(good.body)
    assert good.status == 200 and 'data-token="id-token-of-k1@example.com"' in html
    assert (
        good.headers["Cache-Control"] == "no-store" and "script-src 'self'" in good.headers["Content-Security-Policy"]
    )
    assert "<script>" not in html  # the token moves by /static/console.js, no inline script
    bad = http.sign_in(request_of(event("POST", "/console/sign-in", form=urlencode(
        {"email": "k1@example.com", "password": "wrong"}))))  # fmt: skip
    assert bad.status == 401 and "邮箱或密码不正确" in str(bad.body) and "data-token" not in str(bad.body)


def test_sign_in_attempts_are_limited_per_email():
    signer = FakeSignIn()
    http = console(sign_in=signer)
    form = urlencode({"email": "k1@example.com", "password": "guess"})
    statuses = [http.sign_in(request_of(event("POST", "/console/sign-in", form=form))).status for _ in range(7)]
    assert statuses == [401] * 5 + [429, 429] and signer.calls == 5  # the pool is not asked once over the limit


def test_the_public_pages_render_in_both_languages():
    http = console()
    zh = http.sign_in_page(request_of(event("GET", "/console/sign-in")))
    en = http.shell(request_of(event("GET", "/console", language="en")))
    assert zh.status == en.status == 200
    assert 'lang="zh-CN"' in str(zh.body) and "登录" in str(zh.body)
    assert 'lang="en"' in str(en.body) and 'hx-get="/console/home?lang=en"' in str(en.body)


# ---------------------------------------------------------------------------------------------- the task list
def test_the_collector_sees_their_tasks_by_priority_with_the_number_to_dial(http, store):
    store.task_items[TASK] = store.task_items[TASK].model_copy(update={"due_by": NOW - timedelta(hours=1)})
    held = Hold(kind=HoldKind.COMPLAINT, reason="complaint", ticket="T20261106-0A1B2C3D")
    store.units["C01-B01-0102"] = store.units["C01-B01-0102"].model_copy(
        update={"holds": (held,), "steps_done": frozenset({"sms_d1"}), "recent_contacts": (at("2026-11-05 10:00"),)}
    )
    store.histories["C01-B01-0102"] = [
        {"kind": "reminder", "at": at("2026-11-05 10:00").isoformat(), "channel": "sms", "step": "sms_d1",
         "status": "delivered"},
        {"kind": "inbound", "at": at("2026-11-06 11:00").isoformat(), "channel": "sms", "body": "<b>楼上漏水</b>",
         "intent": "complaint", "ticket_id": "T20261106-0A1B2C3D"},
    ]  # fmt: skip
    store.ticket_items["T20261106-0A1B2C3D"] = Ticket(
        ticket_id="T20261106-0A1B2C3D", community_id="C01", unit_ids=("C01-B01-0102",), department="engineering",
        intent="complaint", channel="sms", contact="+8613812345678", message="<b>楼上漏水</b>，回电13812345678",
        created_at=at("2026-11-06 11:00"), due_by=at("2026-11-08 11:00"), source_id="m-1", status=TicketStatus.OPEN,
    )  # fmt: skip
    page = http.tasks(request_of(event("GET", "/console/tasks", K1)))
    html = str(page.body)
    assert page.status == 200
    # read in batches: the inbox, the units, the tickets holding them; nothing task by task
    assert (store.batch_reads, store.single_reads) == (2, 0)
    # the overdue one first, then by deadline; the C02 task of K2 is not listed
    order = [html.index(f"锦绣花园1栋01{n:02d}室") for n in (1, 2, 3)]
    assert order == sorted(order) and "C02-B01" not in html
    assert 'href="tel:+8613812345678"' in html and "¥500.00" in html  # the unit's balance now
    assert "&lt;b&gt;楼上漏水&lt;/b&gt;" in html and "<b>楼上漏水" not in html  # the owner's words escaped
    assert "13812345678" not in html.replace("+8613812345678", "")  # the number in them masked
    assert "T20261106-0A1B2C3D" in html and '<span class="chip">sms_d1</span>' in html and "最近一次 11-05" in html
    # the task's page: the unit's whole history, each reminder with its date and status
    task_id = "C01-B01-0102.call_d30.1"
    detail = str(http.task(request_of(event("GET", f"/console/tasks/{task_id}", K1)), task_id).body)
    assert "11-05 sms sms_d1 (delivered)" in detail and "&lt;b&gt;楼上漏水&lt;/b&gt;" in detail
    english = str(http.tasks(request_of(event("GET", "/console/tasks", K1, language="en"))).body)
    assert "Today&#39;s tasks" in english and "Rm 0101, 1栋, 锦绣花园" in english


def test_a_manager_sees_a_collectors_list_masked_and_a_manager_elsewhere_gets_403(http):
    page = http.tasks(request_of(event("GET", "/console/tasks", MANAGER_C01, query={"collector": "K1"})))
    assert page.status == 200 and "tel:" not in str(page.body) and "+86138****5678" in str(page.body)
    assert http.tasks(request_of(event("GET", "/console/tasks", MANAGER_C02, query={"collector": "K1"}))).status == 403
    assert http.tasks(request_of(event("GET", "/console/tasks", K2, query={"collector": "K1"}))).status == 403
    assert http.tasks(request_of(event("GET", "/console/tasks", MANAGER_C01))).status == 403  # no collector of theirs


def test_without_verified_claims_every_staff_route_answers_401(http):
    assert http.tasks(request_of(event("GET", "/console/tasks"))).status == 401
    assert http.task(request_of(event("GET", f"/console/tasks/{TASK}")), TASK).status == 401
    assert post_outcome(http, None, form=outcome_form("sub-k1", "refused")).status == 401


# ---------------------------------------------------------------------------------------------- 403 route by route
@pytest.mark.parametrize(
    ("who", "task_id", "expected"),
    [
        (K1, TASK, 200),
        (ADMIN, TASK, 200),
        (MANAGER_C01, TASK, 200),
        (K2, TASK, 403),  # another collector's task
        (MANAGER_C02, TASK, 403),  # a manager of another community
        (K1, "C02-B01-0101.call_d30.1", 403),
        (K1, "C01-B09-0909.call_d30.1", 404),
    ],
)
def test_the_task_page_is_for_its_collector_and_its_communitys_manager(http, who, task_id, expected):
    assert http.task(request_of(event("GET", f"/console/tasks/{task_id}", who)), task_id).status == expected


@pytest.mark.parametrize("who", [K2, MANAGER_C02])
def test_recording_an_outcome_outside_ones_communities_is_403_and_changes_nothing(http, store, who):
    answer = post_outcome(http, who, form=outcome_form(who["sub"], "refused"))
    assert answer.status == 403 and store.task_items[TASK].status == "open" and store.audit.actions == []


def test_a_collector_moved_to_another_community_loses_the_old_communitys_tasks(http, store):
    store.staff_records["sub-k1"] = store.staff_records["sub-k1"].model_copy(update={"communities": frozenset({"C02"})})
    assert http.task(request_of(event("GET", f"/console/tasks/{TASK}", K1)), TASK).status == 403
    assert "锦绣花园1栋0101室" not in str(http.tasks(request_of(event("GET", "/console/tasks", K1))).body)


# ---------------------------------------------------------------------------------------------- outcomes
def test_the_task_page_offers_the_one_tap_outcomes_with_a_signed_form(http):
    html = str(http.task(request_of(event("GET", f"/console/tasks/{TASK}", K1)), TASK).body)
    for outcome in ("promised", "refused", "wrong_number", "unreachable", "paid", "visited"):
        assert f'name="outcome" value="{outcome}"' in html
    assert 'name="csrf" value="' in html and 'href="tel:+8613812345678"' in html and 'min="2026-11-12"' in html


def test_a_form_without_a_valid_csrf_token_is_refused_and_records_nothing(http, store):
    forged = urlencode({"csrf": csrf_token(b"another-key", "console:sub-k1", NOW), "outcome": "refused"})
    other_person = outcome_form("sub-k2", "refused")  # a token signed for someone else
    for form in (forged, other_person, urlencode({"outcome": "refused"})):
        assert post_outcome(http, K1, form=form).status == 403
    assert store.task_items[TASK].status == "open" and store.audit.actions == []


def test_a_promise_is_recorded_as_task_done_records_it_and_audited(http, store):
    answer = post_outcome(
        http, K1, form=outcome_form("sub-k1", "promised", promised_date="2026-11-20", note="月底发工资")
    )
    assert answer.status == 200 and "暂停催缴至 2026-11-20" in str(answer.body)
    task = store.task_items[TASK]
    assert (task.status, task.outcome.value, task.promised_date, task.note) == ("done", "promised", date(2026, 11, 20),
                                                                               "月底发工资")  # fmt: skip
    unit = store.units["C01-B01-0101"]
    assert [(h.kind, h.until) for h in unit.holds] == [(HoldKind.PROMISE_TO_PAY, date(2026, 11, 20))]
    # the ladder is held until the date, then resumes
    assert decide(unit, date(2026, 11, 19), SHANGHAI).reason == "on_hold_promise_to_pay"
    assert decide(unit, date(2026, 11, 21), SHANGHAI).action is not None
    [action] = store.audit.actions
    assert (action.actor_sub, action.action, action.target_id, action.unit_id) == (
        "sub-k1",
        "task.outcome",
        TASK,
        "C01-B01-0101",
    )
    assert action.at == NOW and action.actor_roles == ("collector",) and action.note == "月底发工资"
    assert action.before["status"] == "open" and action.after["status"] == "done"
    assert action.before["holds"] == [] and action.after["holds"][0]["until"] == "2026-11-20"
    # the task is done: a second tap changes nothing
    again = post_outcome(http, K1, form=outcome_form("sub-k1", "refused"))
    assert again.status == 409 and len(store.audit.actions) == 1


def test_a_promise_needs_a_date_from_today_and_an_unknown_outcome_is_a_bad_request(http, store):
    for promised in ("", "2026-11-11", "not-a-date"):
        answer = post_outcome(http, K1, form=outcome_form("sub-k1", "promised", promised_date=promised))
        assert answer.status == 400 and "承诺缴费需要填写日期" in str(answer.body)
    assert post_outcome(http, K1, form=outcome_form("sub-k1", "referred_to_mars")).status == 400
    assert post_outcome(http, K1, form=outcome_form("sub-k1", "referred")).status == 409  # a legal review's only
    assert store.task_items[TASK].status == "open" and store.audit.actions == []


@pytest.mark.parametrize("outcome", ["refused", "unreachable", "visited", "wrong_number", "paid"])
def test_each_other_outcome_closes_the_task(http, store, outcome):
    assert post_outcome(http, K1, form=outcome_form("sub-k1", outcome, note="x")).status == 200
    assert store.task_items[TASK].outcome.value == outcome
    holds = [h.kind for h in store.units["C01-B01-0101"].holds]
    assert holds == ([HoldKind.PAID_CLAIM] if outcome == "paid" else [])
    if outcome == "wrong_number":
        assert store.units["C01-B01-0101"].owners[0].sms_disabled
        assert store.audit.actions[0].after["sms_disabled_owners"] == 1

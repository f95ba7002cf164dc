"""The department clerks' routes with in-memory ports: the inbox (new, open, overdue, the time left in local time),
the ticket page (the owner's words escaped, the number masked, the unit's context), claim and reassign, the reply
through the send path (queued outside the window), resolve releasing the hold; CSRF and 403 route by route."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

import pytest

from propfee.collection.ladder import decide
from propfee.console.permissions import Role
from propfee.domain.config import Settings
from propfee.domain.models import Hold, HoldKind, Ticket, TicketStatus
from propfee.feedback.receiving import ticket_email
from propfee.feedback.responses import DepartmentContact
from propfee.feedback.ticketing import send_queued_replies
from propfee.web.security import csrf_token
from tests.support import SHANGHAI, at
from tests.support.console import NOW, SECRET, FakeReplies, claims, collectors_estate, console, event, request_of, staff

CLERK = claims("sub-e1", Role.DEPARTMENT_CLERK)  # engineering, C01
CLERK_2 = claims("sub-e2", Role.DEPARTMENT_CLERK)  # engineering, C01: a colleague to reassign to
CLERK_C02 = claims("sub-e3", Role.DEPARTMENT_CLERK)  # engineering, C02 only
SECURITY_CLERK = claims("sub-s1", Role.DEPARTMENT_CLERK)  # security, C01
COLLECTOR = claims("sub-k1", Role.COLLECTOR)
FINANCE = claims("sub-f1", Role.FINANCE)
MANAGER_C01 = claims("sub-m1", Role.COMMUNITY_MANAGER)
MANAGER_C02 = claims("sub-m2", Role.COMMUNITY_MANAGER)
LEAK = "T20261111-0A1B2C3D"  # engineering, C01-B01-0102, holds its reminders
NOISE = "T20261111-0B1B2C3D"  # engineering, C01, overdue
ELSEWHERE = "T20261111-0C1B2C3D"  # engineering, C02


def ticket(ticket_id: str, unit_id: str, **changes) -> Ticket:
    fields = {
        "ticket_id": ticket_id, "community_id": unit_id.split("-")[0], "unit_ids": (unit_id,),
        "department": "engineering", "intent": "complaint", "channel": "sms", "contact": "+8613812345678",
        "message": "<script>x</script>楼上漏水，回电13812345678", "created_at": at("2026-11-11 20:00"),
        "due_by": at("2026-11-12 12:30"), "source_id": f"m-{ticket_id}", "hold": HoldKind.COMPLAINT,
    }  # fmt: skip
    return Ticket(**{**fields, **changes})


@pytest.fixture()
def store():
    store = collectors_estate()
    store.staff_records.update({
        "sub-e1": staff("sub-e1", name="赵工", communities=frozenset({"C01"}), departments=frozenset({"engineering"})),
        "sub-e2": staff("sub-e2", name="钱工", communities=frozenset({"C01"}), departments=frozenset({"engineering"})),
        "sub-e3": staff("sub-e3", communities=frozenset({"C02"}), departments=frozenset({"engineering"})),
        "sub-s1": staff("sub-s1", communities=frozenset({"C01"}), departments=frozenset({"security"})),
        "sub-f1": staff("sub-f1", communities=frozenset({"C01"})),
    })  # fmt: skip
    held = store.units["C01-B01-0102"]
    store.units["C01-B01-0102"] = held.model_copy(
        update={"holds": (Hold(kind=HoldKind.COMPLAINT, reason="complaint", ticket=LEAK),), "version": 1}
    )
    store.ticket_items[LEAK] = ticket(LEAK, "C01-B01-0102")
    store.ticket_items[NOISE] = ticket(NOISE, "C01-B01-0103", due_by=NOW - timedelta(minutes=90), hold=None,
                                        assigned_to="sub-e2", message="晚上太吵")  # fmt: skip
    store.ticket_items[ELSEWHERE] = ticket(ELSEWHERE, "C02-B01-0101", hold=None)
    return store


@pytest.fixture()
def replies():
    return FakeReplies()


@pytest.fixture()
def http(store, replies):
    return console(store, replies=replies)


def form(sub: str, **fields: str) -> str:
    return urlencode({"csrf": csrf_token(SECRET, f"console:{sub}", NOW), **fields})


def post(http, action: str, who, ticket_id: str = LEAK, body: str = "", now=NOW):
    handler = getattr(http, action)
    made = event("POST", f"/console/tickets/{ticket_id}/{action}", who, body)
    return handler(request_of(made, now), ticket_id)


def get_ticket(http, who, ticket_id: str = LEAK, language: str = "zh-CN"):
    return http.ticket(request_of(event("GET", f"/console/tickets/{ticket_id}", who, language=language)), ticket_id)


# ---------------------------------------------------------------------------------------------- the inbox
def test_the_clerk_sees_the_departments_tickets_in_their_communities_overdue_first_with_the_time_left(http):
    page = http.inbox(request_of(event("GET", "/console/tickets", CLERK)))
    html = str(page.body)
    assert page.status == 200 and ELSEWHERE not in html  # C02's ticket is not theirs
    assert html.index(NOISE) < html.index(LEAK)  # the overdue one first
    assert "已超时 1小时30分钟" in html  # 90 minutes past its deadline
    assert "新工单" in html and "剩余 2小时30分钟" in html  # nobody claimed the leak; due 12:30 local, now 10:00
    assert '<time datetime="2026-11-12T12:30:00+08:00">11-12 12:30</time>' in html
    english = str(http.inbox(request_of(event("GET", "/console/tickets", CLERK, language="en"))).body)
    assert "Overdue" in english and "New" in english and "2h30min" in english


def test_the_inbox_of_another_department_or_without_one_answers_403(http):
    def inbox(who, department=None):
        query = {"department": department} if department else None
        return http.inbox(request_of(event("GET", "/console/tickets", who, query=query))).status

    assert inbox(CLERK, "security") == 403 and inbox(SECURITY_CLERK, "engineering") == 403
    assert inbox(COLLECTOR, "engineering") == 403 and inbox(FINANCE, "engineering") == 403
    assert inbox(MANAGER_C01) == 403  # no department of their own
    assert inbox(None) == 401


def test_home_opens_the_clerks_inbox_and_the_collectors_tasks(http):
    assert "部门工单" in str(http.home(request_of(event("GET", "/console/home", CLERK))).body)
    assert "今日任务" in str(http.home(request_of(event("GET", "/console/home", COLLECTOR))).body)
    nobody = claims("sub-x", Role.COMMUNITY_MANAGER)  # no staff record: no community, no page
    assert http.home(request_of(event("GET", "/console/home", nobody))).status == 403


# ---------------------------------------------------------------------------------------------- the ticket page
def test_the_ticket_page_shows_the_owners_words_escaped_the_number_masked_and_the_units_context(http):
    page = get_ticket(http, CLERK)
    html = str(page.body)
    assert page.status == 200
    assert "&lt;script&gt;x&lt;/script&gt;楼上漏水" in html and "<script>x" not in html
    assert "13812345678" not in html and "+86138****5678" in html  # the contact and the number in the words
    assert "C01-B01-0102" in html and "¥500.00" in html and "complaint" in html  # balance and the hold
    assert 'name="csrf"' in html and "钱工" in html and "sub-e3" not in html  # a colleague here, not C02's clerk


def test_the_ticket_page_and_its_forms_answer_403_outside_the_department_and_the_community(http, store):
    outsiders = [SECURITY_CLERK, COLLECTOR, FINANCE, MANAGER_C02]
    for who in outsiders:
        sub = who["sub"]
        assert get_ticket(http, who).status == 403, sub
        assert post(http, "assign", who, body=form(sub)).status == 403, sub
        assert post(http, "reply", who, body=form(sub, text="您好")).status == 403, sub
        assert post(http, "resolve", who, body=form(sub, note="已修")).status == 403, sub
    assert get_ticket(http, CLERK_C02).status == 403  # the department's clerk, but of another community
    assert get_ticket(http, CLERK, ELSEWHERE).status == 403
    assert get_ticket(http, MANAGER_C01).status == 200  # the community's manager oversees it
    assert store.ticket_items[LEAK].status is TicketStatus.OPEN and store.audit.actions == []
    assert get_ticket(http, None).status == 401 and get_ticket(http, CLERK, "T20261111-FFFFFFFF").status == 404


def test_every_ticket_form_refuses_a_missing_or_foreign_csrf_token(http, store, replies):
    for action, fields in (("assign", {}), ("reply", {"text": "您好"}), ("resolve", {"note": "已修"})):
        assert post(http, action, CLERK, body=urlencode(fields)).status == 403
        assert post(http, action, CLERK, body=form("sub-e2", **fields)).status == 403  # another person's token
        stale = urlencode({"csrf": csrf_token(SECRET, "console:sub-e1", NOW - timedelta(hours=3)), **fields})
        assert post(http, action, CLERK, body=stale).status == 403
    assert store.ticket_items[LEAK] == ticket(LEAK, "C01-B01-0102") and replies.sent == []
    assert store.audit.actions == []


# ---------------------------------------------------------------------------------------------- claim, reassign
def test_a_clerk_claims_then_reassigns_within_the_department_and_each_step_is_audited(http, store):
    claimed = post(http, "assign", CLERK, body=form("sub-e1", assignee="sub-e1"))
    assert claimed.status == 200 and "已认领" in str(claimed.body)
    assert store.ticket_items[LEAK].assigned_to == "sub-e1"
    moved = post(http, "assign", CLERK, body=form("sub-e1", assignee="sub-e2"))
    assert moved.status == 200 and store.ticket_items[LEAK].assigned_to == "sub-e2"
    claim, reassign = store.audit.actions
    assert (claim.action, claim.unit_id, claim.before, claim.after) == (
        "ticket.claim", "C01-B01-0102", {"assigned_to": None}, {"assigned_to": "sub-e1"},
    )  # fmt: skip
    assert (reassign.action, reassign.after) == ("ticket.reassign", {"assigned_to": "sub-e2"})
    # not to a clerk of another department or community, nor to someone unknown
    for outsider in ("sub-s1", "sub-e3", "sub-nobody"):
        assert post(http, "assign", CLERK, body=form("sub-e1", assignee=outsider)).status == 403
    assert store.ticket_items[LEAK].assigned_to == "sub-e2" and len(store.audit.actions) == 2


# ---------------------------------------------------------------------------------------------- reply
def test_a_reply_goes_through_the_send_path_in_the_window_and_waits_for_it_outside(http, store, replies):
    sent = post(http, "reply", CLERK, body=form("sub-e1", text="师傅下午两点上门"))
    assert sent.status == 200 and "回复已发送" in str(sent.body)
    assert replies.sent == [(LEAK, "+8613812345678", "师傅下午两点上门")]
    [said] = store.audit.actions
    assert (said.action, said.note, said.after, said.unit_id) == (
        "ticket.reply", "师傅下午两点上门", {"reply": "sent", "route": "text", "department": "engineering"},
        "C01-B01-0102",
    )  # fmt: skip
    replies.window_open = False
    queued = post(http, "reply", CLERK, body=form("sub-e1", text="明早八点来修"))
    assert queued.status == 200 and "回复将在时段开始后发送" in str(queued.body)
    assert store.ticket_items[LEAK].queued_replies == ("明早八点来修",) and len(replies.sent) == 1
    assert store.audit.actions[-1].after == {"reply": "queued", "department": "engineering"}
    assert send_queued_replies(store, replies, NOW) == {"outside_window": 1}  # still closed: kept
    replies.window_open = True
    assert send_queued_replies(store, replies, NOW + timedelta(hours=10)) == {"sent": 1}
    assert (
        replies.sent[-1] == (LEAK, "+8613812345678", "明早八点来修") and store.ticket_items[LEAK].queued_replies == ()
    )
    empty = post(http, "reply", CLERK, body=form("sub-e1", text="   "))
    assert empty.status == 400 and len(replies.sent) == 2


# ---------------------------------------------------------------------------------------------- resolve
def test_resolving_closes_the_ticket_releases_its_hold_and_the_ladder_picks_the_unit_again(http, store):
    assert decide(store.units["C01-B01-0102"], date(2026, 11, 12), SHANGHAI).reason == "on_hold_complaint"
    assert post(http, "resolve", CLERK, body=form("sub-e1", note="")).status == 400
    done = post(http, "resolve", CLERK, body=form("sub-e1", note="已更换水管"))
    assert done.status == 200 and "工单已解决" in str(done.body)
    resolved = store.ticket_items[LEAK]
    assert (
        resolved.status is TicketStatus.RESOLVED and resolved.resolution == "已更换水管" and resolved.resolved_at == NOW
    )
    unit = store.units["C01-B01-0102"]
    assert unit.holds == () and decide(unit, date(2026, 11, 12), SHANGHAI).action is not None
    [action] = store.audit.actions
    assert (action.action, action.note, action.before["status"], action.after) == (
        "ticket.resolve", "已更换水管", "open", {"status": "resolved", "holds": []},
    )  # fmt: skip
    assert action.before["holds"][0]["ticket"] == LEAK
    again = post(http, "resolve", CLERK, body=form("sub-e1", note="再次"))
    assert again.status == 409 and len(store.audit.actions) == 1


# ---------------------------------------------------------------------------------------------- the email's link
def test_the_department_email_links_to_the_ticket_page_when_the_console_has_a_base_url(http):
    contact = DepartmentContact(name="工程部", email="eng@example.com")
    linked = Settings(table="t", console_base_url="https://console.example.com")  # type: ignore[call-arg]
    _subject, body = ticket_email(ticket(LEAK, "C01-B01-0102"), contact, linked)
    assert f"https://console.example.com/console?ticket={LEAK}" in body
    _subject, plain = ticket_email(ticket(LEAK, "C01-B01-0102"), contact, Settings(table="t"))  # type: ignore[call-arg]
    assert "/console?ticket=" not in plain
    unresolved = Settings(table="t", console_base_url="https://${PropfeeHttpApi}.execute-api")  # type: ignore[call-arg]
    assert "/console?ticket=" not in ticket_email(ticket(LEAK, "C01-B01-0102"), contact, unresolved)[1]
    shell = str(http.shell(request_of(event("GET", "/console", query={"ticket": LEAK}))).body)
    assert f'hx-get="/console/tickets/{LEAK}?lang=zh-CN"' in shell
    forged = str(http.shell(request_of(event("GET", "/console", query={"ticket": "../tasks"}))).body)
    assert 'hx-get="/console/home?lang=zh-CN"' in forged

"""The managers' and finance's other pages with in-memory ports: today's dead-letter depths and trend chart, the plan
preview (the dry run's decisions), legal-review decisions and unconfirmed claims settled (CSRF, audited), the opt-outs
masked; and every route's 403 outside the reader's community or role, route by route."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

import pytest

from propfee.console.permissions import Role
from propfee.domain.day_snapshot import DaySnapshot
from propfee.domain.models import Channel, Collector, Hold, HoldKind, Reminder, ReminderStatus
from propfee.web.security import csrf_token
from tests.support import at
from tests.support.console import NOW, SECRET, call_task, claims, collectors_estate, console, event, request_of, staff

MANAGER_C01 = claims("sub-m1", Role.COMMUNITY_MANAGER)
MANAGER_C02 = claims("sub-m2", Role.COMMUNITY_MANAGER)
FINANCE_C01 = claims("sub-f1", Role.FINANCE)
ADMIN = claims("sub-admin", Role.COMPANY_ADMIN)
COLLECTOR = claims("sub-k1", Role.COLLECTOR)
REVIEW = "C01-B01-0103.review_d90.1"
CLAIM = "REMINDER#sms_d30#1"


def reminder(unit_id: str, claimed_at, status=ReminderStatus.CLAIMED) -> Reminder:
    return Reminder(
        unit_id=unit_id, community_id=unit_id.split("-")[0], step="sms_d30", occurrence=1, channel=Channel.SMS,
        destination="+8613812345678", template="reminder_firm", template_version="v1", content_sha256="0" * 64,
        balance_fen=25000, status=status, claimed_at=claimed_at,
    )  # fmt: skip


@pytest.fixture()
def store():
    store = collectors_estate()
    store.staff_records["sub-f1"] = staff("sub-f1", communities=frozenset({"C01"}))
    # the plan: 0102 promised to pay until 11-20, the others get today's step
    store.units["C01-B01-0102"] = store.units["C01-B01-0102"].model_copy(
        update={"holds": (Hold(kind=HoldKind.PROMISE_TO_PAY, until=date(2026, 11, 20)),)}
    )
    # a legal review the ladder gave the site manager
    store.collector_list.append(Collector(collector_id="S1", name="赵敏", role="site_manager", communities=("C01",)))
    store.task_items[REVIEW] = call_task(
        "C01-B01-0103", "S1", kind=Channel.LEGAL_REVIEW, step="review_d90", task_id=REVIEW, call_number=None,
        overdue_since=date(2026, 8, 10),
    )  # fmt: skip
    # unconfirmed: claimed an hour ago and never heard of; in flight: claimed 30 seconds ago
    store.reminders[("C01-B01-0101", CLAIM)] = reminder("C01-B01-0101", NOW - timedelta(hours=1))
    store.reminders[("C01-B01-0102", CLAIM)] = reminder("C01-B01-0102", NOW - timedelta(seconds=30))
    store.reminders[("C02-B01-0101", CLAIM)] = reminder("C02-B01-0101", NOW - timedelta(hours=1))
    # an owner who wrote 退订 (the unit's copy of the message, as the receive flow marks it)
    store.units["C01-B01-0101"] = store.units["C01-B01-0101"].model_copy(
        update={"owners": tuple(o.model_copy(update={"sms_opt_out": True}) for o in store.units["C01-B01-0101"].owners)}
    )
    store.opt_out_items["C01"] = [
        {"pk": "UNIT#C01-B01-0101", "sk": "INBOUND#x", "at": at("2026-11-10 20:15").isoformat(), "channel": "sms",
         "sender": "+8613812345678", "body": "<b>退订</b> 别再发了", "opted_out": ["sms_opt_out"]},
        {"pk": "UNIT#C01-B01-0103", "sk": "INBOUND#y", "at": at("2026-11-01 08:00").isoformat(), "channel": "sms",
         "sender": "+8613812345678", "body": "TD", "opted_out": ["sms_opt_out"]},  # opted in again since
    ]  # fmt: skip
    store.snapshots["C01"] = [
        DaySnapshot(community_id="C01", day=date(2026, 11, d), period="2026-11", billed_fen=100000, paid_fen=p,
                    cohort_day=date(2026, 11, d) - timedelta(days=7))
        for d, p in ((9, 41000), (10, 50000), (11, 58500))
    ]  # fmt: skip
    return store


@pytest.fixture()
def http(store):
    return console(store, depths=lambda: {"send": 2, "inbound_sms": 0, "tickets": 1})


def get(http, route, who, **query):
    return getattr(http, route)(request_of(event("GET", f"/console/{route}", who, query=query or None)))


def form(sub: str, **fields: str) -> str:
    return urlencode({"csrf": csrf_token(SECRET, f"console:{sub}", NOW), **fields})


def decide(http, who, body, task_id=REVIEW, community="C01"):
    made = event("POST", f"/console/legal-reviews/{task_id}", who, body, query={"community": community})
    return http.decide(request_of(made), task_id)


def settle(http, who, body, unit_id="C01-B01-0101"):
    made = event("POST", f"/console/claims/{unit_id}", who, body, query={"community": "C01"})
    return http.settle(request_of(made), unit_id)


# ---------------------------------------------------------------------------------------------- today
def test_today_shows_the_dead_letter_depths_and_the_trend_as_an_svg_with_a_title_and_a_table(http):
    html = str(get(http, "today", MANAGER_C01).body)
    depths = '<th scope="row">死信队列</th><td>3 条待处理 <span class="chip">send 2</span> <span class="chip">tickets 1'
    assert depths in html
    assert "inbound_sms" not in html  # an empty queue is not named
    assert '<svg class="trend" viewBox="0 0 600 200" role="img" aria-labelledby="trend-title trend-desc"' in html
    assert '<title id="trend-title">' in html and "2026-11-09 41.0% → 2026-11-11 58.5%" in html
    # the polyline rises from left to right (SVG's y grows downwards)
    points = html.split('class="line" fill="none" points="')[1].split('"')[0].split()
    ys = [float(p.split(",")[1]) for p in points]
    assert len(ys) == 3 and ys[0] > ys[1] > ys[2]
    assert "<tr><td>2026-11-10</td><td>50.0%</td></tr>" in html  # the table fallback
    assert "<script" not in html.split("</head>")[1]
    assert 'href="/console/plan?community=C01&lang=zh-CN"' in html and "/console/opt-outs?community=C01" in html


def test_today_without_snapshots_says_so_instead_of_an_empty_chart(http, store):
    store.snapshots.clear()
    html = str(get(http, "today", MANAGER_C01, lang="en").body)
    assert "<svg" not in html and "No report has recorded a collection rate yet." in html


# ---------------------------------------------------------------------------------------------- the plan preview
def test_the_plan_preview_lists_todays_step_and_channel_and_why_a_unit_is_held(http, store):
    page = get(http, "plan", MANAGER_C01)
    html = str(page.body)
    assert page.status == 200
    assert "<td>sms_d30</td><td>sms</td>" in html.split("B01-0103</th>")[1].split("</tr>")[0]
    # 0101's owner opted out of SMS (the fixture): the step falls back to email, as the dry run says
    assert "<td>sms_d30</td><td>email</td>" in html.split("B01-0101</th>")[1].split("</tr>")[0]
    held = html.split("B01-0102</th>")[1].split("</tr>")[0]
    assert "on_hold_promise_to_pay · 暂停至 2026-11-20" in held and "<td>—</td><td>—</td>" in held
    assert "C02-" not in html
    assert len(store.audit.actions) == 0 and store.settled == []  # nothing claimed, nothing sent


# ---------------------------------------------------------------------------------------------- legal reviews
def test_a_manager_approves_a_legal_review_the_unit_is_held_and_the_decision_audited(http, store):
    html = str(get(http, "legal_reviews", MANAGER_C01).body)
    assert "B01-0103" in html and 'name="decision" value="approve"' in html and 'name="csrf"' in html
    assert "最早欠费 2026-08-10" in html
    finance = str(get(http, "legal_reviews", FINANCE_C01).body)
    # finance reads; only the manager decides (the bar's sign-out form is not the page's)
    assert "B01-0103" in finance and "<form" not in finance.split("<main", 1)[1]
    answer = decide(http, MANAGER_C01, form("sub-m1", decision="approve", note="欠费超过90天，证据齐全"))
    assert answer.status == 200 and "同意转法务" in str(answer.body) and REVIEW not in str(answer.body)
    task = store.task_items[REVIEW]
    assert (task.status, task.outcome.value) == ("done", "referred")
    assert [h.kind for h in store.units["C01-B01-0103"].holds] == [HoldKind.LEGAL]
    [action] = store.audit.actions
    assert (action.actor_sub, action.action, action.target_id, action.unit_id, action.at) == (
        "sub-m1", "legal_review.decide", REVIEW, "C01-B01-0103", NOW)  # fmt: skip
    assert action.before["outcome"] is None and action.after["outcome"] == "referred"
    assert action.before["holds"] == [] and action.after["holds"][0]["kind"] == "legal"
    assert action.note == "欠费超过90天，证据齐全"
    again = decide(http, MANAGER_C01, form("sub-m1", decision="decline"))
    assert again.status == 409 and len(store.audit.actions) == 1


def test_declining_a_review_leaves_the_ladder_going(http, store):
    assert decide(http, MANAGER_C01, form("sub-m1", decision="decline")).status == 200
    assert store.task_items[REVIEW].outcome.value == "not_referred" and store.units["C01-B01-0103"].holds == ()
    assert store.audit.actions[0].after["outcome"] == "not_referred"


@pytest.mark.parametrize(
    ("who", "body", "task_id", "expected"),
    [
        (FINANCE_C01, form("sub-f1", decision="approve"), REVIEW, 403),  # finance reads, the manager decides
        (MANAGER_C02, form("sub-m2", decision="approve"), REVIEW, 403),
        (COLLECTOR, form("sub-k1", decision="approve"), REVIEW, 403),
        (MANAGER_C01, urlencode({"decision": "approve"}), REVIEW, 403),  # no CSRF token
        (MANAGER_C01, form("sub-m2", decision="approve"), REVIEW, 403),  # someone else's token
        (MANAGER_C01, form("sub-m1", decision="sue_them"), REVIEW, 400),
        (MANAGER_C01, form("sub-m1", decision="approve"), "C01-B01-0101.call_d30.1", 404),  # a call, not a review
        (None, form("sub-m1", decision="approve"), REVIEW, 401),
    ],
)
def test_a_legal_review_is_decided_only_by_its_communitys_manager_with_a_signed_form(
    http, store, who, body, task_id, expected
):
    assert decide(http, who, body, task_id).status == expected
    assert store.task_items[REVIEW].status == "open" and store.audit.actions == []


# ---------------------------------------------------------------------------------------------- unconfirmed claims
def test_finance_settles_an_unconfirmed_claim_as_sent_with_the_providers_id_audited(http, store):
    html = str(get(http, "claims", FINANCE_C01).body)
    assert "C01-B01-0101 · sms_d30" in html and "C01-B01-0102" not in html and "C02-" not in html  # in flight
    assert "+8613812345678" not in html and "5678" in html  # the number masked
    manager = str(get(http, "claims", MANAGER_C01).body)
    # the manager reads; finance settles (the bar's sign-out form is not the page's)
    assert "C01-B01-0101 · sms_d30" in manager and "<form" not in manager.split("<main", 1)[1]
    answer = settle(http, FINANCE_C01, form("sub-f1", claim=CLAIM, outcome="sent", message_id="SM-0a1b2c",
                                            note="服务商日志有记录"))  # fmt: skip
    assert answer.status == 200 and "已记录: C01-B01-0101 · 已发送" in str(answer.body)
    assert store.settled == [("C01-B01-0101", CLAIM, True, "SM-0a1b2c")]
    [action] = store.audit.actions
    assert (action.actor_sub, action.action, action.unit_id, action.target_id) == (
        "sub-f1", "claim.settle", "C01-B01-0101", f"C01-B01-0101#{CLAIM}")  # fmt: skip
    assert action.before == {"status": "claimed", "provider_message_id": None}
    assert action.after == {"status": "sent", "provider_message_id": "SM-0a1b2c"}
    assert "no_claims" not in str(answer.body) and "没有待确认的发送" in str(answer.body)
    again = settle(http, FINANCE_C01, form("sub-f1", claim=CLAIM, outcome="not_sent"))
    assert again.status == 409 and len(store.audit.actions) == 1


def test_not_sent_spends_the_step_and_sent_needs_the_providers_id(http, store):
    assert settle(http, FINANCE_C01, form("sub-f1", claim=CLAIM, outcome="sent", message_id="")).status == 400
    assert store.settled == []
    assert settle(http, ADMIN, form("sub-admin", claim=CLAIM, outcome="not_sent")).status == 200
    assert store.settled == [("C01-B01-0101", CLAIM, False, None)]
    assert store.reminders[("C01-B01-0101", CLAIM)].status is ReminderStatus.FAILED


@pytest.mark.parametrize(
    ("who", "body", "unit_id", "expected"),
    [
        (MANAGER_C01, form("sub-m1", claim=CLAIM, outcome="not_sent"), "C01-B01-0101", 403),  # sees, does not settle
        (claims("sub-f2", Role.FINANCE), form("sub-f2", claim=CLAIM, outcome="not_sent"), "C01-B01-0101", 403),
        (FINANCE_C01, form("sub-f1", claim=CLAIM, outcome="not_sent"), "C02-B01-0101", 403),  # another community's
        (FINANCE_C01, urlencode({"claim": CLAIM, "outcome": "not_sent"}), "C01-B01-0101", 403),
        (FINANCE_C01, form("sub-f1", claim=CLAIM, outcome="maybe"), "C01-B01-0101", 400),
        (FINANCE_C01, form("sub-f1", claim="REMINDER#sms_d1#1", outcome="not_sent"), "C01-B01-0101", 404),
    ],
)
def test_a_claim_is_settled_only_by_finance_of_its_community(http, store, who, body, unit_id, expected):
    assert settle(http, who, body, unit_id).status == expected
    assert store.settled == [] and store.audit.actions == []


# ---------------------------------------------------------------------------------------------- opt-outs
def test_the_opt_outs_list_the_message_and_when_with_the_owner_masked(http):
    page = get(http, "opt_outs", MANAGER_C01)
    html = str(page.body)
    assert page.status == 200
    assert "王*" in html and "王芳" not in html and "+8613812345678" not in html
    assert "&lt;b&gt;退订&lt;/b&gt; 别再发了" in html and "<b>退订" not in html  # the owner's words, escaped
    assert '<time datetime="2026-11-10T20:15:00+08:00">2026-11-10 20:15</time>' in html
    assert html.index("C01-B01-0101") < html.index("C01-B01-0103")  # newest first
    assert html.count("已重新订阅") == 1  # 0103's owner opted in again


# ---------------------------------------------------------------------------------------------- 403 route by route
@pytest.mark.parametrize(
    ("route", "who", "query", "expected"),
    [
        ("plan", MANAGER_C01, {}, 200), ("plan", ADMIN, {"community": "C01"}, 200),
        ("plan", MANAGER_C02, {"community": "C01"}, 403), ("plan", FINANCE_C01, {}, 403),
        ("plan", COLLECTOR, {"community": "C01"}, 403), ("plan", ADMIN, {}, 403),  # the admin names a community
        ("legal_reviews", MANAGER_C01, {}, 200), ("legal_reviews", FINANCE_C01, {}, 200),
        ("legal_reviews", MANAGER_C02, {"community": "C01"}, 403),
        ("legal_reviews", COLLECTOR, {"community": "C01"}, 403),
        ("claims", FINANCE_C01, {}, 200), ("claims", MANAGER_C01, {}, 200),
        ("claims", MANAGER_C02, {"community": "C01"}, 403), ("claims", COLLECTOR, {"community": "C01"}, 403),
        ("opt_outs", MANAGER_C01, {}, 200), ("opt_outs", ADMIN, {"community": "C01"}, 200),
        ("opt_outs", MANAGER_C02, {"community": "C01"}, 403), ("opt_outs", FINANCE_C01, {}, 403),
        ("opt_outs", COLLECTOR, {"community": "C01"}, 403),
        ("today", MANAGER_C02, {"community": "C01"}, 403),
        ("plan", None, {}, 401), ("legal_reviews", None, {}, 401), ("claims", None, {}, 401),
        ("opt_outs", None, {}, 401),
    ],
)  # fmt: skip
def test_each_managers_page_answers_403_outside_the_readers_community_or_role(http, route, who, query, expected):
    assert get(http, route, who, **query).status == expected


def test_a_refused_page_reads_nothing_of_the_community(http, store):
    reads: list[str] = []
    for name in ("claimed_reminders", "opt_outs", "collectors", "units_owing"):
        real = getattr(store, name)
        setattr(store, name, lambda *a, _real=real, _name=name, **k: reads.append(_name) or _real(*a, **k))
    for route in ("plan", "legal_reviews", "claims", "opt_outs"):
        assert get(http, route, MANAGER_C02, community="C01").status == 403
    assert reads == []

"""The bill page shows the departments' answers to the unit's owner (the clerks' replies on its tickets, from the
unit's audit): newest first, with the department's name and the time, escaped; nothing that was not sent."""

from datetime import timedelta

from propfee.console.audit import staff_actions
from propfee.console.permissions import Role, StaffMember
from propfee.payments.bill_http import BillHttp, BillRequest
from propfee.payments.bill_page import BillPage, answer_lines
from propfee.payments.links import BillLinks, InMemoryBillLinks
from propfee.rules import load_rules
from propfee.web.limits import InMemoryRateCounter, RateLimiter, RateLimits
from tests.support import SHANGHAI, at
from tests.support.bill_page import SECRET, MemoryOrders, MemoryReader, billed_unit

NOW = at("2026-11-12 10:30")
CLERK = StaffMember("sub-e1", "e1@example.com", frozenset({Role.DEPARTMENT_CLERK}), frozenset({"C01"}))


def reply(text, when, outcome="sent", ticket_id="T20261111-0A1B2C3D", name="工程部", name_en="Engineering"):
    [action] = staff_actions(
        CLERK, "ticket.reply", "ticket", ticket_id, ["C01-B01-0101"], at(when),
        after={"reply": outcome, "department": "engineering", "department_name": name, "department_name_en": name_en},
        note=text,
    )  # fmt: skip
    return action.model_dump(mode="json")


def page(replies):
    links = BillLinks(InMemoryBillLinks(), "https://jxwy.cn", lifetime=timedelta(days=45))
    reader = MemoryReader({"C01-B01-0101": billed_unit()}, replies={"C01-B01-0101": replies})
    bill = BillPage(links, reader, {}, None, load_rules(), MemoryOrders())  # type: ignore[arg-type]
    http = BillHttp(bill, RateLimiter(InMemoryRateCounter(), RateLimits()), lambda: SECRET, SHANGHAI)
    return http, links.issue("C01-B01-0101", "C01", NOW).token


def test_the_answers_show_newest_first_with_the_department_and_the_time_and_are_escaped():
    http, token = page(
        [
            reply("师傅明天下午两点上门", "2026-11-11 11:00"),
            reply("<script>alert(1)</script> 已修好", "2026-11-12 09:15", name="客服中心", name_en="Customer service"),
        ]
    )
    html = str(http.show(BillRequest(token=token, source_ip="203.0.113.7", now=NOW)).body)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; 已修好" in html
    assert html.index("已修好") < html.index("师傅明天下午两点上门")  # newest first
    assert "客服中心 · 2026-11-12 09:15" in html and "工程部 · 2026-11-11 11:00" in html
    assert "T20261111-0A1B2C3D" in html and "您反映问题的答复" in html
    english = str(http.show(BillRequest(token=token, source_ip="203.0.113.7", now=NOW, lang="en")).body)
    assert "Customer service · 2026-11-12 09:15" in english


def test_only_answers_that_went_or_wait_for_the_window_are_shown():
    lines = answer_lines(
        [
            reply("已派师傅", "2026-11-11 11:00"),
            reply("明早来修", "2026-11-11 23:00", outcome="queued"),
            reply("发不出去", "2026-11-11 12:00", outcome="failed"),
            reply("微信超时", "2026-11-11 13:00", outcome="wechat_window_closed"),
        ],
        "zh-CN",
    )
    assert [line.text for line in lines] == ["明早来修", "已派师傅"]


def test_a_unit_without_answers_shows_no_section():
    http, token = page([])
    html = str(http.show(BillRequest(token=token, source_ip="203.0.113.7", now=NOW)).body)
    assert "您反映问题的答复" not in html

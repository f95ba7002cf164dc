"""A collector at work on a phone, in the sandbox and Debian's Chromium at 390x844: signs in against the stack's
user pool, finds today's call task, records the owner's promise with one tap, and the next plan's dry run holds
the unit until that date; the console's pages axe-clean; the record in the audit trail."""

import json
import shutil
import urllib.error
import urllib.request
from datetime import date

import pytest

from propfee import cli
from propfee.console.permissions import Role
from propfee.domain.models import Collector, HoldKind
from propfee.local.sandbox.staff import seed_staff
from tests.support import at, bill, unit
from tests.support.sandbox import assert_calls_allowed

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium")
_WIDTHS = "({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
UNIT = "C01-B05-0501"


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url) as response:  # nosec B310 - the sandbox's loopback server
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def assert_axe_clean(page) -> None:
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    serious = [
        (v["id"], [n["target"] for n in v["nodes"]]) for v in violations if v["impact"] in ("serious", "critical")
    ]
    assert serious == []


@pytest.fixture()
def collector_at_work(sandbox):
    table = sandbox.table
    table.put_collectors([Collector(collector_id="K1", name="张伟", communities=("C01",))])
    table.put_buildings_and_units([], [unit(UNIT)])
    table.issue_bill(bill(UNIT, "2026-10", due=date(2026, 10, 25)))  # 17 days overdue on 11-11: the call step
    sandbox.advance(at("2026-11-11 09:45"))
    [task] = table.tasks("K1")
    signed = {s.role: s for s in seed_staff(sandbox, table, ["C01", "C02"], "K1")}
    return sandbox, task, signed[Role.COLLECTOR]


@pytest.mark.skipif(CHROMIUM is None, reason="NO BROWSER: chromium is not on PATH (Debian: apt-get install chromium)")
def test_a_collector_signs_in_on_a_phone_records_a_promise_and_the_plan_holds_the_unit_until_then(
    collector_at_work, capsys
):
    from playwright.sync_api import sync_playwright

    sandbox, task, collector = collector_at_work
    base = sandbox.http_api.url
    # behind the JWT authorizer: no token, API Gateway's own 401 and the function is never called
    assert fetch(f"{base}/console/tasks") == (401, b'{"message": "Unauthorized"}')
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.goto(f"{base}/console")  # no token yet: to the sign-in page
            page.wait_for_url("**/console/sign-in**")
            assert_axe_clean(page)
            page.fill("#email", collector.email)
            page.fill("#password", collector.password)
            page.click("button[type=submit]")
            page.wait_for_selector("ol.tasks h2 a")
            assert page.locator("h1").inner_text().startswith("今日任务")
            card = page.locator("li.task").first
            assert "锦绣花园" in card.inner_text() and "¥250.00" in card.inner_text()
            assert card.locator("a.call").get_attribute("href") == "tel:+8613812345678"  # theirs to dial
            assert page.evaluate(_WIDTHS)["scroll"] <= 390
            assert_axe_clean(page)

            card.locator("h2 a").click()
            page.wait_for_selector("#promised_date")
            assert_axe_clean(page)
            assert page.evaluate(_WIDTHS)["scroll"] <= 390
            page.fill("#promised_date", "2026-11-25")
            page.fill("#note", "月底发工资后缴")
            page.click("button[value=promised]")
            notice = page.wait_for_selector(".notice").inner_text()
            assert "2026-11-25" in notice
            assert problems == []  # the CSP blocked nothing the pages need
        finally:
            browser.close()

    done = sandbox.table.get_task(task.task_id)
    assert (done.status, done.outcome.value, done.promised_date) == ("done", "promised", date(2026, 11, 25))
    assert [h.kind for h in sandbox.table.get_unit(UNIT).holds] == [HoldKind.PROMISE_TO_PAY]
    [action] = sandbox.table.for_unit(UNIT)
    assert (action.actor_sub, action.action, action.note) == (collector.record.sub, "task.outcome", "月底发工资后缴")
    # the console's table and secret calls are the ones its role allows (sign-in is Cognito's public API, no IAM)
    calls = {k: n for k, n in sandbox.function_calls.items() if k[0] == "ConsoleFunction"}
    assert ("ConsoleFunction", "cognito-idp:InitiateAuth") in calls
    assert_calls_allowed({k: n for k, n in calls.items() if not k[1].startswith("cognito-idp:")})
    # the next plans' dry run: held until the promised date, the ladder resumes after it
    table = sandbox.table.name
    capsys.readouterr()
    for day, held in (("2026-11-12", True), ("2026-11-25", True), ("2026-11-26", False)):
        assert cli.main(["plan", "--date", day, "--dry-run", "--community", "C01", "--table", table]) == 0
        [line] = [json.loads(x) for x in capsys.readouterr().out.splitlines()[:-1] if UNIT in x]
        assert (line.get("skipped") == "on_hold_promise_to_pay") is held, (day, line)


LEAKY = "C01-B06-0601"
LEAK_PHONE = "+8613900000001"


@pytest.fixture()
def a_complaint_waiting(sandbox):
    """An owner of C01 complained by SMS (engineering's ticket holds the unit's reminders); one report file."""
    import uuid

    from propfee.accounts.ledger import with_bill
    from propfee.aws.feedback import FeedbackTable
    from propfee.domain.models import Owner
    from tests.support import SHANGHAI

    table = FeedbackTable(sandbox.resources["PropfeeTable"], SHANGHAI)
    table.put_collectors([Collector(collector_id="K1", name="张伟", communities=("C01",))])  # a call task on C01
    table.put_buildings_and_units([], [with_bill(unit(LEAKY, owners=(Owner(name="李雷", phone=LEAK_PHONE),)),
                                                 bill(LEAKY, "2026-10", due=date(2026, 10, 25)))])  # fmt: skip
    sandbox.advance(at("2026-11-11 09:45"))
    payload = {"originationNumber": LEAK_PHONE, "destinationNumber": "+8610690000", "messageKeyword": "KEYWORD_0123",
               "messageBody": "楼上漏水三个月了没人修，修好再交", "inboundMessageId": str(uuid.uuid4())}  # fmt: skip
    sandbox.client("sns").publish(TopicArn=sandbox.resources["InboundSmsTopic"], Message=json.dumps(payload))
    sandbox.advance(at("2026-11-11 10:00"))
    [ticket] = [t for t in table.tickets("engineering") if LEAKY in t.unit_ids]
    key = "reports/2026-11-11/communities/C01/report.html"
    sandbox.client("s3").put_object(Bucket=sandbox.resources["ReportBucket"], Key=key, Body=b"<p>C01</p>")
    signed = {s.record.name: s for s in seed_staff(sandbox, table, ["C01", "C02"], "K1")}
    sandbox.table = table
    return sandbox, ticket, signed


def sign_in(browser, base, person, width):
    page = browser.new_page(viewport={"width": width, "height": 800}, locale="zh-CN")
    page.goto(f"{base}/console/sign-in")
    page.fill("#email", person.email)
    page.fill("#password", person.password)
    page.click("button[type=submit]")
    page.wait_for_selector("main h1")
    return page


def as_person(page, path):
    """The route with the tab's token, as htmx sends it: (status, body)."""
    script = """async (path) => { const r = await fetch(path, {headers: {Authorization: "Bearer " +
        sessionStorage.getItem("propfee.console.token")}}); return [r.status, await r.text()]; }"""
    return tuple(page.evaluate(script, path))


@pytest.mark.skipif(CHROMIUM is None, reason="NO BROWSER: chromium is not on PATH (Debian: apt-get install chromium)")
def test_a_clerk_resolves_a_ticket_a_manager_downloads_the_report_and_another_communitys_manager_gets_403(
    a_complaint_waiting, capsys
):
    from playwright.sync_api import sync_playwright

    sandbox, ticket, people = a_complaint_waiting
    base = sandbox.http_api.url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            clerk = sign_in(browser, base, people["clerk"], 1280)
            clerk.wait_for_selector("ol.tasks")
            assert clerk.locator("h1").inner_text().startswith("部门工单")
            assert_axe_clean(clerk)
            clerk.click(f"text={ticket.ticket_id}")
            clerk.wait_for_selector("#note")
            assert "楼上漏水" in clerk.inner_text("blockquote") and LEAK_PHONE not in clerk.content()
            assert_axe_clean(clerk)
            clerk.fill("#note", "已更换水管，业主确认")
            clerk.click("section[aria-labelledby=resolve] button[type=submit]")
            assert "工单已解决" in clerk.wait_for_selector(".notice").inner_text()

            manager = sign_in(browser, base, people["manager"], 1280)
            manager.wait_for_selector("table.figures")
            assert manager.evaluate(_WIDTHS)["scroll"] <= 1280
            assert_axe_clean(manager)
            manager.click("text=日报")
            link = manager.wait_for_selector("ul.reports a")
            assert_axe_clean(manager)
            assert fetch(link.get_attribute("href")) == (200, b"<p>C01</p>")  # the presigned link, no token

            other = sign_in(browser, base, people["manager2"], 1280)
            task_id = sandbox.table.tasks("K1")[0].task_id  # a unit of C01, seen through its task
            for path in ("/console/reports/C01?date=2026-11-11", f"/console/tickets/{ticket.ticket_id}",
                         "/console/today?community=C01", f"/console/tasks/{task_id}"):  # fmt: skip
                assert as_person(other, path)[0] == 403, path
            assert as_person(other, "/console/today")[0] == 200  # their own community's
        finally:
            browser.close()

    resolved = sandbox.table.get_ticket(ticket.ticket_id)
    assert resolved.status.value == "resolved" and resolved.resolution == "已更换水管，业主确认"
    assert [h for h in sandbox.table.get_unit(LEAKY).holds if h.ticket == ticket.ticket_id] == []
    assert [a.action for a in sandbox.table.for_unit(LEAKY)] == ["ticket.resolve"]
    calls = {k: n for k, n in sandbox.function_calls.items() if k[0] == "ConsoleFunction"}
    assert_calls_allowed({k: n for k, n in calls.items() if not k[1].startswith("cognito-idp:")})
    # the next plan's dry run picks the unit again: no longer held by the complaint
    capsys.readouterr()
    table = sandbox.table.name
    assert cli.main(["plan", "--date", "2026-11-12", "--dry-run", "--community", "C01", "--table", table]) == 0
    [line] = [json.loads(x) for x in capsys.readouterr().out.splitlines()[:-1] if LEAKY in x]
    assert line.get("skipped") != "on_hold_complaint", line


REVIEWED = "C01-B07-0701"  # 102 days overdue on 11-11: the ladder's legal review, for the site manager
OPTED = "C01-B08-0801"
OPTED_PHONE = "+8613900000002"
MANAGER_PAGES = [("今日计划预览", "table.list"), ("法务审核", "ol.tasks"), ("待确认发送", "ol.tasks"),
                 ("退订名单", "table.list"), ("今日概况", "svg.trend")]  # fmt: skip


@pytest.fixture()
def a_managers_day(sandbox):
    """C01's day at 10:00: the plan ran (one SMS left the provider and its function died: an unconfirmed claim), a
    legal review waits for the manager, an owner texted 退订, and three nights of reports kept their snapshots."""
    import uuid
    from datetime import timedelta

    from propfee.accounts.ledger import with_bill
    from propfee.aws.feedback import FeedbackTable
    from propfee.domain.day_snapshot import DaySnapshot
    from propfee.domain.models import Owner
    from propfee.local.sandbox.faults import FaultInjector
    from tests.support import SHANGHAI

    table = FeedbackTable(sandbox.resources["PropfeeTable"], SHANGHAI)
    table.put_collectors(
        [
            Collector(collector_id="K1", name="张伟", communities=("C01",)),
            Collector(collector_id="S1", name="赵敏", role="site_manager", communities=("C01",)),
        ]
    )
    table.put_buildings_and_units([], [
        with_bill(unit(REVIEWED, owners=(Owner(name="钱进", phone="+8613900000003"),)),
                  bill(REVIEWED, "2026-07", due=date(2026, 8, 1))),
        unit(OPTED, owners=(Owner(name="孙丽", phone=OPTED_PHONE),)),
    ])  # fmt: skip
    for day, paid in ((8, 41000), (9, 50000), (10, 58500)):
        d = date(2026, 11, day)
        table.keep_report_snapshot(DaySnapshot(community_id="C01", day=d, period="2026-11", billed_fen=100000,
                                               paid_fen=paid, cohort_day=d - timedelta(days=7)))  # fmt: skip
    with FaultInjector() as faults:
        faults.add("sns", "Publish", "crash", times=1)  # the SMS left, then the function died before recording it
        sandbox.advance(at("2026-11-11 09:45"))
    payload = {"originationNumber": OPTED_PHONE, "destinationNumber": "+8610690000", "messageKeyword": "KEYWORD_0123",
               "messageBody": "退订", "inboundMessageId": str(uuid.uuid4())}  # fmt: skip
    sandbox.client("sns").publish(TopicArn=sandbox.resources["InboundSmsTopic"], Message=json.dumps(payload))
    sandbox.advance(at("2026-11-11 10:00"))
    sandbox.table = table
    people = {s.record.name: s for s in seed_staff(sandbox, table, ["C01", "C02"], "K1")}
    return sandbox, people


@pytest.mark.skipif(CHROMIUM is None, reason="NO BROWSER: chromium is not on PATH (Debian: apt-get install chromium)")
def test_a_manager_reads_the_plan_decides_a_legal_review_and_finance_settles_a_claim_on_axe_clean_pages(
    a_managers_day, capsys
):
    from playwright.sync_api import sync_playwright

    sandbox, people = a_managers_day
    base = sandbox.http_api.url
    [review] = [t for t in sandbox.table.tasks("S1") if t.unit_id == REVIEWED]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            for width in (1280, 390):
                manager = sign_in(browser, base, people["manager"], width)
                manager.wait_for_selector("svg.trend")
                figures = manager.inner_text("table.figures")
                assert "死信队列" in figures and "send 1" in figures  # the unconfirmed claim's job, in the send DLQ
                for name, selector in MANAGER_PAGES:
                    manager.click(f"nav.manage >> text={name}")
                    manager.wait_for_selector(f"h1:has-text('{name}')")
                    manager.wait_for_selector(selector)
                    assert manager.evaluate(_WIDTHS)["scroll"] <= width, (name, width)
                    assert_axe_clean(manager)
                    text = manager.inner_text("main")
                    if name == "今日计划预览":
                        assert "step_already_sent" in text and "B07-0701" in text
                    if name == "退订名单":
                        assert "孙*" in text and "退订" in text and OPTED_PHONE not in manager.content()
                    if name == "待确认发送":
                        assert "sms_d30" in text and "+8613812345678" not in manager.content()
                manager.close()
            manager = sign_in(browser, base, people["manager"], 1280)
            manager.click("nav.manage >> text=法务审核")
            manager.fill("#note-1", "欠费逾期百日，证据齐全")
            manager.click("button[value=approve]")
            assert "同意转法务" in manager.wait_for_selector(".notice").inner_text()

            finance = sign_in(browser, base, people["finance"], 390)
            finance.click("nav.manage >> text=待确认发送")
            finance.wait_for_selector("#message-1")
            assert_axe_clean(finance)
            finance.fill("#message-1", "SM-provider-log-0001")
            finance.click("button[value=sent]")
            assert "已发送" in finance.wait_for_selector(".notice").inner_text()
            assert "没有待确认的发送" in finance.inner_text("main")

            other = sign_in(browser, base, people["manager2"], 1280)
            for path in ("/console/plan?community=C01", "/console/legal-reviews?community=C01",
                         "/console/claims?community=C01", "/console/opt-outs?community=C01"):  # fmt: skip
                assert as_person(other, path)[0] == 403, path
        finally:
            browser.close()

    done = sandbox.table.get_task(review.task_id)
    assert (done.status, done.outcome.value) == ("done", "referred")
    assert [h.kind for h in sandbox.table.get_unit(REVIEWED).holds] == [HoldKind.LEGAL]
    [decided] = sandbox.table.for_unit(REVIEWED)
    assert (decided.action, decided.actor_sub, decided.after["outcome"]) == (
        "legal_review.decide", people["manager"].record.sub, "referred")  # fmt: skip
    owing = [f"C01-B01-01{n:02d}" for n in range(1, 8)]
    settled = [a for u in owing for a in sandbox.table.for_unit(u) if a.action == "claim.settle"]
    assert [(a.actor_sub, a.after) for a in settled] == [
        (people["finance"].record.sub, {"status": "sent", "provider_message_id": "SM-provider-log-0001"})
    ]
    # the console's calls are the ones its role allows: the queues' attributes, the evidence appended, the lookup
    calls = {k: n for k, n in sandbox.function_calls.items() if k[0] == "ConsoleFunction"}
    assert ("ConsoleFunction", "sqs:GetQueueAttributes") in calls
    assert_calls_allowed({k: n for k, n in calls.items() if not k[1].startswith("cognito-idp:")})
    # settled in the console, the job leaves the send DLQ with `propfee claims settle`
    capsys.readouterr()
    assert cli.main(["claims", "settle", "--table", sandbox.table.name]) == 0
    assert json.loads(capsys.readouterr().out) == {"settled": 1, "still_unconfirmed": 0}

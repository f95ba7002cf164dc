"""An owner pays online in the sandbox: the reminder's link, the bill page over HTTP, the provider's emulated
cashier, its notification to the stack's /notify route, the ledger once, and no further reminder."""

import json
import re
import shutil
import urllib.error
import urllib.parse
import urllib.request
from datetime import date, timedelta

import pytest

from propfee import cli
from propfee.aws import keys
from propfee.aws.dynamo_table import from_attributes, to_attributes
from propfee.collection.ladder import decide
from propfee.collection.planning import job_for
from propfee.payments.orders import ORDER_NUMBER
from tests.support import SHANGHAI, at
from tests.support.sandbox import START, assert_calls_allowed

pytestmark = pytest.mark.e2e
LINK = re.compile(r"http://127\.0\.0\.1:\d+/b/[0-9A-Za-z]{22}")
_WIDTHS = "({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
PHONE_BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"
UNIT = "C01-B01-0101"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args, **_kwargs):
        return None  # the test follows each redirect itself, to see where it goes


_opener = urllib.request.build_opener(_NoRedirect)


def fetch(url: str, form: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    """One request as the owner's phone browser makes it, redirects not followed (plain http to the loopback
    servers this test started)."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data, headers={"User-Agent": PHONE_BROWSER})
    try:
        with _opener.open(request) as response:  # nosec B310
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read().decode()


@pytest.fixture()
def sandbox():
    from propfee.local.sandbox import Sandbox
    from tests.support.sandbox import small_community_in_arrears

    with Sandbox(start=START, bill_links=True) as running:
        yield small_community_in_arrears(running)


def reminder_link(sandbox, unit_id: str) -> str:
    sandbox.advance(at("2026-11-11 10:00"))  # the morning's reminders
    [text] = [text for _, _, text in sandbox.sent_sms() if unit_id.split("-", 1)[1] in text]
    found = LINK.search(text)
    assert found is not None, text
    return found.group(0)


def pay_on_the_bill_page(link: str, provider: str) -> str:
    """The owner opens the link and presses the provider's button: where the browser is sent."""
    status, _, page = fetch(link)
    assert status == 200 and "¥250.00" in page
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None and f"/pay/{provider}" in page
    status, headers, _ = fetch(f"{link}/pay/{provider}", {"csrf": csrf.group(1)})
    assert status == 303, status
    return headers["location"]


def payments_of(sandbox, unit_id: str) -> list[dict]:
    return sandbox.table.unit_payments(unit_id, 10)


def test_an_owner_pays_by_wechat_pay_h5_and_the_ledger_counts_it_once_and_the_reminders_stop(sandbox, capsys):
    link = reminder_link(sandbox, UNIT)
    next_day, next_job = next_reminder(sandbox, UNIT)  # planned while the unit still owed, sent after it paid
    cashier = pay_on_the_bill_page(link, "wechat_pay")
    emulator = sandbox.payment_emulators.wechat_pay
    assert cashier.startswith(emulator.base_url + "/pay/")
    number = cashier.rsplit("/", 1)[1]
    assert ORDER_NUMBER.fullmatch(number)
    status, _, page = fetch(cashier)  # WeChat Pay's cashier page: the amount and a pay button
    assert status == 200 and "¥250.00" in page
    status, _, page = fetch(cashier, {})
    assert status == 200 and "Paid" in page
    assert payments_of(sandbox, UNIT) == []  # not before WeChat Pay's notification arrives

    sandbox.advance(sandbox.clock.now() + timedelta(seconds=5))  # the notification is delivered to /notify
    [payment] = payments_of(sandbox, UNIT)
    assert int(payment["amount_fen"]) == 25000 and payment["method"] == "wechat_pay"
    unit = sandbox.table.get_unit(UNIT)
    assert sum(b.outstanding_fen for b in unit.open_bills.values()) == 0
    order = from_attributes(
        sandbox.client("dynamodb").get_item(
            TableName=sandbox.table.name, Key=to_attributes(keys.payment_order_item(number))
        )["Item"]
    )
    assert order["status"] == "paid" and order["transaction_id"] == payment["reference"]

    # WeChat Pay sends it again (signed afresh): answered, and nothing changes
    emulator.notify(number)
    sandbox.advance(sandbox.clock.now() + timedelta(seconds=5))
    assert len(payments_of(sandbox, UNIT)) == 1
    assert sandbox.table.get_unit(UNIT) == unit

    # the unit's next reminder, planned before the payment, is re-checked when it is sent: skipped as paid
    sms_before = len(sandbox.sent_sms())
    sandbox.client("sqs").send_message(QueueUrl=sandbox.resources["SendQueue"], MessageBody=next_job)
    sandbox.drain()
    assert len(sandbox.sent_sms()) == sms_before
    [*_, last] = send_outcomes(sandbox, UNIT)
    assert last == ("skipped", "paid")

    # and a later plan no longer picks the unit; the others still owe
    capsys.readouterr()
    assert cli.main(["plan", "--date", next_day.isoformat(), "--dry-run", "--table", sandbox.table.name]) == 0
    *lines, _totals = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    actions = {line["unit_id"]: line for line in lines}
    assert UNIT not in actions and len(actions) == 6, actions
    # every AWS call of the bill page and the notifications is one their own roles allow
    assert {f for f, _ in sandbox.function_calls} >= {"BillPageFunction", "PaymentNotifyFunction"}
    assert_calls_allowed(sandbox.function_calls)


def next_reminder(sandbox, unit_id: str) -> tuple[date, str]:
    """The day of the unit's next step on the ladder, and its send job as the plan would queue it that day."""
    current = sandbox.table.get_unit(unit_id)
    for days in range(1, 90):
        day = START.date() + timedelta(days=days)
        action = decide(current, day, SHANGHAI).action
        if action is not None:
            return day, job_for(current, action, day).model_dump_json()
    raise AssertionError("the ladder has no next step")


def send_outcomes(sandbox, unit_id: str) -> list[tuple[str, str | None]]:
    """(outcome, reason) of each send job of the unit, in order, from the send function's log."""
    found = []
    for line in sandbox.functions["SendFunction"].log.getvalue().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("message") == "send job done" and record["unit_id"] == unit_id:
            found.append((record["outcome"], record.get("reason")))
    return found


def test_an_owner_pays_by_alipay_wap_and_is_sent_back_to_the_bill_which_shows_it_paid(sandbox):
    unit_id = "C01-B01-0102"
    link = reminder_link(sandbox, unit_id)
    wap = pay_on_the_bill_page(link, "alipay")
    emulator = sandbox.payment_emulators.alipay
    assert wap.startswith(emulator.gateway)
    status, headers, page = fetch(wap)  # Alipay's WAP cashier (its gateway may first redirect to it)
    while status in (301, 302, 303):
        cashier = urllib.parse.urljoin(wap, headers["location"])
        status, headers, page = fetch(cashier)
    assert status == 200 and "¥250.00" in page
    action = re.search(r'<form method="post" action="([^"]+)"', page)
    assert action is not None
    status, headers, _ = fetch(urllib.parse.urljoin(wap, action.group(1)), {})
    assert status == 302 and headers["location"] == link  # back to the bill link

    sandbox.advance(sandbox.clock.now() + timedelta(seconds=5))
    [payment] = payments_of(sandbox, unit_id)
    assert int(payment["amount_fen"]) == 25000 and payment["method"] == "alipay"
    # Alipay re-sends the same signed form: success, and nothing changes
    emulator.notify(action.group(1).rsplit("/", 1)[1])
    sandbox.advance(sandbox.clock.now() + timedelta(minutes=5))
    assert len(payments_of(sandbox, unit_id)) == 1
    status, _, page = fetch(link)
    assert status == 200 and "¥250.00" in page and "/pay/alipay" not in page  # the payment listed, nothing due

    # a form far past the largest the page has is refused whole (413), not read in part: nothing is acted on
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    inbound_before = sandbox.client("dynamodb").scan(TableName=sandbox.table.name, Select="COUNT")["Count"]
    status, _, body = fetch(f"{link}/feedback", {"csrf": csrf.group(1), "text": "账单不对" * 2000})
    assert status == 413 and body == "Content Too Large\n"
    assert sandbox.client("dynamodb").scan(TableName=sandbox.table.name, Select="COUNT")["Count"] == inbound_before


CHROMIUM = shutil.which("chromium")


@pytest.mark.skipif(CHROMIUM is None, reason="NO BROWSER: chromium is not on PATH (Debian: apt-get install chromium)")
def test_in_chromium_an_owner_pays_on_a_phone_and_sees_the_receipt(sandbox):
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    unit_id = "C01-B01-0103"
    link = reminder_link(sandbox, unit_id)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
            page.goto(link)
            assert "¥250.00" in page.locator(".total").inner_text()
            page.click("button.alipay")  # to the emulated Alipay cashier (the page's CSP lets the form go there)
            page.wait_for_url(f"{sandbox.payment_emulators.alipay.gateway}?**")
            assert "¥250.00" in page.content()
            page.click("form[method=post] button")
            page.wait_for_url(link)  # Alipay sends the browser back to the bill link
            sandbox.advance(sandbox.clock.now() + timedelta(seconds=5))  # its notification arrives
            page.goto(link)
            assert page.locator(".total").inner_text().strip() == "¥0.00"
            page.click("#history ~ table a")  # the payment's receipt
            assert page.locator("h1").inner_text() == "电子收据"
            facts = page.locator("main").inner_text()
            assert "¥250.00" in facts and "支付宝" in facts and "**" in facts
            widths = page.evaluate(_WIDTHS)
            assert widths["scroll"] <= widths["inner"], widths
            violations = Axe().run(page).response["violations"]
            assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations] == []
            receipt_url = page.url
            with page.expect_download() as download:
                page.click("a.btn")  # the PDF, by a short-lived link to S3
            assert download.value.suggested_filename.startswith("R2026")
            page.close()
        finally:
            browser.close()
    [payment] = payments_of(sandbox, unit_id)
    assert receipt_url.endswith(f"/r/{payment['receipt_token']}")
    assert fetch(receipt_url.rsplit("/", 1)[0] + "/" + "Z" * 22)[0] == 404

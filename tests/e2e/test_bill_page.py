"""An owner follows the link of a reminder to the bill page, in the sandbox (the stack's HTTP API on localhost)
and in Debian's Chromium at a phone's and a desktop's size: the bill, axe-clean, no sideways scroll, and the
"wrong bill" form opening a ticket that holds the reminders."""

import copy
import json
import re
import shutil
import urllib.error
import urllib.request

import pytest

from propfee import wiring
from propfee.aws.feedback import FeedbackTable
from propfee.domain.models import HoldKind
from propfee.payments.ports import ProviderName
from tests.support import ROOT, SHANGHAI, at
from tests.support.bill_page import FakeProvider

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium")
LINK = re.compile(r"http://127\.0\.0\.1:\d+/b/[0-9A-Za-z]{22}")
_WIDTHS = "({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"


def fetch(url: str, data: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    # plain http to the sandbox's loopback server this test started
    request = urllib.request.Request(url, data=data)
    try:
        with urllib.request.urlopen(request) as response:  # nosec B310
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


@pytest.fixture()
def sandbox():
    """The `sandbox` of the other tests, with bill links in its reminders (the stack's BillPageBaseUrl)."""
    from propfee.local.sandbox import Sandbox
    from tests.support.sandbox import START, small_community_in_arrears

    with Sandbox(start=START, bill_links=True) as running:
        yield small_community_in_arrears(running)


@pytest.fixture()
def reminded(sandbox, monkeypatch):
    alipay = FakeProvider(ProviderName.ALIPAY)
    monkeypatch.setitem(wiring.PAYMENT_PROVIDERS, ProviderName.ALIPAY, lambda _services: alipay)
    sandbox.advance(at("2026-11-11 10:00"))  # the morning's reminders
    links = {unit_id: LINK.search(text) for unit_id, _, text in unit_texts(sandbox)}
    assert len(links) == 7 and all(links.values())
    return sandbox, {unit_id: found.group(0) for unit_id, found in links.items() if found}


def unit_texts(sandbox):
    """(unit, phone, text) of each SMS sent: the texts name the unit by its codes (B01-0101) here."""
    texts = []
    for _, phone, text in sandbox.sent_sms():
        label = re.search(r"B01-01\d\d", text)
        texts.append((f"C01-{label.group(0)}" if label else "", phone, text))
    return texts


def test_every_reminder_links_to_its_own_bill_and_unusable_links_get_the_same_404(reminded):
    sandbox, links = reminded
    assert len(set(links.values())) == 7  # one link per unit, never shared
    status, headers, body = fetch(links["C01-B01-0101"])
    assert status == 200 and headers["cache-control"] == "no-store"
    assert "¥250.00" in body.decode() and "王**" in body.decode()
    token = links["C01-B01-0102"].rsplit("/", 1)[1]
    sandbox.table.revoke_link(token)
    unknown = fetch(f"{sandbox.http_api.url}/b/{'Z' * 22}")
    revoked = fetch(links["C01-B01-0102"])
    wrong_route = fetch(f"{sandbox.http_api.url}/b/{'Z' * 22}/nothing")
    assert unknown[0] == revoked[0] == 404 and unknown[2] == revoked[2] == b"Not Found\n"
    strip = ("date",)
    assert {k: v for k, v in unknown[1].items() if k not in strip} == {
        k: v for k, v in revoked[1].items() if k not in strip
    }
    assert wrong_route[0] == 404
    # the AWS sample of payload format 2.0, as written (POST /my/path): no such route, the plain 404
    sample = json.loads((ROOT / "events" / "aws" / "apiGatewayProxyV2Event.json").read_text(encoding="utf-8"))
    answer = sandbox.invoke("BillPageFunction", sample)
    assert (answer["statusCode"], answer["body"]) == (404, "Not Found\n")
    shown = copy.deepcopy(sample)
    path = links["C01-B01-0103"].split("127.0.0.1", 1)[1].split("/", 1)[1]
    shown["rawPath"] = shown["requestContext"]["http"]["path"] = f"/{path}"
    shown["requestContext"]["http"]["method"], shown["body"] = "GET", None
    assert sandbox.invoke("BillPageFunction", shown)["statusCode"] == 200


@pytest.mark.skipif(CHROMIUM is None, reason="NO BROWSER: chromium is not on PATH (Debian: apt-get install chromium)")
def test_in_chromium_an_owner_sees_the_bill_on_a_phone_and_a_desktop_and_disputes_it(reminded):
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    sandbox, links = reminded
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            for width, height in ((390, 844), (1280, 800)):
                page = browser.new_page(viewport={"width": width, "height": height}, locale="zh-CN")
                problems: list[str] = []
                page.on("console", lambda m, seen=problems: seen.append(m.text) if m.type == "error" else None)
                page.goto(links["C01-B01-0104"])
                assert page.locator("h1").inner_text() == "物业费账单"
                assert "¥250.00" in page.locator(".total").inner_text()
                widths = page.evaluate(_WIDTHS)
                assert widths["scroll"] <= widths["inner"], widths  # no sideways scrolling
                violations = Axe().run(page).response["violations"]
                assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations] == []
                page.click("a.lang")
                assert page.locator("h1").inner_text() == "Property fee bill"
                assert problems == []  # the policy blocks nothing the page needs (htmx, the stylesheet)
                page.close()

            page = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
            page.goto(links["C01-B01-0105"])
            page.fill("#text", "账单不对，面积算错了，我家是89平不是100平")
            page.click("#wrong ~ form button[type=submit]")
            notice = page.locator(".notice").inner_text()
            assert "工单号" in notice
            page.close()
        finally:
            browser.close()
    unit = sandbox.table.get_unit("C01-B01-0105")
    assert [h.kind for h in unit.holds] == [HoldKind.DISPUTE]
    ticket_id = notice.split("工单号", 1)[1].strip()
    ticket = FeedbackTable(sandbox.resources["PropfeeTable"], SHANGHAI).get_ticket(ticket_id)
    assert ticket is not None and "C01-B01-0105" in ticket.unit_ids and ticket.hold is HoldKind.DISPUTE
    # the hold holds: the next morning's plan sends this unit nothing
    before = len([t for t in unit_texts(sandbox) if t[0] == "C01-B01-0105"])
    sandbox.advance(at("2026-11-18 10:00"))
    assert len([t for t in unit_texts(sandbox) if t[0] == "C01-B01-0105"]) == before

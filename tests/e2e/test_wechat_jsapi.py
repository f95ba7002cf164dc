"""An owner pays by WeChat Pay inside WeChat's own browser (JSAPI) in the sandbox: the reminder's link opened in
WeChat, the pay button through the official account's OAuth (the emulator's) back to the stack, the JSAPI page's
parameters paid by the emulated WeChat client (the paySign checked with the merchant's key), WeChat Pay's
notification, the ledger once and the next reminder skipped; forged parameters are refused; in Chromium at phone
size the page's script calls the bridge the WeChat client injects, and the owner sees the bill paid."""

import json
import re
import shutil
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
import yaml

from propfee.aws import keys
from propfee.aws.dynamo_table import from_attributes, to_attributes
from propfee.local.emulators.wechat_client import JSAPI_PAY_PATH
from propfee.local.sandbox.runtime import patched_environ
from tests.e2e.test_online_payment import next_reminder, payments_of, reminder_link, send_outcomes
from tests.support.sandbox import START, assert_calls_allowed

pytestmark = pytest.mark.e2e
WECHAT_BROWSER = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 "
    "MicroMessenger/8.0.50(0x1800323d) NetType/WIFI Language/zh_CN"
)
OPENID = "oSandboxPayer0101xxxxxxxxxxx"
APP_ID = "wx8888888888888888"  # the WeChat Pay emulator's appid: the account's too, so JSAPI is offered
PARAMS = re.compile(r'<script type="application/json" id="jsapi-params">(.*?)</script>', re.S)
_WIDTHS = "({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args, **_kwargs):
        return None  # the test follows each hop itself, as the WeChat browser would


def fetch(url: str, form: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    """One request of WeChat's browser (its user agent), redirects not followed."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data, headers={"User-Agent": WECHAT_BROWSER})
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=10) as response:  # nosec B310
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read().decode()


def wechat_client_pays(emulator, params: dict, openid: str = OPENID) -> dict:
    """What the WeChat client signed in as `openid` does with getBrandWCPayRequest's parameters."""
    body = json.dumps({"openid": openid, "params": params}).encode()
    request = urllib.request.Request(emulator.base_url + JSAPI_PAY_PATH, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # nosec B310 - the loopback emulator
            return json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return json.loads(error.read())


@pytest.fixture()
def sandbox(tmp_path):
    from propfee.local.sandbox import Sandbox
    from tests.support.sandbox import small_community_in_arrears

    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"wechat": {"app_id": APP_ID, "secret": "propfee-wechat-official"}}))
    with patched_environ({"PROPFEE_RULES_FILE": str(rules)}), Sandbox(start=START, bill_links=True) as running:
        running.wechat_emulator.browser_openid = OPENID  # the owner signed in to WeChat on the phone
        yield small_community_in_arrears(running)


def to_the_jsapi_page(sandbox, link: str) -> tuple[str, str]:
    """The link opened in WeChat, the pay button pressed, WeChat's OAuth: (the callback URL, the JSAPI page)."""
    status, _, page = fetch(link)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert status == 200 and csrf is not None and "/pay/wechat_pay" in page
    status, headers, _ = fetch(f"{link}/pay/wechat_pay", {"csrf": csrf.group(1)})
    authorize = headers.get("location", "")
    assert status == 303 and authorize.startswith(f"{sandbox.wechat_emulator.base_url}/connect/oauth2/authorize?")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize.split("#")[0]).query))
    assert query["scope"] == "snsapi_base" and query["redirect_uri"] == f"{link}/pay/wechat_pay/jsapi"
    status, headers, _ = fetch(authorize.split("#")[0])
    callback = headers["location"]
    assert status == 302 and callback.startswith(f"{link}/pay/wechat_pay/jsapi?code=")
    status, _, page = fetch(callback)
    assert status == 200, (status, page)
    return callback, page


def test_inside_wechat_an_owner_pays_by_jsapi_once_and_forged_parameters_are_refused(sandbox):
    unit_id = "C01-B01-0101"
    link = reminder_link(sandbox, unit_id)
    _, next_job = next_reminder(sandbox, unit_id)
    callback, page = to_the_jsapi_page(sandbox, link)
    found = PARAMS.search(page)
    assert found is not None and "¥250.00" in page and "/static/wechat_jsapi.js" in page
    params = json.loads(found.group(1))
    emulator = sandbox.payment_emulators.wechat_pay
    [order] = emulator.orders.values()
    assert order.kind == "jsapi" and order.payer_openid == OPENID
    assert params["package"] == f"prepay_id=wx{order.out_trade_no}"

    # parameters not signed by the merchant, or paid by another WeChat user: refused, nothing paid
    forged = dict(params, paySign=params["paySign"][:-8] + "AAAAAAA=")
    assert wechat_client_pays(emulator, forged)["err_msg"] == "get_brand_wcpay_request:fail"
    assert wechat_client_pays(emulator, params, "oSomeoneElse")["err_msg"] == "get_brand_wcpay_request:fail"
    sandbox.advance(sandbox.clock.now() + timedelta(seconds=5))
    assert emulator.jsapi_refused == ["paySign", "prepay_id"] and payments_of(sandbox, unit_id) == []

    # the page reloaded (WeChat refuses its code again) and the button pressed again: still one order
    assert fetch(callback)[0] == 400
    to_the_jsapi_page(sandbox, link)
    assert len(emulator.orders) == 1

    assert wechat_client_pays(emulator, params) == {"err_msg": "get_brand_wcpay_request:ok"}
    sandbox.advance(sandbox.clock.now() + timedelta(seconds=5))  # WeChat Pay's notification to /notify
    [payment] = payments_of(sandbox, unit_id)
    assert int(payment["amount_fen"]) == 25000 and payment["method"] == "wechat_pay"
    stored = from_attributes(
        sandbox.client("dynamodb").get_item(
            TableName=sandbox.table.name, Key=to_attributes(keys.payment_order_item(order.out_trade_no))
        )["Item"]
    )
    assert stored["status"] == "paid" and stored["checkout"] == "wechat_jsapi"
    assert OPENID not in json.dumps(stored, default=str)  # the openid went to WeChat Pay only
    assert wechat_client_pays(emulator, params)["err_msg"] == "get_brand_wcpay_request:fail"  # paid already
    status, _, page = fetch(f"{link}?paying=wechat_pay")
    assert status == 200 and "/pay/wechat_pay" not in page and "正在确认" not in page  # nothing due now

    # the next reminder, planned before the payment: skipped as paid
    sms_before = len(sandbox.sent_sms())
    sandbox.client("sqs").send_message(QueueUrl=sandbox.resources["SendQueue"], MessageBody=next_job)
    sandbox.drain()
    assert len(sandbox.sent_sms()) == sms_before and send_outcomes(sandbox, unit_id)[-1] == ("skipped", "paid")
    assert OPENID not in sandbox.functions["BillPageFunction"].log.getvalue()  # never logged
    assert_calls_allowed(sandbox.function_calls)


CHROMIUM = shutil.which("chromium")
BRIDGE = """
window.setTimeout(function () {  // the WeChat client injects its bridge a moment after the page starts
  window.WeixinJSBridge = {invoke: function (name, params, done) {
    window.wechatClient(name, params).then(done);
  }};
  document.dispatchEvent(new Event("WeixinJSBridgeReady"));
}, 50);
"""


@pytest.mark.skipif(CHROMIUM is None, reason="NO BROWSER: chromium is not on PATH (Debian: apt-get install chromium)")
def test_in_chromium_inside_wechat_the_owner_cancels_pays_again_and_sees_the_bill_paid(sandbox):
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import expect, sync_playwright

    unit_id = "C01-B01-0103"
    link = reminder_link(sandbox, unit_id)
    emulator = sandbox.payment_emulators.wechat_pay
    calls: list[str] = []

    def wechat_client(name: str, params: dict) -> dict:
        calls.append(name)
        if len(calls) == 1:
            return {"err_msg": "get_brand_wcpay_request:cancel"}  # the owner closes WeChat Pay's sheet
        return wechat_client_pays(emulator, params)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            # WeChat's user agent but no bridge (another in-app browser): the page says to open it in WeChat
            phone = {"viewport": {"width": 390, "height": 844}, "locale": "zh-CN", "user_agent": WECHAT_BROWSER}
            bare = browser.new_context(**phone)
            alone = bare.new_page()
            alone.goto(link)
            alone.click("button.wechat_pay")
            alone.wait_for_url(f"{link}/pay/wechat_pay/jsapi?**")
            expect(alone.locator("#jsapi-status")).to_contain_text("请在微信中打开", timeout=10_000)
            assert alone.locator("#jsapi-retry").is_hidden()
            bare.close()
            context = browser.new_context(**phone)
            context.add_init_script(BRIDGE)
            context.expose_function("wechatClient", wechat_client)
            page = context.new_page()
            page.goto(link)
            page.click("button.wechat_pay")  # through the account's OAuth, back to the JSAPI page
            page.wait_for_url(f"{link}/pay/wechat_pay/jsapi?**")
            page.wait_for_selector("#jsapi-retry:not([hidden])")  # cancelled: a message and the button again
            assert "支付已取消" in page.locator("#jsapi-status").inner_text()
            violations = Axe().run(page).response["violations"]
            assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations] == []
            widths = page.evaluate(_WIDTHS)
            assert widths["scroll"] <= widths["inner"], widths
            page.click("#jsapi-retry")
            page.wait_for_url(f"{link}?lang=zh-CN&paying=wechat_pay")  # paid: back to the bill
            assert "正在确认" in page.locator(".notice").inner_text()  # until the notification lands
            sandbox.advance(sandbox.clock.now() + timedelta(seconds=5))
            page.goto(link)
            assert page.locator(".total").inner_text().strip() == "¥0.00"
            page.click("#history ~ table a")  # the payment's receipt
            facts = page.locator("main").inner_text()
            assert page.locator("h1").inner_text() == "电子收据" and "¥250.00" in facts and "微信支付" in facts
            violations = Axe().run(page).response["violations"]
            assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations] == []
            context.close()
        finally:
            browser.close()
    assert calls == ["getBrandWCPayRequest", "getBrandWCPayRequest"]
    [payment] = payments_of(sandbox, unit_id)
    assert int(payment["amount_fen"]) == 25000 and len(emulator.orders) == 1

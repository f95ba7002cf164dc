"""WeChat Pay JSAPI inside WeChat's own browser: the pay button to the account's OAuth (or the page saying to open
it in the browser), the callback's state and code, one order however often it is reloaded, the page's parameters
escaped, and the wiring offering JSAPI only when the account's app id is WeChat Pay's."""

import json
import re
from urllib.parse import parse_qsl, urlsplit

import pytest

from propfee.domain.ports import ProviderRejected
from propfee.payments.bill_http import BillRequest, static
from propfee.payments.ports import Checkout, CheckoutKind, OrderRequest, ProviderName
from propfee.payments.wechat_jsapi import WechatJsapi
from propfee.web.limits import RateLimits
from propfee.web.security import CSRF_FIELD, csrf_token
from tests.support import at
from tests.support.bill_page import SECRET, FakeProvider, MemoryOrders, bill_http, billed_unit
from tests.unit.feedback.test_receiving import Flow

NOW = at("2026-11-11 10:30")
IP = "203.0.113.7"
WECHAT_UA = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.50 NetType/WIFI"
OPENID = "oPayerOpenid00000000000000001"


class OAuth:
    """The account's OAuth: each authorize hands out a fresh code for the WeChat user; a code is good once."""

    def __init__(self):
        self.issued = 0
        self.codes: dict[str, str] = {}

    def authorize_url(self, redirect_uri, state):
        self.issued += 1
        code = f"code{self.issued}"
        self.codes[code] = OPENID
        return f"https://open.weixin.example/authorize?redirect_uri={redirect_uri}&code={code}&state={state}"

    def openid_for_code(self, code):
        if code not in self.codes:
            raise ProviderRejected("wechat oauth 40029: invalid code")
        return self.codes.pop(code)


class JsapiProvider(FakeProvider):
    """WeChat Pay answering JSAPI orders with the bridge's parameters (`evil` goes into one of them)."""

    evil = ""

    def create_order(self, order: OrderRequest) -> Checkout:
        self.orders.append(order)
        if order.kind is not CheckoutKind.WECHAT_JSAPI:
            return super().create_order(order)
        params = {
            "appId": "wx8888888888888888",
            "timeStamp": "1794457800",
            "nonceStr": "n0nce" + self.evil,
            "package": f"prepay_id=wx{order.out_trade_no}",
            "signType": "RSA",
            "paySign": "c2lnbmVk",
        }
        return Checkout(order.out_trade_no, jsapi_params=params)


@pytest.fixture()
def site():
    flow = Flow(billed_unit())
    flow.orders = MemoryOrders()
    oauth = OAuth()
    same_app = {"value": True}
    jsapi = WechatJsapi(oauth, "https://jxwy.cn/", lambda: same_app["value"])
    http, links, providers = bill_http(
        flow.store.units, flow.receiver, RateLimits(per_token=50, per_source=50), flow.orders, jsapi
    )
    providers[ProviderName.WECHAT_PAY] = JsapiProvider(ProviderName.WECHAT_PAY)
    token = links.issue("C01-B01-0101", "C01", NOW).token
    return flow, http, providers, token, oauth


def request(token, **changes):
    return BillRequest(**{"token": token, "source_ip": IP, "now": NOW, "user_agent": WECHAT_UA, **changes})


def pay_form(token):
    return {CSRF_FIELD: csrf_token(SECRET, token, NOW)}


def through_oauth(http, token):
    """The pay button inside WeChat, then WeChat's OAuth back to the callback: the callback's answer."""
    answer = http.pay(request(token, form=pay_form(token)), "wechat_pay")
    assert answer.status == 303, answer.status
    query = dict(parse_qsl(urlsplit(answer.headers["Location"]).query))
    assert query["redirect_uri"] == f"https://jxwy.cn/b/{token}/pay/wechat_pay/jsapi"
    return http.wechat_jsapi(request(token, query={"code": query["code"], "state": query["state"]})), query


def page_params(html):
    found = re.search(r'<script type="application/json" id="jsapi-params">(.*?)</script>', html, re.S)
    assert found is not None
    return json.loads(found.group(1))


def test_inside_wechat_the_pay_button_goes_through_oauth_to_one_jsapi_order_for_the_payer(site):
    flow, http, providers, token, _ = site
    answer, _ = through_oauth(http, token)
    html = str(answer.body)
    [order] = providers[ProviderName.WECHAT_PAY].orders
    assert answer.status == 200 and order.kind is CheckoutKind.WECHAT_JSAPI and order.openid == OPENID
    assert (order.amount_fen, order.bill_ids) == (37345, ("2026-09", "2026-10"))
    params = page_params(html)
    assert params["package"] == f"prepay_id=wx{order.out_trade_no}" and params["signType"] == "RSA"
    assert '<script src="/static/wechat_jsapi.js" defer></script>' in html and "¥373.45" in html
    assert f'data-paid-url="/b/{token}?lang=zh-CN&amp;paying=wechat_pay"' in html
    assert OPENID not in html  # the openid goes to WeChat Pay only
    [recorded] = flow.orders.orders.values()
    assert recorded.checkout is CheckoutKind.WECHAT_JSAPI and OPENID not in recorded.model_dump_json()
    assert (
        answer.headers["Cache-Control"] == "no-store"
        and "script-src 'self'" in answer.headers["Content-Security-Policy"]
    )


def test_a_reload_or_a_second_tap_makes_no_second_order_and_a_used_code_gives_the_button_again(site):
    flow, http, providers, token, _ = site
    first, query = through_oauth(http, token)
    again, _ = through_oauth(http, token)  # the owner taps the button again: a fresh code, the same order
    numbers = {o.out_trade_no for o in providers[ProviderName.WECHAT_PAY].orders}
    assert first.status == again.status == 200 and len(numbers) == 1 and len(flow.orders.orders) == 1
    reloaded = http.wechat_jsapi(request(token, query={"code": query["code"], "state": query["state"]}))
    assert reloaded.status == 400 and "未能取得微信支付所需的授权" in str(reloaded.body)  # WeChat refuses a code twice
    assert len(providers[ProviderName.WECHAT_PAY].orders) == 2 and len(flow.orders.orders) == 1


def test_a_forged_stale_or_other_links_state_is_refused_403_and_orders_nothing(site):
    flow, http, providers, token, oauth = site
    oauth.codes["c"] = OPENID
    other = "Q" * 22  # another bill link's token
    states = [
        "1.x.y",
        csrf_token(SECRET, f"wechat-pay:{token}", at("2026-11-11 07:00")),  # hours old
        csrf_token(SECRET, token, NOW),  # the page's form token is not a pay state
        csrf_token(SECRET, f"wechat-bind:{token}", NOW),  # nor is a binding's
        csrf_token(SECRET, f"wechat-pay:{other}", NOW),  # nor another link's
    ]
    for state in states:
        assert http.wechat_jsapi(request(token, query={"code": "c", "state": state})).status == 403
    assert providers[ProviderName.WECHAT_PAY].orders == [] and flow.orders.orders == {} and "c" in oauth.codes
    assert http.wechat_jsapi(request("Z" * 22, query={"code": "c", "state": "1.x.y"})).status == 404


def test_the_pay_post_inside_wechat_still_needs_the_pages_form_token(site):
    _, http, providers, token, oauth = site
    assert http.pay(request(token, form={CSRF_FIELD: "1.x.y"}), "wechat_pay").status == 403
    assert oauth.issued == 0 and providers[ProviderName.WECHAT_PAY].orders == []


def test_without_the_account_or_with_another_app_id_the_owner_is_told_to_open_the_phones_browser(site):
    flow, http, providers, token, _ = site
    http._jsapi = WechatJsapi(OAuth(), "https://jxwy.cn", lambda: False)  # the account's app id is not WeChat Pay's
    for jsapi in (http._jsapi, None):
        http._jsapi = jsapi
        for language, words in (("zh-CN", "在浏览器打开"), ("en", "Open in browser")):
            answer = http.pay(request(token, form=pay_form(token), lang=language), "wechat_pay")
            assert answer.status == 200 and words in str(answer.body) and "¥373.45" in str(answer.body)
    assert providers[ProviderName.WECHAT_PAY].orders == [] and flow.orders.orders == {}
    # the callback is not there without JSAPI; Alipay's button still goes to its cashier
    assert http.wechat_jsapi(request(token, query={"code": "c", "state": "s"})).status == 404
    assert http.pay(request(token, form=pay_form(token)), "alipay").status == 303


def test_the_pages_parameters_are_escaped_for_html_and_read_back_as_they_were(site):
    _, http, providers, token, _ = site
    providers[ProviderName.WECHAT_PAY].evil = "</script><script>alert(1)</script>&'"
    answer, _ = through_oauth(http, token)
    html = str(answer.body)
    assert "<script>alert(1)" not in html and html.count("</script>") == 3  # htmx, the JSON block, the bridge file
    assert page_params(html)["nonceStr"] == "n0nce</script><script>alert(1)</script>&'"


def test_back_on_the_bill_after_paying_it_says_the_payment_is_being_checked_until_it_lands(site):
    flow, http, _, token, _ = site
    shown = str(http.show(request(token, query={"paying": "wechat_pay"}, lang="en")).body)
    assert "We are confirming your payment" in shown
    assert "正在确认" not in str(http.show(request(token)).body)
    flow.store.units["C01-B01-0101"] = flow.store.units["C01-B01-0101"].model_copy(update={"open_bills": {}})
    assert "正在确认" not in str(http.show(request(token, query={"paying": "wechat_pay"})).body)  # paid: no notice


def test_the_bridge_script_is_served_and_waits_for_the_bridge():
    answer = static("wechat_jsapi.js")
    script = bytes(answer.body).decode()
    assert answer.status == 200 and answer.content_type.startswith("text/javascript")
    assert 'invoke("getBrandWCPayRequest"' in script and '"WeixinJSBridgeReady"' in script
    assert "get_brand_wcpay_request:ok" in script


def test_the_wiring_offers_jsapi_only_when_the_accounts_app_id_is_wechat_pays(monkeypatch):
    from propfee import wiring
    from propfee.domain.config import Settings

    class Provider:
        def __init__(self, app_id):
            self.app_id = app_id

    class Account:
        app_id = "wx5a4db0c5a4db0c5a"

    for pay_app_id, offered in (("wx5a4db0c5a4db0c5a", True), ("wx8888888888888888", False)):
        services = wiring.Services(Settings(table="t"))  # type: ignore[call-arg]
        monkeypatch.setitem(wiring.PAYMENT_PROVIDERS, ProviderName.WECHAT_PAY, lambda _s, a=pay_app_id: Provider(a))
        services.__dict__["wechat"] = Account()
        assert services._jsapi_offered() is offered

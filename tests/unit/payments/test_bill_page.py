"""The bill page with in-memory ports: what it shows, the one 404, CSRF, rate limits, paying, the wrong-bill form."""

from datetime import timedelta

import pytest

from propfee.domain.models import HoldKind
from propfee.payments.bill_http import BillRequest, static
from propfee.payments.bill_page import checkout_kind, mask_name
from propfee.payments.orders import ORDER_NUMBER, OrderStatus
from propfee.payments.ports import CheckoutKind, PaymentProviderError, ProviderName
from propfee.rules import load_rules
from propfee.web.limits import RateLimits
from propfee.web.pages import TEXTS
from propfee.web.security import CSRF_FIELD, csrf_token
from tests.support import at
from tests.support.bill_page import PHONE, SECRET, MemoryOrders, bill_http, billed_unit
from tests.unit.feedback.test_receiving import Flow

NOW = at("2026-11-11 10:30")
IP = "203.0.113.7"
WECHAT_UA = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.50 NetType/WIFI"


@pytest.fixture()
def site():
    flow = Flow(billed_unit())
    flow.orders = MemoryOrders()
    limits = RateLimits(per_token=8, per_source=50)
    http, links, providers = bill_http(flow.store.units, flow.receiver, limits, flow.orders)
    token = links.issue("C01-B01-0101", "C01", NOW).token
    return flow, http, links, providers, token


def request(token, **changes):
    return BillRequest(**{"token": token, "source_ip": IP, "now": NOW, **changes})


def form(token, **fields):
    return {CSRF_FIELD: csrf_token(SECRET, token, NOW), **fields}


def test_the_page_shows_the_unit_its_open_bills_and_total_with_the_owner_masked(site):
    _, http, _, _, token = site
    page = http.show(request(token, accept_language="zh-CN,zh;q=0.9"))
    html = str(page.body)
    assert page.status == 200
    assert "锦绣花园 1栋 0101" in html and "王**" in html
    assert "王小明" not in html and PHONE not in html and "wang@example.net" not in html
    assert html.index("2026-09") < html.index("2026-10")
    assert "¥250.00" in html and "¥123.45" in html and "¥373.45" in html  # fen to yuan at the edge only
    assert 'lang="zh-CN"' in html and "微信支付" in html and "支付宝支付" in html
    assert page.headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    english = str(http.show(request(token, accept_language="zh-CN", lang="en")).body)
    assert 'lang="en"' in english and "Pay with WeChat Pay" in english


def test_owners_text_and_names_are_escaped(site):
    flow, http, _, _, token = site
    owner = flow.store.units["C01-B01-0101"].owners[0].model_copy(update={"name": "<script>x</script>"})
    flow.store.units["C01-B01-0101"] = flow.store.units["C01-B01-0101"].model_copy(update={"owners": (owner,)})
    html = str(http.show(request(token)).body)
    assert "<script>x" not in html and "&lt;***" in html


@pytest.mark.parametrize(
    ("name", "masked"), [("王小明", "王**"), ("欧阳娜娜", "欧***"), ("李", "李**"), ("Smith", "S****"), ("", "")]
)
def test_a_name_is_masked_to_its_first_character(name, masked):
    assert mask_name(name) == masked


def test_unknown_expired_revoked_and_malformed_tokens_get_the_same_404(site):
    flow, http, links, _, token = site
    expired = links.issue("C01-B01-0102", "C01", NOW - timedelta(days=46)).token
    revoked = links.issue("C01-B01-0103", "C01", NOW).token
    links.revoke(revoked)
    answers = [
        http.show(request(t))
        for t in ("A" * 22, expired, revoked, "not-a-token", token[:-1] + ("a" if token[-1] != "a" else "b"))
    ]
    assert {(a.status, a.body, tuple(sorted(a.headers.items()))) for a in answers} == {
        (answers[0].status, answers[0].body, tuple(sorted(answers[0].headers.items())))
    }
    assert answers[0].status == 404 and answers[0].body == "Not Found\n"
    assert static("../../etc/passwd") == answers[0] and static("nothing.js") == answers[0]
    # and a POST to an unusable link acts on nothing
    assert http.feedback(request(revoked, form=form(revoked, text="账单不对"))).status == 404
    assert flow.store.inbound == {}


def test_a_form_without_this_pages_csrf_token_is_refused_and_nothing_happens(site):
    flow, http, links, providers, token = site
    other = links.issue("C01-B01-0102", "C01", NOW).token
    for fields in ({"text": "账单不对"}, {"text": "账单不对", CSRF_FIELD: "1.2.3"}, form(other, text="账单不对")):
        assert http.feedback(request(token, form=fields)).status == 403
        assert http.pay(request(token, form=fields), "alipay").status == 403
    stale = {CSRF_FIELD: csrf_token(SECRET, token, NOW - timedelta(hours=3)), "text": "账单不对"}
    assert http.feedback(request(token, form=stale)).status == 403
    assert flow.store.inbound == {} and all(not p.orders for p in providers.values())


def test_requests_past_the_limit_per_token_and_per_source_get_a_plain_429(site):
    _, http, _, _, token = site
    answers = [http.show(request(token)).status for _ in range(10)]
    assert answers == [200] * 8 + [429, 429]
    assert http.show(request(token)).body == "Too Many Requests\n"
    assert http.show(request(token, now=NOW + timedelta(minutes=1))).status == 200  # the next minute
    # a guesser trying many tokens from one address is stopped by the per-source limit
    guesses = [http.show(request(f"{n:022d}", source_ip="198.51.100.9")).status for n in range(52)]
    assert guesses[:50] == [404] * 50 and guesses[50:] == [429, 429]


def test_the_wrong_bill_form_goes_through_the_reply_flow_a_dispute_opens_a_ticket_and_holds_reminders(site):
    flow, http, _, _, token = site
    fields = form(token, text="账单不对，面积算错了，我家是89平不是100平")
    page = http.feedback(request(token, form=fields))
    assert page.status == 200
    [ticket] = flow.store.tickets.values()
    assert ticket.ticket_id in str(page.body)
    unit = flow.store.units["C01-B01-0101"]
    assert [h.kind for h in unit.holds] == [HoldKind.DISPUTE]
    [record] = flow.store.inbound.values()
    assert record["classification"]["intent"] == "bill_dispute" and record["sender"] == PHONE
    # the same form sent twice acts once
    assert http.feedback(request(token, form=fields)).status == 200
    assert len(flow.store.tickets) == 1 and len(flow.store.inbound) == 1


def test_paying_orders_every_open_bill_with_the_chosen_provider_and_redirects_to_its_cashier(site):
    flow, http, _, providers, token = site
    answer = http.pay(request(token, form=form(token), user_agent="Mozilla/5.0 (iPhone) Safari"), "wechat_pay")
    [order] = providers[ProviderName.WECHAT_PAY].orders
    assert answer.status == 303 and answer.headers["Location"].endswith(order.out_trade_no)
    assert (order.amount_fen, order.bill_ids, order.kind) == (37345, ("2026-09", "2026-10"), CheckoutKind.WECHAT_H5)
    assert order.client_ip == IP and "王" not in order.description and PHONE not in order.description
    assert order.return_url == f"https://jxwy.cn/b/{token}"  # back to the bill link, whatever the host
    assert ORDER_NUMBER.fullmatch(order.out_trade_no) and "0101" not in order.out_trade_no
    # the order is recorded (the notification settles it by its number)
    [recorded] = flow.orders.orders.values()
    assert (recorded.out_trade_no, recorded.amount_fen, recorded.periods) == (order.out_trade_no, 37345, order.bill_ids)
    # a retry names the same order; the provider must not make two
    http.pay(request(token, form=form(token)), "wechat_pay")
    assert len({o.out_trade_no for o in providers[ProviderName.WECHAT_PAY].orders}) == 1
    assert len(flow.orders.orders) == 1
    assert http.pay(request(token, form=form(token)), "paypal").status == 404


def test_once_an_order_is_closed_paying_again_opens_the_next_attempt(site):
    flow, http, _, providers, token = site
    http.pay(request(token, form=form(token)), "alipay")
    [first] = flow.orders.orders.values()
    flow.orders.orders[first.out_trade_no] = first.model_copy(update={"status": OrderStatus.CLOSED})
    answer = http.pay(request(token, form=form(token)), "alipay")
    second = providers[ProviderName.ALIPAY].orders[-1]
    assert answer.status == 303 and second.out_trade_no != first.out_trade_no
    assert second.out_trade_no.endswith("-2") and first.out_trade_no.endswith("-1")


def test_a_provider_that_refuses_or_is_unreachable_gives_the_bill_again_with_a_try_later_not_a_500(site, monkeypatch):
    flow, http, _, providers, token = site

    def down(order):
        raise PaymentProviderError("WeChat Pay create order: ConnectTimeout")

    monkeypatch.setattr(providers[ProviderName.WECHAT_PAY], "create_order", down)
    answer = http.pay(request(token, form=form(token), user_agent="Mozilla/5.0 (iPhone) Safari"), "wechat_pay")
    assert answer.status == 503
    assert TEXTS["zh-CN"]["pay_unavailable"] in answer.body and "373.45" in answer.body  # the bill, still due
    # the order is kept for the next tap, which names the same number (no second order at the provider)
    [kept] = flow.orders.orders.values()
    monkeypatch.undo()
    again = http.pay(request(token, form=form(token), user_agent="Mozilla/5.0 (iPhone) Safari"), "wechat_pay")
    assert again.status == 303 and again.headers["Location"].endswith(kept.out_trade_no)


def test_nothing_due_means_nothing_to_pay(site):
    flow, http, _, providers, token = site
    flow.store.units["C01-B01-0101"] = flow.store.units["C01-B01-0101"].model_copy(update={"open_bills": {}})
    assert http.pay(request(token, form=form(token)), "wechat_pay").status == 404
    assert providers[ProviderName.WECHAT_PAY].orders == [] and flow.orders.orders == {}


def test_wechat_pays_by_jsapi_inside_wechat_and_h5_elsewhere_alipay_by_wap():
    assert checkout_kind(ProviderName.WECHAT_PAY, WECHAT_UA) is CheckoutKind.WECHAT_JSAPI
    assert checkout_kind(ProviderName.WECHAT_PAY, "Mozilla/5.0 Chrome/131") is CheckoutKind.WECHAT_H5
    assert checkout_kind(ProviderName.ALIPAY, WECHAT_UA) is CheckoutKind.ALIPAY_WAP


def test_htmx_is_served_from_the_package_with_its_licence_note():
    answer = static("htmx.min.js")
    assert answer.status == 200 and answer.content_type.startswith("text/javascript")
    assert b"htmx" in bytes(answer.body)[:2000]
    assert static("web.css").status == 200


def test_the_page_offers_the_providers_whose_merchant_secret_is_configured_and_reads_no_secret_to_show(monkeypatch):
    from propfee import wiring
    from propfee.domain.config import Settings

    built = []
    monkeypatch.setattr(wiring, "build_payment_provider", lambda _settings, name: built.append(name) or name)
    on = ("wechat_pay", "alipay")
    alipay_only = wiring.Services(
        Settings(table="t", alipay_secret="arn:secret:alipay", online_payment_providers=on)  # type: ignore[call-arg]
    )
    assert list(alipay_only.payment_providers) == [ProviderName.ALIPAY] and built == []
    assert alipay_only.payment_providers[ProviderName.ALIPAY] == ProviderName.ALIPAY and built == [ProviderName.ALIPAY]
    with pytest.raises(KeyError):
        alipay_only.payment_providers[ProviderName.WECHAT_PAY]
    both = wiring.Services(
        Settings(table="t", alipay_secret="a", wechat_pay_secret="w", online_payment_providers=on)  # type: ignore[call-arg]
    )
    assert list(both.payment_providers) == [ProviderName.WECHAT_PAY, ProviderName.ALIPAY]
    # a fresh deploy names both secrets but turns no provider on: no button that would end in an error
    fresh = wiring.Services(Settings(table="t", alipay_secret="a", wechat_pay_secret="w"))  # type: ignore[call-arg]
    assert list(fresh.payment_providers) == []
    only_wechat = Settings(
        table="t", alipay_secret="a", wechat_pay_secret="w", online_payment_providers=("wechat_pay",)
    )  # type: ignore[call-arg]
    assert list(wiring.Services(only_wechat).payment_providers) == [ProviderName.WECHAT_PAY]
    assert list(wiring.Services(Settings(table="t")).payment_providers) == []  # type: ignore[call-arg]
    # a registered provider (a test's fake) is offered and used instead of building one
    monkeypatch.setitem(wiring.PAYMENT_PROVIDERS, ProviderName.WECHAT_PAY, lambda _services: "fake")
    registered = wiring.Services(Settings(table="t"))  # type: ignore[call-arg]
    assert list(registered.payment_providers) == [ProviderName.WECHAT_PAY]
    assert registered.payment_providers[ProviderName.WECHAT_PAY] == "fake"


def test_with_no_provider_turned_on_the_page_shows_how_to_pay_offline_and_no_pay_button(site):
    _, http, _, providers, token = site
    providers.clear()  # a fresh deploy: OnlinePaymentProviders empty
    html = str(http.show(request(token, accept_language="zh-CN")).body)
    assert "/pay/" not in html and "微信支付" not in html
    assert load_rules().identity_for("C01").pay_instructions["zh-CN"] in html


def test_opening_the_page_is_kept_once_a_day_and_a_page_shown_again_after_a_form_is_not_an_opening(site):
    _, http, links, _, token = site
    store = links._store
    assert http.show(request(token)).status == 200
    assert http.show(request(token, now=NOW + timedelta(hours=3))).status == 200  # the same day: kept already
    assert http.feedback(request(token, form=form(token, text="账单是对的，谢谢"))).status == 200
    assert list(store.openings) == [(token, NOW.date())]
    assert store.openings[(token, NOW.date())] == NOW  # the first time that day, and nothing of who
    http.show(request(token, now=NOW + timedelta(days=1)))
    assert sorted(day for _, day in store.openings) == [NOW.date(), NOW.date() + timedelta(days=1)]
    assert http.show(request("0" * 22)).status == 404 and len(store.openings) == 2  # an unknown token: nothing

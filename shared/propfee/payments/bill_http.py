"""The bill page's routes as plain functions of a request: rate limit, token, CSRF, then the page or one 404."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from propfee.payments.bill_page import BillPage, BillView, checkout_kind
from propfee.payments.ports import CheckoutKind, PaymentProviderError, ProviderName
from propfee.payments.wechat_bind import WechatBinder
from propfee.payments.wechat_jsapi import SCRIPT as JSAPI_SCRIPT
from propfee.payments.wechat_jsapi import WechatJsapi
from propfee.web.limits import RateLimiter
from propfee.web.pages import TEXTS, WebResponse, choose_language, render_page, static_file
from propfee.web.requests import HttpRequest
from propfee.web.security import (
    CSRF_FIELD,
    NOT_FOUND_BODY,
    PERSONAL_HEADERS,
    STATIC_HEADERS,
    TOO_MANY_BODY,
    CsrfRefused,
    check_csrf,
    csrf_token,
    with_form_targets,
)

PLAIN = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class BillRequest:
    token: str
    source_ip: str
    now: datetime
    user_agent: str = ""
    accept_language: str = ""
    lang: str | None = None  # ?lang= (the page's switch)
    form: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)


def bill_request(http: HttpRequest, token: str, now: datetime) -> BillRequest:
    return BillRequest(
        token=token,
        source_ip=http.source_ip,
        now=now,
        user_agent=http.headers.get("user-agent", ""),
        accept_language=http.headers.get("accept-language", ""),
        lang=http.query.get("lang"),
        form=http.form,
        query=http.query,
    )


def not_found() -> WebResponse:
    """One answer for an unknown, expired or revoked token, a wrong route or a missing file: same body, same
    headers."""
    return WebResponse(404, NOT_FOUND_BODY, PLAIN, PERSONAL_HEADERS)


def too_many() -> WebResponse:
    return WebResponse(429, TOO_MANY_BODY, PLAIN, {**PERSONAL_HEADERS, "Retry-After": "60"})


def jsapi_page(token: str, bill: BillView, params: dict[str, str], language: str) -> WebResponse:
    """The page inside WeChat that calls WeixinJSBridge (web/static/wechat_jsapi.js) with the order's parameters,
    carried as JSON in the page (escaped for HTML: `tojson`); back to the bill when paid."""
    context = {
        "bill": bill,
        "params": params,
        "bill_url": f"/b/{token}?lang={language}",
        "paid_url": f"/b/{token}?lang={language}&paying={ProviderName.WECHAT_PAY.value}",
        "company_name": bill.company_name,
        "script": JSAPI_SCRIPT,
    }
    return WebResponse(200, render_page("wechat_jsapi.html.j2", language, context), headers=PERSONAL_HEADERS)


def static(name: str) -> WebResponse:
    found = static_file(name)
    if found is None:
        return not_found()
    body, content_type = found
    return WebResponse(200, body, content_type, STATIC_HEADERS)


class BillHttp:
    def __init__(
        self,
        page: BillPage,
        limiter: RateLimiter,
        csrf_secret: Callable[[], bytes],
        tz: ZoneInfo,
        pay_origins: tuple[str, ...] = (),
        wechat: WechatBinder | None = None,
        jsapi: WechatJsapi | None = None,
    ) -> None:
        """`pay_origins`: cashier origins besides the providers' own (the sandbox's emulators); `wechat`: the
        official account's binding, when the rules configure one; `jsapi`: WeChat Pay inside WeChat, through that
        account's OAuth, when WeChat Pay is offered."""
        self._wechat = wechat
        self._jsapi = jsapi
        self._page = page
        self._page_headers = with_form_targets(PERSONAL_HEADERS, pay_origins)
        self._limiter = limiter
        self._secret = csrf_secret  # read from Secrets Manager on first use, not at import
        self._tz = tz

    def _language(self, request: BillRequest) -> str:
        return choose_language(request.accept_language, request.lang or request.form.get("lang"))

    def _render(
        self, request: BillRequest, bill: BillView, language: str, notice: str = "", status: int = 200
    ) -> WebResponse:
        context = {
            "bill": bill,
            "token": request.token,
            "csrf": csrf_token(self._secret(), request.token, request.now),
            "company_name": bill.company_name,
            "notice": notice,
            "tz": self._tz,
            "wechat_bind": self._wechat is not None,
        }
        return WebResponse(status, render_page("bill.html.j2", language, context), headers=self._page_headers)

    def show(self, request: BillRequest) -> WebResponse:
        if not self._limiter.allow(request.token, request.source_ip, request.now):
            return too_many()
        language = self._language(request)
        bill = self._page.view(request.token, language, request.now, opened_in=self._tz)
        if bill is None:
            return not_found()
        # back from WeChat Pay's JSAPI: the payment shows once its notification lands
        paying = request.query.get("paying") == ProviderName.WECHAT_PAY.value and bill.total_due_fen > 0
        return self._render(request, bill, language, TEXTS[language]["payment_checking"] if paying else "")

    def _checked(self, request: BillRequest) -> WebResponse | None:
        """A refusal for a form that is over the limit or not from this page, else None."""
        if not self._limiter.allow(request.token, request.source_ip, request.now):
            return too_many()
        try:
            check_csrf(self._secret(), request.token, request.form.get(CSRF_FIELD), request.now)
        except CsrfRefused:
            return WebResponse(403, "Forbidden\n", PLAIN, PERSONAL_HEADERS)
        return None

    def feedback(self, request: BillRequest) -> WebResponse:
        refused = self._checked(request)
        if refused is not None:
            return refused
        text = request.form.get("text", "").strip()
        language = self._language(request)
        bill = self._page.view(request.token, language, request.now)
        if bill is None:
            return not_found()
        if not text:
            return self._render(request, bill, language, status=400)
        result = self._page.report_problem(request.token, text, request.form.get(CSRF_FIELD, ""), request.now)
        texts = TEXTS[language]
        if result is None:
            return self._render(request, bill, language, f"{texts['feedback_refused']} {bill.hotline}", 409)
        notice = f"{texts['thanks_ticket']} {result.ticket_id}" if result.ticket_id else texts["thanks"]
        # the page again as it stands after the message (a hold does not change the amounts)
        return self._render(request, bill, language, notice)

    def receipt(self, request: BillRequest, pdf: bool = False) -> WebResponse:
        """The receipt's facts, to check a printed or forwarded receipt against (its QR leads here), or with
        `pdf` its file by a short-lived link; one 404."""
        if pdf:
            return self.receipt_pdf(request)
        if not self._limiter.allow(request.token, request.source_ip, request.now):
            return too_many()
        receipt = self._page.receipt(request.token)
        if receipt is None:
            return not_found()
        from propfee.payments.receipts import PROVIDER_NAMES, line_label, paid_at_text

        language = self._language(request)
        shown = receipt.model_copy(update={"language": language})  # labels in the reader's language
        context = {
            "receipt": receipt,
            "lines": [{"label": line_label(x, language), "amount_fen": x.amount_fen} for x in receipt.lines],
            "method": PROVIDER_NAMES[language][receipt.provider],
            "paid_at": paid_at_text(shown),
            "pdf_url": f"/r/{request.token}/pdf",
            "company_name": receipt.company,
        }
        return WebResponse(200, render_page("receipt.html.j2", language, context), headers=PERSONAL_HEADERS)

    def receipt_pdf(self, request: BillRequest) -> WebResponse:
        if not self._limiter.allow(request.token, request.source_ip, request.now):
            return too_many()
        url = self._page.receipt_download(request.token)
        if url is None:
            return not_found()
        return WebResponse(303, "", PLAIN, {**PERSONAL_HEADERS, "Location": url})

    def pay(self, request: BillRequest, provider: str) -> WebResponse:
        refused = self._checked(request)
        if refused is not None:
            return refused
        chosen = next((p for p in ProviderName if p.value == provider), None)
        if chosen is not None and checkout_kind(chosen, request.user_agent) is CheckoutKind.WECHAT_JSAPI:
            return self._to_jsapi(request, chosen)  # inside WeChat: JSAPI, which needs the payer's openid first
        try:
            checkout = self._page.pay(request.token, provider, request.user_agent, request.source_ip, request.now)
        except PaymentProviderError:
            return self._provider_down(request)
        if checkout is None:
            return not_found()
        # the bill page offers only checkouts that lead somewhere (H5, WAP); JSAPI has its page above
        return WebResponse(303, "", PLAIN, {**PERSONAL_HEADERS, "Location": checkout.redirect_url or ""})

    def _provider_down(self, request: BillRequest) -> WebResponse:
        """The provider refused the order or could not be reached: the bill again, saying to try later (503)."""
        language = self._language(request)
        bill = self._page.view(request.token, language, request.now)
        if bill is None:
            return not_found()
        return self._render(request, bill, language, f"{TEXTS[language]['pay_unavailable']} {bill.hotline}", 503)

    def _to_jsapi(self, request: BillRequest, provider: ProviderName) -> WebResponse:
        """To the official account's OAuth for the payer's openid; or, when JSAPI cannot be offered (no account,
        another app id), the bill page telling the owner to open it in the phone's browser (WeChat refuses H5)."""
        if not self._page.offers(provider) or self._page.unit_of(request.token, request.now) is None:
            return not_found()
        if self._jsapi is None or not self._jsapi.offered():
            language = self._language(request)
            bill = self._page.view(request.token, language, request.now)
            if bill is None:
                return not_found()
            return self._render(request, bill, language, TEXTS[language]["jsapi_unavailable"])
        url = self._jsapi.authorize_url(request.token, self._secret(), request.now)
        return WebResponse(303, "", PLAIN, {**PERSONAL_HEADERS, "Location": url})

    def wechat_jsapi(self, request: BillRequest) -> WebResponse:
        """Back from the OAuth (?code=&state=): the JSAPI order (the same order as every retry: its number is
        the unit's, the bills' and the attempt's) and the page that hands its parameters to WeixinJSBridge."""
        code, state = request.query.get("code", ""), request.query.get("state", "")
        if not self._limiter.allow(request.token, request.source_ip, request.now):
            return too_many()
        if self._jsapi is None or self._page.unit_of(request.token, request.now) is None:
            return not_found()
        payer = self._jsapi.payer(request.token, code, state, self._secret(), request.now)
        if payer.reason == "state":
            return WebResponse(403, "Forbidden\n", PLAIN, PERSONAL_HEADERS)
        language = self._language(request)
        bill = self._page.view(request.token, language, request.now)
        if bill is None:
            return not_found()
        if payer.openid is None:  # declined, or the code was used already (a reload): the button again
            return self._render(request, bill, language, f"{TEXTS[language]['jsapi_failed']} {bill.hotline}", 400)
        try:
            checkout = self._page.pay(
                request.token, ProviderName.WECHAT_PAY.value, request.user_agent, request.source_ip, request.now,
                openid=payer.openid,
            )  # fmt: skip
        except PaymentProviderError:  # e.g. the bill's open order was started by another WeChat user
            return self._provider_down(request)
        if checkout is None or not checkout.jsapi_params:
            return self._render(request, bill, language)  # nothing (more) to pay
        return jsapi_page(request.token, bill, dict(checkout.jsapi_params), language)

    def bind_wechat(self, request: BillRequest) -> WebResponse:
        """To WeChat's OAuth (the owner opened the page in WeChat, or scanned a letter's QR there)."""
        if not self._limiter.allow(request.token, request.source_ip, request.now):
            return too_many()
        if self._wechat is None or self._page.unit_of(request.token, request.now) is None:
            return not_found()
        url = self._wechat.authorize_url(request.token, self._secret(), request.now)
        return WebResponse(302, "", PLAIN, {**PERSONAL_HEADERS, "Location": url})

    def wechat_done(self, request: BillRequest) -> WebResponse:
        """WeChat's OAuth callback (?code=&state=): the openid stored with the unit, and the bill page saying so."""
        code, state = request.query.get("code", ""), request.query.get("state", "")
        if not self._limiter.allow(request.token, request.source_ip, request.now):
            return too_many()
        unit = self._page.unit_of(request.token, request.now) if self._wechat is not None else None
        if unit is None or self._wechat is None:
            return not_found()
        outcome = self._wechat.finish(unit, request.token, code, state, self._secret(), request.now)
        if outcome.reason == "state":
            return WebResponse(403, "Forbidden\n", PLAIN, PERSONAL_HEADERS)
        language = self._language(request)
        bill = self._page.view(request.token, language, request.now)
        if bill is None:
            return not_found()
        texts = TEXTS[language]
        if not outcome.bound:
            return self._render(request, bill, language, f"{texts['wechat_failed']} {bill.hotline}", 400)
        return self._render(request, bill, language, texts["wechat_bound"])

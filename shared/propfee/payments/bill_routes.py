"""The bill page function's routes (Powertools), each a line onto BillHttp; the handler only wires them."""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from propfee.domain import clock
from propfee.observability import logger
from propfee.payments import bill_http
from propfee.web.pages import WebResponse
from propfee.web.requests import from_http_api


def answer(page: WebResponse) -> Response:
    logger.info("bill page", extra={"status": page.status})  # never the token, the unit or the owner's text
    return Response(page.status, page.content_type, page.body, dict(page.headers))


def bill_router(pages: Callable[[], bill_http.BillHttp]) -> APIGatewayHttpRouter:
    """`pages`: the function's BillHttp, built on first use (the services, from the function's environment)."""
    router = APIGatewayHttpRouter()

    def request(token: str) -> bill_http.BillRequest:
        return bill_http.bill_request(from_http_api(router.current_event.raw_event), token, clock.now())

    @router.get("/b/<token>")
    def show_bill(token: str) -> Response:
        return answer(pages().show(request(token)))

    @router.post("/b/<token>/feedback")
    def report_problem(token: str) -> Response:
        return answer(pages().feedback(request(token)))

    @router.post("/b/<token>/pay/<provider>")
    def pay(token: str, provider: str) -> Response:
        return answer(pages().pay(request(token), provider))

    @router.get("/b/<token>/pay/wechat_pay/jsapi")
    def pay_in_wechat(token: str) -> Response:  # back from WeChat's OAuth: the JSAPI order and its page
        return answer(pages().wechat_jsapi(request(token)))

    @router.get("/b/<token>/wechat")
    def bind_wechat(token: str) -> Response:  # to WeChat's OAuth (snsapi_base)
        return answer(pages().bind_wechat(request(token)))

    @router.get("/b/<token>/wechat/done")
    def wechat_bound(token: str) -> Response:  # back from WeChat with the code
        return answer(pages().wechat_done(request(token)))

    @router.get("/r/<token>")
    @router.get("/r/<token>/pdf")
    def receipt(token: str) -> Response:  # the receipt's facts, or its PDF by a short-lived link
        return answer(pages().receipt(request(token), pdf=router.current_event.path.endswith("/pdf")))

    @router.get("/static/<name>")
    def static_file(name: str) -> Response:
        return answer(bill_http.static(name))

    return router

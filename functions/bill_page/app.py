"""bill_page (HTTP API, public): an owner's bill behind a reminder's link, paying it, its receipts; else one 404."""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from propfee.domain import clock
from propfee.observability import lambda_entry, logger
from propfee.payments import bill_http
from propfee.web.handler import refuse_large_forms
from propfee.web.requests import from_http_api
from propfee.wiring import LazyServices

app = APIGatewayHttpResolver()
services = LazyServices()


def _request(token: str) -> bill_http.BillRequest:
    return bill_http.bill_request(from_http_api(app.current_event.raw_event), token, clock.now())


def _answer(page: Any) -> Response:
    logger.info("bill page", extra={"status": page.status})  # never the token, the unit or the owner's text
    return Response(page.status, page.content_type, page.body, dict(page.headers))


@app.get("/b/<token>")
def show_bill(token: str) -> Response:
    return _answer(services().bill_http.show(_request(token)))


@app.post("/b/<token>/feedback")
def report_problem(token: str) -> Response:
    return _answer(services().bill_http.feedback(_request(token)))


@app.post("/b/<token>/pay/<provider>")
def pay(token: str, provider: str) -> Response:
    return _answer(services().bill_http.pay(_request(token), provider))


@app.get("/b/<token>/pay/wechat_pay/jsapi")
def pay_in_wechat(token: str) -> Response:  # back from WeChat's OAuth: the JSAPI order and its page
    return _answer(services().bill_http.wechat_jsapi(_request(token)))


@app.get("/b/<token>/wechat")
def bind_wechat(token: str) -> Response:  # to WeChat's OAuth (snsapi_base)
    return _answer(services().bill_http.bind_wechat(_request(token)))


@app.get("/b/<token>/wechat/done")
def wechat_bound(token: str) -> Response:  # back from WeChat with the code
    return _answer(services().bill_http.wechat_done(_request(token)))


@app.get("/r/<token>")
@app.get("/r/<token>/pdf")
def receipt(token: str) -> Response:  # the receipt's facts, or its PDF by a short-lived link
    return _answer(services().bill_http.receipt(_request(token), pdf=app.current_event.path.endswith("/pdf")))


@app.get("/static/<name>")
def static_file(name: str) -> Response:
    return _answer(bill_http.static(name))


refuse_large_forms(app, _answer)


@app.not_found
def unknown_route(_error: Exception) -> Response:
    return _answer(bill_http.not_found())


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

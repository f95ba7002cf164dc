"""console (HTTP API): the staff console; sign-in public, the rest behind the StaffJwt authorizer (403 outside)."""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from propfee.console import http
from propfee.console.masking import loggable_request
from propfee.domain import clock
from propfee.observability import lambda_entry, logger
from propfee.web.handler import refuse_large_forms
from propfee.wiring import LazyServices

app = APIGatewayHttpResolver()
services = LazyServices()


def _request() -> http.ConsoleRequest:
    return http.console_request(app.current_event.raw_event, clock.now())


def _answer(page: Any) -> Response:
    # the route, the caller's opaque sub and groups, the status: never a token, a password, a phone or a note
    logger.info("console", extra={**loggable_request(app.current_event.raw_event), "status": page.status})
    return Response(page.status, page.content_type, page.body, dict(page.headers))


@app.get("/console")
def shell() -> Response:
    return _answer(services().console_http.shell(_request()))


@app.get("/console/sign-in")
def sign_in_page() -> Response:
    return _answer(services().console_http.sign_in_page(_request()))


@app.post("/console/sign-in")
def sign_in() -> Response:
    return _answer(services().console_http.sign_in(_request()))


@app.get("/console/tasks")
def tasks() -> Response:
    return _answer(services().console_http.tasks(_request()))


@app.get("/console/tasks/<task_id>")
def task(task_id: str) -> Response:
    return _answer(services().console_http.task(_request(), task_id))


@app.post("/console/tasks/<task_id>/outcome")
def outcome(task_id: str) -> Response:
    return _answer(services().console_http.outcome(_request(), task_id))


refuse_large_forms(app, _answer)


@app.not_found
def unknown_route(_error: Exception) -> Response:
    return _answer(http.not_found())


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

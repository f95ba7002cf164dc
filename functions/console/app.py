"""console (HTTP API): the staff console; sign-in public, the rest behind the StaffJwt authorizer (403 outside)."""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from aws_lambda_powertools.utilities.typing import LambdaContext

from propfee.console import http
from propfee.console.masking import loggable_request
from propfee.domain import clock
from propfee.observability import lambda_entry, logger
from propfee.web.handler import refuse_large_forms
from propfee.wiring import LazyServices

app = APIGatewayHttpResolver()
services = LazyServices()


def _answer(page: Any) -> Response:
    # the route, the caller's opaque sub and groups, the status: never a token, a password, a phone or a note
    logger.info("console", extra={**loggable_request(app.current_event.raw_event), "status": page.status})
    cookies = [Cookie(name, value, path=path, secure=True, http_only=True, max_age=age, same_site=SameSite.STRICT_MODE)
               for name, value, path, age in page.cookies]  # fmt: skip
    return Response(page.status, page.content_type, page.body, dict(page.headers), cookies=cookies)


def _page(name: str) -> Callable[..., Response]:
    def answer(**path: str) -> Response:
        request = http.console_request(app.current_event.raw_event, clock.now())
        return _answer(getattr(services().console_http, name)(request, *path.values()))

    return answer


for method, path, name in http.ROUTES:
    app.route(path, method)(_page(name))


refuse_large_forms(app, _answer)


@app.not_found
def unknown_route(_error: Exception) -> Response:
    return _answer(http.not_found())


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

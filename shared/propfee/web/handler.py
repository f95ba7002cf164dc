"""What every page function's Powertools app shares: a form too large refused whole with 413."""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from propfee.web.pages import WebResponse
from propfee.web.requests import TOO_LARGE_BODY, FormTooLarge

TOO_LARGE = WebResponse(413, TOO_LARGE_BODY, "text/plain; charset=utf-8", {"Cache-Control": "no-store"})


def refuse_large_forms(app: APIGatewayHttpResolver, answer: Callable[[WebResponse], Response]) -> None:
    """A request whose form is past web.requests.MAX_FORM_BYTES gets TOO_LARGE, answered (and logged) as the
    function answers its pages."""

    def too_large(_error: FormTooLarge) -> Response:
        return answer(TOO_LARGE)

    app.exception_handler(FormTooLarge)(too_large)

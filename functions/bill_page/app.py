"""bill_page (HTTP API, public): an owner's bill behind a reminder's link, paying it, its receipts; else one 404."""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from propfee.observability import lambda_entry
from propfee.payments import bill_http
from propfee.payments.bill_routes import answer, bill_router
from propfee.web.handler import refuse_large_forms
from propfee.wiring import LazyServices

services = LazyServices()
app = APIGatewayHttpResolver()
app.include_router(bill_router(lambda: services().bill_http))
refuse_large_forms(app, answer)


@app.not_found
def unknown_route(_error: Exception) -> Response:
    return answer(bill_http.not_found())


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

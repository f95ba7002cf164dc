"""sms_callbacks: Aliyun's and Tencent's pushed receipts and replies (HTTP API, payload 2.0), behind the deploy's
callback token; each item recorded or received, the unreadable and the unmatched rejected with their reason. And
the WeChat official account's server URL: its check, owners' messages and send-finish events, signed (safe mode)."""

import base64
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from propfee.domain import clock
from propfee.feedback.sms_callbacks import answer_route, pull_tencent
from propfee.feedback.wechat_callbacks import PLAIN, answer_wechat
from propfee.observability import lambda_entry, logger, metrics
from propfee.wiring import LazyServices

services = LazyServices()
app = APIGatewayHttpResolver()


def _body() -> str:
    event = app.current_event
    return base64.b64decode(event.body or "").decode() if event.is_base64_encoded else (event.body or "")


@app.post("/sms/<provider>/<token>/<kind>")
def push(provider: str, token: str, kind: str) -> Response[Any]:
    status, answer, tally = answer_route(provider, kind, token, _body(), clock.now(), services().sms_callbacks)
    metrics.add_metric(name="SmsCallback_refused" if status != 200 else "SmsCallback_accepted", unit="Count", value=1)
    logger.info("sms callback", extra={"provider": provider, "kind": kind, "status": status, **tally})
    return Response(status_code=status, content_type="application/json", body=answer)


@app.get("/wechat/callback")
@app.post("/wechat/callback")
def wechat() -> Response[Any]:
    event = app.current_event
    query = dict(event.query_string_parameters or {})
    status, answer, tally = answer_wechat(event.http_method, query, _body(), clock.now(), services().wechat_callbacks)
    logger.info("wechat push", extra={"status": status, **tally})
    return Response(status_code=status, content_type=PLAIN, body=answer)


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "pull" in event:  # the hourly schedule: Tencent's pull APIs, the fallback for pushes that never came
        puller = services().sms_callbacks.tencent()
        return dict(pull_tencent(puller, services().sms_callbacks, clock.now())) if puller else {}
    return app.resolve(event, context)

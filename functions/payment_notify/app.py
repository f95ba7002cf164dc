"""payment_notify: WeChat Pay's and Alipay's notifications (HTTP API 2.0), verified first, applied exactly once."""

import base64
import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from propfee.domain import clock
from propfee.observability import lambda_entry, metrics
from propfee.payments.notifications import accept_notification
from propfee.payments.ports import ProviderName
from propfee.wiring import LazyServices

services = LazyServices()
app = APIGatewayHttpResolver()


def _accepted(provider: ProviderName) -> bool:
    # the signature covers the body's exact bytes, which API Gateway may have base64-encoded
    event, svc = app.current_event, services()
    body = base64.b64decode(event.body or "") if event.is_base64_encoded else (event.body or "").encode()
    handled = accept_notification(
        svc.payment_provider(provider),
        svc.payments_table,
        dict(event.headers or {}),
        body,
        clock.now(),
        svc.settings.tz,
        svc.payment_effects,
    )
    metrics.add_metric(name=f"PaymentNotification_{handled.outcome if handled else 'refused'}", unit="Count", value=1)
    return handled is not None


@app.post("/notify/wechat_pay")
def wechat_pay() -> Response[str]:
    if _accepted(ProviderName.WECHAT_PAY):
        return Response(status_code=204, body="")
    failure = json.dumps({"code": "FAIL", "message": "rejected"})  # WeChat Pay re-sends after a 4xx/5xx
    return Response(status_code=400, content_type="application/json", body=failure)


@app.post("/notify/alipay")
def alipay() -> Response[str]:
    ok = _accepted(ProviderName.ALIPAY)  # Alipay reads only the body: exactly "success" stops its re-sends
    return Response(status_code=200, content_type="text/plain", body="success" if ok else "failure")


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

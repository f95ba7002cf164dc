"""Lambda: the payload of an asynchronous invocation (moto's module name: `lambda` is a keyword)."""

from __future__ import annotations

import functools
import json
from typing import Any

# Lambda API reference, Invoke: "For asynchronous invocations, the maximum payload size is 1 MB."
# (256 KB before 2025, still the InvokeAsync limit.) Error RequestTooLargeException, 413.
LAMBDA_MAX_ASYNC_PAYLOAD_BYTES = 1_048_576


def async_payload_too_large(payload: bytes | str | None) -> bool:
    size = len(payload.encode() if isinstance(payload, str) else payload or b"")
    return size > LAMBDA_MAX_ASYNC_PAYLOAD_BYTES


def install() -> None:
    from moto.awslambda.responses import LambdaResponse

    original = LambdaResponse.invoke

    @functools.wraps(original)
    def invoke(self: Any) -> Any:
        invocation_type = {k.lower(): v for k, v in dict(self.headers).items()}.get("x-amz-invocation-type")
        body = self.body if isinstance(self.body, bytes | str) else b""
        if invocation_type == "Event" and async_payload_too_large(body):
            size = len(body.encode() if isinstance(body, str) else body)
            message = (
                f"Request must be smaller than {LAMBDA_MAX_ASYNC_PAYLOAD_BYTES} bytes for the InvokeFunction "
                f"operation (the request was {size} bytes)"
            )
            headers = {
                "status": 413,
                "x-amzn-ErrorType": "RequestTooLargeException",
                "Content-Type": "application/json",
            }
            return 413, headers, json.dumps({"Type": "User", "message": message})
        return original(self)

    LambdaResponse.invoke = invoke  # type: ignore[method-assign]

"""Lambda: the morning plan starts one asynchronous run of the plan function per community."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from propfee.aws.clients import client
from propfee.domain.models import PlanRequest


class FanOutError(Exception):
    pass


class LambdaFanOut:
    """Each request becomes an asynchronous invocation (InvocationType Event) of `function_name`: Lambda keeps it in
    its own queue until the function's reserved concurrency has room, retries a failed run twice and then keeps its
    event in the function's dead-letter queue. No queue is polled, and paid for, between mornings."""

    def __init__(self, function_name: str, lam: Any | None = None) -> None:
        self._function_name = function_name
        self._lambda = lam

    @property
    def lam(self) -> Any:
        return self._lambda if self._lambda is not None else client("lambda")

    def start(self, requests: Sequence[PlanRequest]) -> int:
        for request in requests:
            response = self.lam.invoke(
                FunctionName=self._function_name, InvocationType="Event", Payload=request.model_dump_json().encode()
            )
            if response.get("StatusCode") != 202:  # Lambda accepts an asynchronous event with 202, or raises
                raise FanOutError(f"Lambda did not take the plan of {request.community_id}: {response}")
        return len(requests)

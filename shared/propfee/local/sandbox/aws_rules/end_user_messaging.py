"""End User Messaging SMS (pinpoint-sms-voice-v2), which moto lacks: requests are checked on the client against
the service model's constraints."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from propfee.local.sandbox.aws_rules.common import constraint_problem

# services moto does not implement, whose requests the sandbox checks before they leave the client
CLIENT_CHECKED_SERVICES = frozenset({"pinpoint-sms-voice-v2"})


def _refuse_invalid_request(params: dict[str, Any], model: Any, **_: Any) -> None:
    problem = constraint_problem(model.input_shape, "", params) if model.input_shape is not None else None
    if problem:
        # the service's answer: ValidationException, 400, with the reason its API reference lists
        response: Any = {
            "Error": {"Code": "ValidationException", "Message": problem},
            "Reason": "FIELD_VALIDATION_FAILED",
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
        raise ClientError(response, model.name)


def check_client(client: Any) -> Any:
    """Make a client of a service moto lacks (End User Messaging SMS) refuse, as the service would, a request that
    breaks the API reference's constraints; also works on a client wrapped by botocore's Stubber. Returns it."""
    service = client.meta.service_model.service_name
    if service in CLIENT_CHECKED_SERVICES:
        # the node botocore's Stubber uses, and first in it: a Stubber's own checks would otherwise run first
        client.meta.events.register_first(
            "before-parameter-build.*.*", _refuse_invalid_request, unique_id="propfee-aws-rules"
        )
    return client

"""What the sandbox hooks on every boto3 client made while it runs: the calls counted per function (the
benchmark's AWS calls per action), a function's table calls checked against its role as IAM would (sandbox.iam),
the checks of services moto lacks (aws_rules), and Lambda's answer to an asynchronous Invoke, whose event the
sandbox runs when it drains (moto would need Docker)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders

from propfee.local.sandbox import aws_rules, iam
from propfee.local.sandbox.runtime import current_function
from propfee.local.sandbox.stack import ACCOUNT, REGION

if TYPE_CHECKING:
    from propfee.local.sandbox.sandbox import Sandbox


class ClientHooks:
    """`observe` is a client observer (propfee.aws.clients.client_observers) while the sandbox runs."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def observe(self, made: Any) -> None:
        service = made.meta.service_model.service_name

        def count(model: Any, **_: Any) -> None:
            function = current_function.get()
            if function is not None:
                self.sandbox.function_calls[(function, f"{service}:{model.name}")] += 1

        made.meta.events.register("before-call.*.*", count)
        aws_rules.check_client(made)  # services moto lacks (End User Messaging SMS) refuse what AWS refuses
        if service == "dynamodb":
            made.meta.events.register("before-parameter-build.dynamodb", self._authorize_table_call)
        if service == "lambda":
            made.meta.events.register("before-parameter-build.lambda.Invoke", self._note_invoke)
            made.meta.events.register("before-call.lambda.Invoke", self._accept_event)

    def _authorize_table_call(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        """Refuse, as IAM would, a function's table call that its role does not allow (sandbox.iam)."""
        role = self.sandbox.function_roles.get(current_function.get() or "")
        if role is None:  # the sandbox's own plumbing, a test or the CLI: an operator's credentials
            return
        caller, statements = role
        for request in iam.table_requests(model.name, params, self._table_arn):
            if not iam.is_allowed(statements, request):
                raise iam.refuse(model.name, caller, request)

    @staticmethod
    def _table_arn(name: str) -> str:
        return name if name.startswith("arn:") else f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"

    @staticmethod
    def _note_invoke(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["propfee_invoke"] = dict(params)

    def _accept_event(self, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        """Lambda's answer to an asynchronous invocation (202, the event queued), without moto, which would
        need Docker to run it: the sandbox runs the event when it drains."""
        params = context.get("propfee_invoke", {})
        if params.get("InvocationType") != "Event":
            return None
        name = params["FunctionName"]
        target = next((f.logical_id for f in self.sandbox.functions.values() if name in (f.name, f.arn)), None)
        if target is None:
            raise RuntimeError(f"the sandbox has no function {name!r} to invoke")
        payload = params.get("Payload") or b"{}"
        if aws_rules.async_payload_too_large(payload):
            return None  # moto's server refuses it as Lambda does (RequestTooLargeException)
        self.sandbox._invocations_pending.append((target, json.loads(payload)))
        return AWSResponse(self.sandbox.endpoint, 202, HTTPHeaders(), None), {"StatusCode": 202}

"""The staff's user pool in the sandbox: moto's CloudFormation creates no AWS::Cognito::* resource, so these create
them from the template's own properties with the cognito-idp API; and moto's tokens are dated by the simulated
clock, so that a token expires in the sandbox's time as it does in Cognito's."""

from __future__ import annotations

import types
from typing import TYPE_CHECKING, Any

from propfee.domain import clock

if TYPE_CHECKING:
    from propfee.local.sandbox.sandbox import Sandbox

# CloudFormation property -> CreateUserPool parameter, where they differ; EnabledMfas is a call of its own
_POOL_PARAMETERS = {"UserPoolName": "PoolName", "UserPoolTags": "UserPoolTags"}


def create_user_pool(sandbox: Sandbox, logical_id: str, props: dict[str, Any]) -> None:
    parameters = {_POOL_PARAMETERS.get(k, k): v for k, v in props.items() if k != "EnabledMfas"}
    idp = sandbox.client("cognito-idp")
    pool_id = idp.create_user_pool(**parameters)["UserPool"]["Id"]
    if "SOFTWARE_TOKEN_MFA" in props.get("EnabledMfas", ()):
        idp.set_user_pool_mfa_config(
            UserPoolId=pool_id,
            SoftwareTokenMfaConfiguration={"Enabled": True},
            MfaConfiguration=props.get("MfaConfiguration", "OFF"),
        )
    sandbox.resources[logical_id] = pool_id  # Ref of a user pool is its id


def create_user_pool_client(sandbox: Sandbox, logical_id: str, props: dict[str, Any]) -> None:
    made = sandbox.client("cognito-idp").create_user_pool_client(**props)
    sandbox.resources[logical_id] = made["UserPoolClient"]["ClientId"]  # Ref of a client is its id


def create_user_pool_group(sandbox: Sandbox, logical_id: str, props: dict[str, Any]) -> None:
    sandbox.client("cognito-idp").create_group(**props)
    sandbox.resources[logical_id] = props["GroupName"]


def date_tokens_by_simulated_clock() -> None:
    """moto stamps iat/exp with time.time(): give its Cognito module a `time` whose time() is the installed clock's
    (the sandbox's simulated one while it runs). The rest of the time module is the real one."""
    from moto.cognitoidp import models

    if getattr(models.time, "propfee_simulated", False):
        return
    real = models.time
    shim = types.SimpleNamespace(**{name: getattr(real, name) for name in dir(real) if not name.startswith("__")})
    shim.time = lambda: clock.now().timestamp()
    shim.propfee_simulated = True
    models.time = shim  # type: ignore[assignment]


# Cognito API reference, CreateUserPoolClient, ExplicitAuthFlows: "If you don't specify a value, your user client
# supports ALLOW_REFRESH_TOKEN_AUTH, ALLOW_USER_SRP_AUTH, and ALLOW_CUSTOM_AUTH."
DEFAULT_AUTH_FLOWS = ("ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH")


def refuse_auth_flows_the_client_does_not_allow() -> None:
    """moto signs in with any flow; Cognito answers InvalidParameterException "<flow> flow not enabled for this
    client" unless the client's ExplicitAuthFlows allow it (so a sign-in that works here works in the cloud)."""
    from moto.cognitoidp.exceptions import InvalidParameterException
    from moto.cognitoidp.models import CognitoIdpBackend

    if getattr(CognitoIdpBackend.initiate_auth, "propfee_checked", False):
        return
    original = CognitoIdpBackend.initiate_auth

    def initiate_auth(self: Any, client_id: str, auth_flow: str, auth_parameters: dict[str, str]) -> Any:
        client = next((p.clients[client_id] for p in self.user_pools.values() if client_id in p.clients), None)
        if client is not None:
            allowed = client.extended_config.get("ExplicitAuthFlows") or DEFAULT_AUTH_FLOWS
            wanted = "ALLOW_REFRESH_TOKEN_AUTH" if auth_flow == "REFRESH_TOKEN" else f"ALLOW_{auth_flow}"
            if wanted not in allowed:
                raise InvalidParameterException(f"{auth_flow} flow not enabled for this client")
        return original(self, client_id, auth_flow, auth_parameters)

    initiate_auth.propfee_checked = True  # type: ignore[attr-defined]
    CognitoIdpBackend.initiate_auth = initiate_auth  # type: ignore[method-assign]

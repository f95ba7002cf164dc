"""The staff's user pool in the sandbox: moto's CloudFormation creates no AWS::Cognito::* resource, so these create
them from the template's own properties with the cognito-idp API; and moto's tokens are dated by the simulated
clock, so that a token expires in the sandbox's time as it does in Cognito's; and RevokeToken, which moto lacks."""

from __future__ import annotations

import base64
import json
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


def revoke_refresh_tokens() -> None:
    """moto has no RevokeToken: Cognito's answer, so that a signed-out refresh token is refused here as in the cloud
    (REFRESH_TOKEN_AUTH then answers NotAuthorizedException "Refresh Token has been revoked"). As Cognito does: a
    token of another client is UnauthorizedException, a client without EnableTokenRevocation
    UnsupportedOperationException, an unknown or already revoked token is accepted (RFC 7009); the access tokens
    the refresh token issued stop working too."""
    from moto.cognitoidp.exceptions import ResourceNotFoundError
    from moto.cognitoidp.models import CognitoIdpBackend
    from moto.cognitoidp.responses import CognitoIdpResponse
    from moto.core.exceptions import JsonRESTError

    if hasattr(CognitoIdpBackend, "revoke_token"):
        return

    def revoke_token(self: Any, token: str, client_id: str) -> None:
        pool = next((p for p in self.user_pools.values() if client_id in p.clients), None)
        if pool is None:
            raise ResourceNotFoundError(client_id)
        if pool.clients[client_id].extended_config.get("EnableTokenRevocation") is False:
            raise JsonRESTError("UnsupportedOperationException", "Token revocation is not enabled for this client")
        issued = pool.refresh_tokens.get(token)
        if issued is None:
            return
        issued_to, username, origin_jti = issued
        if issued_to != client_id:
            raise JsonRESTError("UnauthorizedException", "Invalid client for this token")
        pool.refresh_tokens[token] = None
        for access_token, (_client, holder) in list(pool.access_tokens.items()):
            if holder == username and origin_jti and _origin_jti(access_token) == origin_jti:
                pool.access_tokens.pop(access_token)

    def respond(self: Any) -> Any:
        from moto.core.responses import EmptyResult

        # unsigned, as InitiateAuth: the region is the client's (moto's RegionAgnosticBackend finds it)
        client_id = self._get_param("ClientId")
        self._get_region_agnostic_backend()._find_backend_for_clientid(client_id).revoke_token(
            self._get_param("Token"), client_id
        )
        return EmptyResult()

    CognitoIdpBackend.revoke_token = revoke_token  # type: ignore[attr-defined]
    CognitoIdpResponse.revoke_token = respond  # type: ignore[attr-defined]


def _origin_jti(token: str) -> str:
    try:
        payload = token.split(".")[1]
        return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))).get("origin_jti", ""))
    except (IndexError, ValueError):
        return ""

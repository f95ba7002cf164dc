"""What the HTTP API's JWT authorizer does in the cloud, for the sandbox's local HTTP server: take the token from the
identity source (the Authorization header, a "Bearer " prefix allowed), verify its RS256 signature against the user
pool's JWKS, its issuer, its audience (`aud` of an id token, `client_id` of an access token), exp, nbf and iat
against the simulated clock, and its token_use; then put its claims into the payload-2.0 event as API Gateway does
(every value a string, an array "[a b]"), or answer 401 {"message":"Unauthorized"}.

Entry point: `JwtAuthorizer.for_sandbox(sandbox).authorize(event)` -> the event to pass on, or the 401 response.
moto signs every pool's tokens with one key and serves that JWKS under any pool id: a token of another pool is
refused by its issuer, as a different pool's key would refuse it in the cloud.
"""

from __future__ import annotations

import copy
import json
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import jwt

from propfee.domain import clock

if TYPE_CHECKING:
    from propfee.local.sandbox.sandbox import Sandbox

UNAUTHORIZED: dict[str, Any] = {  # API Gateway's answer when the authorizer refuses
    "statusCode": 401,
    "headers": {"content-type": "application/json", "www-authenticate": 'Bearer error="invalid_token"'},
    "body": json.dumps({"message": "Unauthorized"}),
    "isBase64Encoded": False,
}
ACCEPTED_TOKEN_USES = ("id", "access")  # Cognito's refresh tokens are no JWTs


class TokenRefused(Exception):
    """Why a token was refused (for the sandbox's own log and the tests; the caller only sees 401)."""


def claim_as_string(value: Any) -> str:
    """A claim as API Gateway passes it to the integration: text as is, numbers and booleans as JSON writes them,
    an array as "[a b]"."""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return "[" + " ".join(claim_as_string(v) for v in value) + "]"
    return json.dumps(value, separators=(",", ":"))


@dataclass
class JwtAuthorizer:
    """One HTTP API JWT authorizer: its issuer, its audience (the app client ids) and where the issuer's keys are."""

    issuer: str
    audience: Sequence[str]
    jwks: Callable[[], Mapping[str, Any]]
    now: Callable[[], datetime] = clock.now
    token_uses: Sequence[str] = ACCEPTED_TOKEN_USES

    @classmethod
    def for_sandbox(cls, sandbox: Sandbox, audience: Sequence[str] | None = None) -> JwtAuthorizer:
        """The authorizer the template's console API would have: issuer the staff pool, audience its client; the keys
        from the moto server's `/<pool id>/.well-known/jwks.json` (fetched once)."""
        pool_id = sandbox.outputs["StaffUserPoolId"]
        region = pool_id.split("_", 1)[0]
        url = f"{sandbox.endpoint}/{pool_id}/.well-known/jwks.json"
        cached: dict[str, Any] = {}

        def fetch() -> Mapping[str, Any]:
            if not cached:
                # the sandbox's own loopback moto server
                with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310  # nosec B310
                    cached.update(json.load(response))
            return cached

        return cls(
            issuer=f"https://cognito-idp.{region}.amazonaws.com/{pool_id}",
            audience=tuple(audience or (sandbox.outputs["StaffUserPoolClientId"],)),
            jwks=fetch,
            now=sandbox.clock.now,
        )

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or TokenRefused."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise TokenRefused(f"not a JWT: {error}") from None
        if header.get("alg") != "RS256":
            raise TokenRefused(f"algorithm {header.get('alg')!r} is not RS256")
        keys = [k for k in self.jwks().get("keys", []) if k.get("kid") == header.get("kid")]
        if not keys:
            raise TokenRefused("no key of the issuer has the token's kid")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                jwt.PyJWK.from_dict(keys[0]).key,
                algorithms=["RS256"],
                # times are checked below, on the sandbox's clock (PyJWT would use the wall clock)
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False},
            )
        except jwt.PyJWTError as error:
            raise TokenRefused(f"signature: {error}") from None
        if claims.get("iss") != self.issuer:
            raise TokenRefused("issuer is not the authorizer's")
        use = claims.get("token_use")
        if use not in self.token_uses:
            raise TokenRefused(f"token_use {use!r} is not accepted")
        # an id token names its client in aud, an access token in client_id
        audience = claims.get("client_id") if use == "access" else claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if not set(audiences) & set(self.audience):
            raise TokenRefused("audience is not the authorizer's")
        now = self.now().timestamp()
        if not isinstance(claims.get("exp"), int | float) or claims["exp"] <= now:
            raise TokenRefused("expired")
        if isinstance(claims.get("nbf"), int | float) and claims["nbf"] > now:
            raise TokenRefused("not valid yet (nbf)")
        if isinstance(claims.get("iat"), int | float) and claims["iat"] > now:
            raise TokenRefused("issued in the future (iat)")
        return claims

    def authorize(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """A payload-2.0 event in; the event with `requestContext.authorizer.jwt` (claims and scopes) out, or the
        401 response API Gateway gives instead of calling the integration (tell them apart by "statusCode")."""
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        token = str(headers.get("authorization") or "").strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        if not token:
            return copy.deepcopy(UNAUTHORIZED)
        try:
            claims = self.verify(token)
        except TokenRefused:
            return copy.deepcopy(UNAUTHORIZED)
        scope = claims.get("scope")
        authorized = copy.deepcopy(dict(event))
        authorized.setdefault("requestContext", {})["authorizer"] = {
            "jwt": {
                "claims": {name: claim_as_string(value) for name, value in claims.items()},
                "scopes": str(scope).split() if scope else None,
            }
        }
        return authorized

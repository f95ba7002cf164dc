"""Who is signed in: the claims an API Gateway HTTP API JWT authorizer puts into the event, made a StaffPrincipal.

The authorizer (in the cloud API Gateway's, in the sandbox local.sandbox.jwt_authorizer) has already checked the
token's signature, issuer, audience and expiry; this module only reads what it passed on. HTTP API hands every claim
over as a string, an array claim such as `cognito:groups` as a bracketed, space-separated one ("[collector finance]").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from propfee.console.permissions import Role, StaffMember, StaffRecord


class Unauthenticated(Exception):
    """The event carries no verified identity (no authorizer, or a token without a subject): answer 401."""

    status = 401


@dataclass(frozen=True)
class StaffPrincipal:
    """The signed-in person as the token says: Cognito's user id (`sub`), sign-in name, email and groups."""

    sub: str
    username: str
    email: str
    groups: frozenset[str]
    token_use: str

    @property
    def roles(self) -> frozenset[Role]:
        """The groups that are console roles (other groups a pool may hold grant nothing here)."""
        return frozenset(Role(g) for g in self.groups if g in Role.__members__.values())

    def log_fields(self) -> dict[str, Any]:
        """What a log line may say of the person: the opaque Cognito id and the roles, never the email."""
        return {"staff_sub": self.sub, "staff_roles": sorted(self.roles)}


def parse_groups(value: Any) -> frozenset[str]:
    """`cognito:groups` as it arrives: HTTP API's "[a b]", a JSON array text, or a list (a REST API or a test)."""
    if value is None or value == "":
        return frozenset()
    if isinstance(value, list | tuple):
        return frozenset(str(v) for v in value if str(v))
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return frozenset(str(v) for v in parsed if str(v))
        text = text[1:-1]
    return frozenset(part for part in text.replace(",", " ").split() if part)


def principal_from_claims(claims: Mapping[str, Any]) -> StaffPrincipal:
    sub = str(claims.get("sub") or "")
    if not sub:
        raise Unauthenticated("the token names no subject")
    token_use = str(claims.get("token_use") or "")
    # an id token names the user in cognito:username, an access token in username
    username = str(claims.get("cognito:username") or claims.get("username") or sub)
    return StaffPrincipal(
        sub=sub,
        username=username,
        email=str(claims.get("email") or ""),
        groups=parse_groups(claims.get("cognito:groups")),
        token_use=token_use,
    )


def principal_from_event(event: Mapping[str, Any]) -> StaffPrincipal:
    """The principal of an HTTP API (payload format 2.0) event: `requestContext.authorizer.jwt.claims`."""
    claims = (((event.get("requestContext") or {}).get("authorizer") or {}).get("jwt") or {}).get("claims")
    if not isinstance(claims, Mapping):
        raise Unauthenticated("the request passed no JWT authorizer")
    return principal_from_claims(claims)


def staff_member(principal: StaffPrincipal, record: StaffRecord | None) -> StaffMember:
    """What the console decides with: the roles from the token (Cognito's groups are the authority, so removing a
    user from a group takes effect at their next token) and the assignments from the staff record. No record: no
    communities, departments or tasks (a company admin still sees everything)."""
    return StaffMember(
        sub=principal.sub,
        email=principal.email,
        roles=principal.roles,
        communities=record.communities if record else frozenset(),
        departments=record.departments if record else frozenset(),
        collector_id=record.collector_id if record else None,
    )

"""What a console page may show of an owner: a number in full only where the role must dial it, names in full
only to the people working the case; everything else masked (PIPL: the least personal data for the purpose)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from propfee.console.permissions import Role, StaffMember
from propfee.domain.models import Task
from propfee.observability import mask_email, mask_phone, mask_text


def phone_for(member: StaffMember, phone: str | None, *, task: Task | None = None) -> str:
    """The number in full only for the collector of the task being worked (the tel: link they tap); masked for
    everyone else, the admin included: the others reach an owner through the send path, never by hand."""
    if not phone:
        return ""
    if task is not None and member.collects(task):
        return phone
    return mask_phone(phone)


def email_for(member: StaffMember, address: str | None, *, task: Task | None = None) -> str:
    if not address:
        return ""
    if task is not None and member.collects(task):
        return address
    return mask_email(address)


def mask_name(name: str) -> str:
    """'张三丰' -> '张**', 'Li Wei' -> 'L*****': the first character tells the case apart, no more."""
    name = name.strip()
    return name[:1] + "*" * (len(name) - 1) if name else ""


def name_for(member: StaffMember, name: str, community_id: str) -> str:
    """An owner's name in full for the people who speak to them (the admin, the community's manager, clerks and
    collectors on their own cases, whose pages are already scoped by the policies); finance sees money, not
    people, and gets it masked."""
    if member.is_admin or member.manages(community_id) or member.has(Role.COLLECTOR, Role.DEPARTMENT_CLERK):
        return name
    return mask_name(name)


# a request's parts that carry credentials or a person: never in a log line
_SECRET_HEADERS = frozenset({"authorization", "cookie", "x-csrf-token", "x-amz-security-token"})
_CLAIMS_FOR_LOGS = ("sub", "cognito:groups", "token_use")


def loggable_request(event: Mapping[str, Any]) -> dict[str, Any]:
    """What a console function may log of an HTTP API event: the route, method, path and query with phone numbers
    masked, the caller by opaque sub and groups; no token, cookie, CSRF token, email, form body or source IP."""
    context = event.get("requestContext") or {}
    claims = ((context.get("authorizer") or {}).get("jwt") or {}).get("claims") or {}
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    return {
        "route": event.get("routeKey"),
        "method": (context.get("http") or {}).get("method"),
        "path": mask_text(str(event.get("rawPath") or "")),
        "query": mask_text(str(event.get("rawQueryString") or "")),
        "request_id": context.get("requestId"),
        "staff": {name: claims[name] for name in _CLAIMS_FOR_LOGS if name in claims},
        "headers": sorted(h for h in headers if h not in _SECRET_HEADERS),  # which, never their values
        "body_bytes": len(str(event.get("body") or "")),
    }

"""The console's pages' common parts: the request as a route sees it, the plain answers (401, 403, 404), and a
template rendered in the reader's language with the console's headers (CSP, no-store)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from propfee.console.auth import StaffPrincipal, Unauthenticated, principal_from_event
from propfee.console.texts import CONSOLE_TEXTS
from propfee.web.pages import WebResponse, choose_language, environment
from propfee.web.requests import HttpRequest, from_http_api
from propfee.web.security import PERSONAL_HEADERS

PLAIN = "text/plain; charset=utf-8"
# the bill page's policy, with htmx's requests to this origin (connect-src) and forms posting here only
CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
CONSOLE_HEADERS = {**PERSONAL_HEADERS, "Content-Security-Policy": CONSOLE_CSP}


@dataclass(frozen=True)
class ConsoleRequest:
    http: HttpRequest
    now: datetime
    principal: StaffPrincipal | None = None  # None: the route is public, or no authorizer passed claims

    @property
    def language(self) -> str:
        chosen = self.http.query.get("lang") or self.http.form.get("lang")
        return choose_language(self.http.headers.get("accept-language"), chosen)


def console_request(event: Mapping[str, Any], now: datetime) -> ConsoleRequest:
    try:
        principal: StaffPrincipal | None = principal_from_event(event)
    except Unauthenticated:
        principal = None
    return ConsoleRequest(from_http_api(event), now, principal)


def plain(status: int, text: str) -> WebResponse:
    return WebResponse(status, text, PLAIN, CONSOLE_HEADERS)


def unauthorized() -> WebResponse:
    return plain(401, "Unauthorized\n")


def forbidden() -> WebResponse:
    # the same words whatever the reason: the page does not tell who may see what
    return plain(403, "Forbidden\n")


def not_found() -> WebResponse:
    return plain(404, "Not Found\n")


def render(name: str, language: str, context: dict[str, Any], status: int = 200) -> WebResponse:
    texts = CONSOLE_TEXTS[language]
    other = "en" if language == "zh-CN" else "zh-CN"
    html = environment().get_template(name).render({**context, "lang": language, "other_lang": other, "t": texts})
    return WebResponse(status, html, headers=CONSOLE_HEADERS)


def parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def bad_request() -> WebResponse:
    return plain(400, "Bad Request\n")

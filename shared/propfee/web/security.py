"""What every page answers with: security headers, signed CSRF tokens for forms, and the one plain 404."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

# no inline script or style, nothing from elsewhere: the pages load their own /static files only; a form may lead
# (by its redirect) to the cashiers and, inside WeChat, to the official account's OAuth before WeChat Pay JSAPI
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self' "
    "https://openapi.alipay.com https://wx.tenpay.com https://open.weixin.qq.com; base-uri 'none'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the token is in the path: never hand it to another site
    "X-Frame-Options": "DENY",
    "Strict-Transport-Security": "max-age=31536000",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
# an owner's bill is personal: no browser or proxy keeps a copy
PERSONAL_HEADERS = {**SECURITY_HEADERS, "Cache-Control": "no-store", "Pragma": "no-cache"}


def with_form_targets(headers: dict[str, str], origins: tuple[str, ...]) -> dict[str, str]:
    """The headers with more origins a form may be sent on to (the sandbox's provider emulators on 127.0.0.1: a
    browser refuses a pay button's redirect to an origin form-action does not name)."""
    if not origins:
        return headers
    policy = headers["Content-Security-Policy"].replace("form-action 'self'", "form-action 'self' " + " ".join(origins))
    return {**headers, "Content-Security-Policy": policy}


STATIC_HEADERS = {**SECURITY_HEADERS, "Cache-Control": "public, max-age=86400"}
CSRF_FIELD = "csrf"
CSRF_LIFETIME = timedelta(hours=2)


class CsrfRefused(Exception):
    """A form without a valid token for this page (forged elsewhere, expired or tampered)."""


def _sign(secret: bytes, subject: str, issued: int, nonce: str) -> str:
    message = f"{subject}|{issued}|{nonce}".encode()
    return base64.urlsafe_b64encode(hmac.new(secret, message, hashlib.sha256).digest()).decode().rstrip("=")


def csrf_token(secret: bytes, subject: str, now: datetime) -> str:
    """A token bound to one subject (a bill link's token, a staff session) and a time, signed with the secret
    from Secrets Manager: no server-side state, and useless for any other page."""
    issued = int(now.timestamp())
    nonce = secrets.token_urlsafe(12)
    return f"{issued}.{nonce}.{_sign(secret, subject, issued, nonce)}"


def check_csrf(secret: bytes, subject: str, token: str | None, now: datetime) -> None:
    try:
        issued_text, nonce, signature = (token or "").split(".")
        issued = int(issued_text)
    except ValueError as error:
        raise CsrfRefused("no valid form token") from error
    if not hmac.compare_digest(signature, _sign(secret, subject, issued, nonce)):
        raise CsrfRefused("form token does not match")
    age = now.timestamp() - issued
    if age < -60 or age > CSRF_LIFETIME.total_seconds():
        raise CsrfRefused("form token expired")


NOT_FOUND_BODY = "Not Found\n"  # the same bytes whatever was not found: nothing tells a revoked link from a guess
TOO_MANY_BODY = "Too Many Requests\n"

"""Presigned S3 links in the sandbox, treated as S3 treats them, on the simulated clock.

moto's S3 server checks neither the expiry nor the signature of a presigned URL, and botocore signs with the wall
clock, so without this a link would work forever in the sandbox and a test of expiry would prove nothing. While
a sandbox runs:
- links presigned in this process (the functions, the CLI, tests) carry the simulated time as X-Amz-Date: the
  's3v4-query' signer is swapped for a subclass that stamps the simulated time where botocore's add_auth has just
  stamped the wall clock, before the query string, scope and signature are built from that stamp. Requests
  signed in headers (every API call) are untouched.
- the server answers an S3 request presigned with SigV4 whose X-Amz-Date + X-Amz-Expires lies before the
  simulated now with 403 AccessDenied "Request has expired", and one asking for more than 7 days with 400
  AuthorizationQueryParametersError, as S3 does. Signatures are still not checked. A URL presigned by another
  process (the AWS CLI against `propfee sandbox up`) is judged against the simulated clock too. SigV2 links
  (botocore's default for S3 presigns in regions that still take them) pass unchecked: propfee signs SigV4.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any
from urllib.parse import parse_qs

import botocore.auth

PRESIGN_SIGNER = "s3v4-query"  # what botocore signs S3 presigned URLs with (signature version + "-query")
MAX_EXPIRES_SECONDS = 604_800  # SigV4 query auth: at most 7 days
_ISO_BASIC = "%Y%m%dT%H%M%SZ"  # botocore.auth.SIGV4_TIMESTAMP

Now = Callable[[], datetime]


def sign_presigned_urls_at(now: Now) -> Callable[[], None]:
    """Make S3 presigned URLs of this process carry `now()` as their signing time; returns the undo."""

    class SimulatedTimeS3QueryAuth(botocore.auth.S3SigV4QueryAuth):
        def _modify_request_before_signing(self, request: Any) -> None:
            request.context["timestamp"] = now().astimezone(UTC).strftime(_ISO_BASIC)
            super()._modify_request_before_signing(request)  # type: ignore[misc]  # not in botocore's stubs

    previous = botocore.auth.AUTH_TYPE_MAPS[PRESIGN_SIGNER]
    botocore.auth.AUTH_TYPE_MAPS[PRESIGN_SIGNER] = SimulatedTimeS3QueryAuth

    def undo() -> None:
        botocore.auth.AUTH_TYPE_MAPS[PRESIGN_SIGNER] = previous

    return undo


def _error(status: str, code: str, message: str, **details: str) -> tuple[str, bytes]:
    fields = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in details.items())
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{escape(message)}</Message>'
    return status, f"{body}{fields}<RequestId>sandbox</RequestId></Error>".encode()


def presigned_refusal(query: Mapping[str, list[str]], now: datetime) -> tuple[str, bytes] | None:
    """S3's answer to a SigV4 presigned request it refuses for its time (status line, XML body); None: not a
    presigned S3 request, or one still valid."""
    credential = query.get("X-Amz-Credential", [""])[0].split("/")
    if "X-Amz-Expires" not in query or len(credential) < 5 or credential[-2] != "s3":
        return None
    try:
        signed_at = datetime.strptime(query.get("X-Amz-Date", [""])[0], _ISO_BASIC).replace(tzinfo=UTC)
        expires = int(query["X-Amz-Expires"][0])
    except ValueError:
        return _error("400 Bad Request", "AuthorizationQueryParametersError", "X-Amz-Date or X-Amz-Expires is invalid")
    if not 0 <= expires <= MAX_EXPIRES_SECONDS:
        message = f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_EXPIRES_SECONDS}"
        return _error("400 Bad Request", "AuthorizationQueryParametersError", message)
    expires_at = signed_at + timedelta(seconds=expires)
    if now.astimezone(UTC) <= expires_at:
        return None
    return _error(
        "403 Forbidden",
        "AccessDenied",
        "Request has expired",
        **{
            "X-Amz-Expires": str(expires),
            "Expires": f"{expires_at:%Y-%m-%dT%H:%M:%SZ}",
            "ServerTime": f"{now.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}",
        },
    )


class ExpiringPresignedUrls:
    """WSGI middleware before moto's server app: refuses presigned S3 requests past their expiry."""

    def __init__(self, app: Callable[..., Iterable[bytes]], now: Now) -> None:
        self.app = app
        self._now = now

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        refusal = presigned_refusal(parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True), self._now())
        if refusal is None:
            return self.app(environ, start_response)
        status, body = refusal
        start_response(status, [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
        return [body]

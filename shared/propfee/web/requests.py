"""An HTTP API request (payload format 2.0) as the pages need it: method, path, headers, query, form, source."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

MAX_FORM_BYTES = 16_384  # the largest form is 2,000 characters of text: anything far larger is not ours
TOO_LARGE_BODY = "Content Too Large\n"


class FormTooLarge(ValueError):
    """A form body past MAX_FORM_BYTES: refused whole (413) rather than read in part, so that no truncated
    text is ever acted on."""


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    source_ip: str
    domain: str
    headers: Mapping[str, str] = field(default_factory=dict)  # lowercase names, as API Gateway gives them
    query: Mapping[str, str] = field(default_factory=dict)
    form: Mapping[str, str] = field(default_factory=dict)


def from_http_api(event: Mapping[str, Any]) -> HttpRequest:
    """The parts of a payload-2.0 event the pages read; a form body (urlencoded, maybe base64) parsed."""
    http = event.get("requestContext", {}).get("http", {})
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    method = str(http.get("method", "GET")).upper()
    form: dict[str, str] = {}
    raw = event.get("body") or ""
    if method == "POST" and raw and headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        data = base64.b64decode(raw) if event.get("isBase64Encoded") else str(raw).encode()
        if len(data) > MAX_FORM_BYTES:
            raise FormTooLarge(f"a form of {len(data)} bytes, more than {MAX_FORM_BYTES}")
        form = dict(parse_qsl(data.decode("utf-8", "replace"), keep_blank_values=True))
    return HttpRequest(
        method=method,
        path=str(event.get("rawPath", http.get("path", "/"))),
        source_ip=str(http.get("sourceIp", "")).split("/")[0],
        domain=str(event.get("requestContext", {}).get("domainName", "")),
        headers=headers,
        query={str(k): str(v) for k, v in (event.get("queryStringParameters") or {}).items()},
        form=form,
    )

"""The stack's HTTP API on localhost: each request becomes an API Gateway payload-format-2.0 event for the function
the template routes it to, called in-process (moto's CloudFormation skips AWS::ApiGatewayV2 resources).

The routes are read from the OpenAPI body SAM writes for each AWS::Serverless::HttpApi, so a function that adds
an `HttpApi` event with `ApiId: !Ref PropfeeHttpApi` (the console, a payment notification) is served here too,
with no change to this module."""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from propfee.domain import clock
from propfee.local.sandbox.jwt_authorizer import JwtAuthorizer

if TYPE_CHECKING:
    from propfee.local.sandbox.sandbox import Sandbox

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload quota: 10 MB
_INTEGRATION_TARGET = re.compile(r"\$\{(\w+)\.Arn\}")


@dataclass(frozen=True)
class HttpRoute:
    """One route of an HTTP API: `GET /b/{token}` -> a function (by logical id)."""

    api_logical_id: str
    method: str
    path: str
    function_logical_id: str
    authorizer: str | None = None  # the JWT authorizer that checks the route's requests first (None: public)

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method and self.method != "ANY":
            return None
        pattern = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", re.escape(self.path))  # {proxy+}
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", pattern)
        found = re.fullmatch(pattern, path)
        return found.groupdict() if found else None


def routes_of(cfn_template: dict[str, Any]) -> list[HttpRoute]:
    """Every route of every HTTP API in the translated template, with the function its integration invokes."""
    routes = []
    for api_id, resource in cfn_template["Resources"].items():
        if resource["Type"] != "AWS::ApiGatewayV2::Api":
            continue
        body = resource.get("Properties", {}).get("Body", {})
        schemes = body.get("components", {}).get("securitySchemes", {})
        jwt_authorizers = {
            name
            for name, scheme in schemes.items()
            if scheme.get("x-amazon-apigateway-authorizer", {}).get("type") == "jwt"
        }
        for path, operations in body.get("paths", {}).items():
            for method, operation in operations.items():
                uri = operation.get("x-amazon-apigateway-integration", {}).get("uri", {})
                spec = uri.get("Fn::Sub", "") if isinstance(uri, dict) else str(uri)
                target = _INTEGRATION_TARGET.search(spec if isinstance(spec, str) else str(spec[0]))
                if target is not None:
                    name = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
                    # SAM writes the route's authorizer as its security requirement ("NONE": public)
                    required = [n for entry in operation.get("security") or [] for n in entry if n in jwt_authorizers]
                    routes.append(HttpRoute(api_id, name, path, target.group(1), required[0] if required else None))
    # literal paths before parameterised ones, as API Gateway prefers the most specific route
    return sorted(routes, key=lambda r: (r.path.count("{"), -len(r.path)))


def http_api_event(
    route: HttpRoute,
    parameters: dict[str, str],
    method: str,
    target: str,
    headers: dict[str, str],
    body: bytes,
    source_ip: str,
    api_id: str,
    domain: str,
) -> dict[str, Any]:
    """The event API Gateway sends a Lambda proxy integration, payload format 2.0 (events/aws/
    apiGatewayProxyV2Event.json is AWS's sample of it)."""
    parts = urlsplit(target)
    now = clock.now().astimezone(UTC)
    lower = {k.lower(): v for k, v in headers.items()}
    query: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value  # API Gateway joins repeats with commas
    text_body = lower.get("content-type", "").startswith(
        ("text/", "application/x-www-form-urlencoded", "application/json")
    )
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": {k: v for k, v in lower.items() if k != "cookie"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": api_id,
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {
                "method": method,
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lower.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex[:16],
            "routeKey": route.route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": bool(body) and not text_body,
    }
    if "cookie" in lower:
        event["cookies"] = [c.strip() for c in lower["cookie"].split(";") if c.strip()]
    if query:
        event["queryStringParameters"] = query
    if parameters:
        event["pathParameters"] = parameters
    if body:
        event["body"] = body.decode("utf-8") if text_body else base64.b64encode(body).decode()
    return event


class HttpApiServer:
    """A loopback server for the stack's HTTP API routes. Bound when the sandbox starts (its URL is the stack's
    BillPageBaseUrl), serving once the stack is deployed. `routes` may be extended (add_route) by a test or an
    emulator; requests are handled one at a time, as the in-process functions share one environment."""

    def __init__(self, sandbox: Sandbox, port: int = 0) -> None:
        self._sandbox = sandbox
        self.routes: list[HttpRoute] = []
        self.lock = threading.Lock()
        self.api_ids: dict[str, str] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._thread: threading.Thread | None = None
        self._authorizer: JwtAuthorizer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def serve(self, routes: list[HttpRoute], api_ids: dict[str, str]) -> None:
        self.routes, self.api_ids = routes, api_ids
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox-http-api", daemon=True)
        self._thread.start()

    def _jwt_authorizer(self) -> JwtAuthorizer:
        """The staff pool's authorizer (the template's StaffJwt: issuer the pool, audience its client)."""
        if self._authorizer is None:
            self._authorizer = JwtAuthorizer.for_sandbox(self._sandbox)
        return self._authorizer

    def add_route(self, route: HttpRoute) -> None:
        self.routes = sorted([*self.routes, route], key=lambda r: (r.path.count("{"), -len(r.path)))

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def answer(
        self, method: str, target: str, headers: dict[str, str], body: bytes, source_ip: str
    ) -> tuple[int, dict[str, str], list[str], bytes]:
        """Route and invoke: (status, headers, cookies, body) as API Gateway would answer."""
        path = urlsplit(target).path
        for route in self.routes:
            parameters = route.match(method, path)
            if parameters is None:
                continue
            api_id = self.api_ids.get(route.api_logical_id, route.api_logical_id)
            domain = urlsplit(self.url).netloc
            event = http_api_event(route, parameters, method, target, headers, body, source_ip, api_id, domain)
            if route.authorizer is not None:
                # API Gateway's JWT authorizer runs before the integration: a refused token never reaches it
                event = self._jwt_authorizer().authorize(event)
                if "statusCode" in event:
                    return lambda_answer(event)
            with self.lock:
                try:
                    result = self._sandbox.invoke(route.function_logical_id, event)
                except Exception:  # Lambda's unhandled error: API Gateway answers 500
                    return 500, {"content-type": "application/json"}, [], b'{"message":"Internal Server Error"}'
            return lambda_answer(result)
        return 404, {"content-type": "application/json"}, [], b'{"message":"Not Found"}'

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length > MAX_BODY_BYTES:
                    self._write(
                        413, {"content-type": "application/json"}, [], b'{"message":"Request Entity Too Large"}'
                    )
                    return
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items()}
                self._write(*server.answer(self.command, self.path, headers, body, self.client_address[0]))

            def _write(self, status: int, headers: dict[str, str], cookies: list[str], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in ("content-length", "connection"):
                        self.send_header(name, value)
                for cookie in cookies:
                    self.send_header("set-cookie", cookie)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle

            def log_message(self, format: str, *args: Any) -> None:
                return  # the paths hold bill link tokens: not printed

        return Handler


def lambda_answer(result: Any) -> tuple[int, dict[str, str], list[str], bytes]:
    """A function's answer as API Gateway turns it into HTTP (payload format 2.0: a dict with statusCode, or
    anything else as a 200 JSON body)."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return 200, {"content-type": "application/json"}, [], json.dumps(result).encode()
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
    headers = {str(k).lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[str(name).lower()] = ",".join(str(v) for v in values)
    return int(result["statusCode"]), headers, list(result.get("cookies") or []), data

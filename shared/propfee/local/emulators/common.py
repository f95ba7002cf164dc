"""What both emulators share: RSA keys made at start, a threaded HTTP server on localhost, notification deliveries
retried on a simulated clock."""

from __future__ import annotations

import html
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# (status, headers, body) of an HTTP answer
Answer = tuple[int, dict[str, str], bytes]
# delivers a notification: (url, headers, body) -> (status, body); the default POSTs it over HTTP
Transport = Callable[[str, Mapping[str, str], bytes], tuple[int, bytes]]


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> str:
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def http_post(url: str, headers: Mapping[str, str], body: bytes) -> tuple[int, bytes]:
    request = Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310 - localhost notify URLs
    try:
        with urlopen(request, timeout=10) as response:  # noqa: S310  # nosec B310 - the merchant's notify URL
            return int(response.status), bytes(response.read())
    except HTTPError as error:
        return int(error.code), bytes(error.read())
    except URLError:
        return 0, b""


@dataclass
class Delivery:
    """One notification and its retries: the provider re-sends until it gets its success answer."""

    url: str
    make: Callable[[], tuple[dict[str, str], bytes]]  # signs afresh for each attempt (WeChat) or not (Alipay)
    due_at: datetime
    attempts: int = 0
    done: bool = False
    answers: list[tuple[int, bytes]] = field(default_factory=list)
    sent: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


class NotificationQueue:
    """Deliveries due on the simulated clock; `deliver_due` sends those due now (tests advance the clock)."""

    def __init__(
        self,
        clock: Callable[[], datetime],
        schedule: Sequence[timedelta],
        accepted: Callable[[int, bytes], bool],
        transport: Transport = http_post,
    ) -> None:
        self._clock, self._schedule, self._accepted = clock, schedule, accepted
        self.transport = transport
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()

    def push(
        self, url: str, make: Callable[[], tuple[dict[str, str], bytes]], delay: timedelta = timedelta()
    ) -> Delivery:
        delivery = Delivery(url=url, make=make, due_at=self._clock() + delay)
        with self._lock:
            self.deliveries.append(delivery)
        return delivery

    def deliver_due(self) -> int:
        """Send every delivery due by now (latest-due last); returns how many were sent."""
        now = self._clock()
        with self._lock:
            due = sorted((d for d in self.deliveries if not d.done and d.due_at <= now), key=lambda d: d.due_at)
        for delivery in due:
            headers, body = delivery.make()
            delivery.sent.append((headers, body))
            status, answer = self.transport(delivery.url, headers, body)
            delivery.answers.append((status, answer))
            delivery.attempts += 1
            if self._accepted(status, answer):
                delivery.done = True
            elif delivery.attempts > len(self._schedule):
                delivery.done = True  # the provider gives up; the merchant must query
            else:
                delivery.due_at = now + self._schedule[delivery.attempts - 1]
        return len(due)

    def pending(self) -> list[Delivery]:
        return [d for d in self.deliveries if not d.done]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, headers, answer = self.server.app(self.command, self.path, dict(self.headers.items()), body)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        if answer:
            self.wfile.write(answer)

    do_GET = do_POST = _serve

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read answers, not logs
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    app: Callable[[str, str, dict[str, str], bytes], Answer]


class LocalServer:
    """An HTTP server on 127.0.0.1 at a free port, in a thread; `app(method, path, headers, body)` answers."""

    def __init__(self, app: Callable[[str, str, dict[str, str], bytes], Answer]) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.app = app
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


_HTML = {"Content-Type": "text/html; charset=utf-8"}


def cashier_page(provider: str, subject: str, yuan: str, pay_path: str) -> Answer:
    """The provider's cashier page, reduced to what a test or a demo owner needs: what is paid, and a pay button."""
    page = (
        '<!doctype html><html lang="zh-CN"><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(provider)}</title><main><h1>{html.escape(provider)}</h1>"
        f'<p class="subject">{html.escape(subject)}</p><p class="amount">¥{html.escape(yuan)}</p>'
        f'<form method="post" action="{html.escape(pay_path)}"><button type="submit">确认支付 Pay</button></form>'
        "</main></html>"
    )
    return 200, dict(_HTML), page.encode()


def paid_page(return_url: str | None) -> Answer:
    """After paying: back to the merchant's page when it named one (Alipay's return_url), else a plain notice."""
    if return_url:
        return 302, {"Location": return_url}, b""
    return 200, dict(_HTML), '<!doctype html><meta charset="utf-8"><p class="paid">支付成功 Paid</p>'.encode()


def not_found() -> Answer:
    return 404, dict(_HTML), b"<p>not found</p>"

"""A JSON HTTP server on localhost in a thread, the base of the providers' emulators."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from propfee.local.emulators.common import NotificationQueue


class Answer:
    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body


class LocalServer:
    """Subclasses implement `handle(method, path, headers, body) -> Answer`; `start()` returns "127.0.0.1:port"."""

    content_type = "application/json;charset=utf-8"

    def __init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        raise NotImplementedError

    def start(self) -> str:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                with emulator._lock:
                    answer = emulator.handle("POST", self.path, headers, body)
                data = json.dumps(answer.body, ensure_ascii=False).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", emulator.content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except BrokenPipeError:  # the client gave up waiting (a test of timeouts)
                    return

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                return  # the requests hold phone numbers: nothing is logged

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return f"127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def push_json(url: str, body: Any, timeout: float = 5.0) -> tuple[int, Any]:
    """POST a callback to a local URL as the provider does; its status and parsed answer."""
    if not url.startswith(("http://127.0.0.1", "http://localhost")):
        raise ValueError("the emulators push to local URLs only")
    request = urllib.request.Request(  # noqa: S310  # nosec B310 - local URLs only, checked above
        url, json.dumps(body, ensure_ascii=False).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310  # nosec B310
        return answer.status, json.loads(answer.read() or b"null")


class CallbackPushes:
    """A provider's pushes to the callback URLs registered with it: due on the simulated clock, re-sent on the
    provider's schedule until answered as it expects (`deliver_due`; the sandbox calls it as time passes)."""

    def __init__(
        self,
        base_url: str,
        clock: Callable[[], datetime],
        retries: Sequence[timedelta],
        accepted: Callable[[int, bytes], bool],
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.queue = NotificationQueue(clock, retries, accepted)

    def push(self, route: str, body: Any) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.queue.push(f"{self.base_url}/{route}", lambda: ({"Content-Type": "application/json"}, data))

    def deliver_due(self) -> int:
        return self.queue.deliver_due()
